#!/usr/bin/env python3
"""Extracts the 16 kHz weights of Silero VAD from the ONNX file in the pip package into safetensors.

Writes Models/silero-vad/silero_vad_16k.safetensors (float32, written by hand with numpy, no
safetensors package needed). Not needed to build or test the Swift package; kept so the model
file can be regenerated and audited:

    python3 -m venv /tmp/vad-venv
    /tmp/vad-venv/bin/pip install silero-vad==6.2.3 onnxruntime onnx numpy
    /tmp/vad-venv/bin/python Tools/convert_silero_vad.py [--onnx PATH] [--out PATH]

Source: `silero_vad/data/silero_vad.onnx` of the PyPI package silero-vad 6.2.3 (MIT). Its graph
is one `If` on the sample rate; the weights live as Constant nodes inside the branch taken for
sr == 16000 ("then_branch"). The 8 kHz branch has its own, different weights and is ignored.

Tensor names and layouts in the output (the network itself is described in
Models/silero-vad/README.md and implemented in Tools/silero_vad_reference.py):

    stft.basis        [258, 1, 256]  Conv1d kernel, no bias; rows 0..128 real, 129..257 imaginary
    encoder.N.weight  Conv1d kernels [out, in, 3] for N = 0..3, with encoder.N.bias [out]
    lstm.weight_ih    [512, 128]  gate blocks of 128 rows in PyTorch order i, f, g, o
    lstm.weight_hh    [512, 128]  same order
    lstm.bias_ih      [512]
    lstm.bias_hh      [512]
    decoder.weight    [1, 128, 1]  1x1 Conv1d
    decoder.bias      [1]

The LSTM tensors are stored exactly as the ONNX constants hold them (PyTorch order); the graph
reorders the gate blocks to ONNX order (i, o, f, c) with Slice/Concat just before its LSTM node.
"""
import argparse
import hashlib
import importlib.metadata
import json
import pathlib
import struct

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "silero-vad"
PINNED_VERSION = "6.2.3"

# ONNX constant name (after the branch's inlining prefix) -> (our name, expected shape)
NAMES = {
    "stft.forward_basis_buffer": ("stft.basis", (258, 1, 256)),
    "encoder.0.reparam_conv.weight": ("encoder.0.weight", (128, 129, 3)),
    "encoder.0.reparam_conv.bias": ("encoder.0.bias", (128,)),
    "encoder.1.reparam_conv.weight": ("encoder.1.weight", (64, 128, 3)),
    "encoder.1.reparam_conv.bias": ("encoder.1.bias", (64,)),
    "encoder.2.reparam_conv.weight": ("encoder.2.weight", (64, 64, 3)),
    "encoder.2.reparam_conv.bias": ("encoder.2.bias", (64,)),
    "encoder.3.reparam_conv.weight": ("encoder.3.weight", (128, 64, 3)),
    "encoder.3.reparam_conv.bias": ("encoder.3.bias", (128,)),
    "decoder.rnn.weight_ih": ("lstm.weight_ih", (512, 128)),
    "decoder.rnn.weight_hh": ("lstm.weight_hh", (512, 128)),
    "decoder.rnn.bias_ih": ("lstm.bias_ih", (512,)),
    "decoder.rnn.bias_hh": ("lstm.bias_hh", (512,)),
    "decoder.decoder.2.weight": ("decoder.weight", (1, 128, 1)),
    "decoder.decoder.2.bias": ("decoder.bias", (1,)),
}
BRANCH_PREFIX = "If_0_then_branch__Inline_0__"


def default_onnx_path() -> pathlib.Path:
    import silero_vad  # only to locate the installed package

    return pathlib.Path(silero_vad.__file__).resolve().parent / "data" / "silero_vad.onnx"


def sixteen_k_branch(model: onnx.ModelProto) -> onnx.GraphProto:
    """The subgraph the top-level If runs when sr == 16000."""
    nodes = list(model.graph.node)
    const, equal, branch = nodes[0], nodes[1], nodes[2]
    assert const.op_type == "Constant" and numpy_helper.to_array(const.attribute[0].t).item() == 16000
    assert equal.op_type == "Equal" and list(equal.input) == ["sr", const.output[0]]
    assert branch.op_type == "If" and branch.input[0] == equal.output[0]
    return next(a.g for a in branch.attribute if a.name == "then_branch")


def extract(onnx_path: pathlib.Path) -> dict:
    graph = sixteen_k_branch(onnx.load(str(onnx_path)))
    found = {}
    for node in graph.node:
        if node.op_type != "Constant":
            continue
        name = node.output[0]
        if not name.startswith(BRANCH_PREFIX):
            continue
        key = name[len(BRANCH_PREFIX):]
        if key in NAMES:
            ours, shape = NAMES[key]
            array = numpy_helper.to_array(node.attribute[0].t)
            assert array.dtype == np.float32 and array.shape == shape, (key, array.dtype, array.shape)
            found[ours] = np.ascontiguousarray(array)
    missing = sorted(n for n, _ in NAMES.values() if n not in found)
    assert not missing, f"not found in the 16 kHz branch: {missing}"
    # Every float tensor of more than one element in the branch must be one we took.
    for node in graph.node:
        if node.op_type == "Constant":
            t = node.attribute[0].t
            if t.data_type == onnx.TensorProto.FLOAT and int(np.prod(t.dims)) > 1:
                assert node.output[0][len(BRANCH_PREFIX):] in NAMES, node.output[0]
    return found


def write_safetensors(path: pathlib.Path, tensors: dict, metadata: dict) -> None:
    """safetensors layout: u64 LE header size, JSON header, then the raw little-endian data."""
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        data = tensors[name].astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad the header so the data starts 8-byte aligned
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=pathlib.Path, default=None, help="default: the installed package's file")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "Models" / "silero-vad" / "silero_vad_16k.safetensors")
    args = parser.parse_args()

    version = importlib.metadata.version(PACKAGE)
    if version != PINNED_VERSION:
        raise SystemExit(f"expected {PACKAGE}=={PINNED_VERSION}, found {version}")
    onnx_path = args.onnx or default_onnx_path()
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()

    tensors = extract(onnx_path)
    metadata = {
        "format": "pt",
        "source": f"PyPI {PACKAGE}=={version}, silero_vad/data/{onnx_path.name}, 16 kHz branch",
        "source_package": PACKAGE,
        "source_version": version,
        "source_file": f"silero_vad/data/{onnx_path.name}",
        "source_sha256": digest,
        "license": "MIT (Silero Team), see LICENSE",
        "sample_rate": "16000",
        "chunk_samples": "512",
        "context_samples": "64",
        "lstm_gate_order": "i,f,g,o",
        "converter": "Tools/convert_silero_vad.py",
    }
    write_safetensors(args.out, tensors, metadata)
    count = sum(t.size for t in tensors.values())
    print(f"{args.out}: {len(tensors)} tensors, {count} parameters, {args.out.stat().st_size} bytes")
    print(f"source {onnx_path} sha256 {digest}")


if __name__ == "__main__":
    main()
