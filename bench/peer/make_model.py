#!/usr/bin/env python3
"""Write random-weight Qwen2 GGUF models with MiMo-Audio-7B's backbone shape.

Shape: hidden 4096, 36 layers, 32 query / 8 KV heads of 128, FFN 11008,
vocab 151680, untied lm_head (output.weight), rope theta 640000, RMS eps 1e-6,
q/k/v biases (as in Qwen2). Weights ~ N(0, 0.02), norms 1, biases ~ N(0, 0.02).

Step 1 writes an F16 GGUF tensor by tensor (peak RAM ~ 3 GB, the largest
tensor being the 151680 x 4096 embedding); step 2 quantizes it with
llama.cpp's own quantizer (llama_model_quantize, i.e. what llama-quantize
does) to each requested type. The vocabulary is llama.cpp's "none" tokenizer
with qwen2.vocab_size = 151680 dummy tokens: the benchmark feeds token ids,
so no text tokenizer is needed.

Types:
  q4_0     Q4_0 everywhere, output.weight (lm_head) Q4_0 too, to match
           mimo-audio's q4 (which quantizes lm_head at its format); the
           embedding table is Q4_0 (only one row is read per token).
  q4_0std  Q4_0 as plain llama-quantize writes it (output.weight Q6_K).
  q8_0     Q8_0 (llama-quantize's default for Q8_0 keeps output.weight Q8_0).
  q4_k_m   Q4_K_M as llama-quantize writes it (mix of Q4_K / Q6_K,
           output.weight Q6_K).

Usage:
  bench/peer/.venv/bin/python bench/peer/make_model.py [--types q4_0,q8_0,q4_k_m]
      [--out bench/peer/models] [--keep-f16] [--force] [--seed 0]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SHAPE = dict(
    hidden=4096, layers=36, heads=32, kv_heads=8, head_dim=128,
    intermediate=11008, vocab=151680, rope_theta=640000.0, rms_eps=1e-6,
    context=8192,
)

# ggml / llama enums (stable across llama.cpp versions)
GGML_TYPE_Q4_0 = 2
GGML_TYPE_Q8_0 = 8
LLAMA_FTYPE_MOSTLY_F16 = 1
LLAMA_FTYPE_MOSTLY_Q4_0 = 2
LLAMA_FTYPE_MOSTLY_Q8_0 = 7
LLAMA_FTYPE_MOSTLY_Q4_K_M = 15

# name -> (file name, llama ftype, output tensor type override or None)
TYPES = {
    "q4_0": ("qwen2-mimo-shape-Q4_0.gguf", LLAMA_FTYPE_MOSTLY_Q4_0, GGML_TYPE_Q4_0),
    "q4_0std": ("qwen2-mimo-shape-Q4_0-outQ6_K.gguf", LLAMA_FTYPE_MOSTLY_Q4_0, None),
    "q8_0": ("qwen2-mimo-shape-Q8_0.gguf", LLAMA_FTYPE_MOSTLY_Q8_0, None),
    "q4_k_m": ("qwen2-mimo-shape-Q4_K_M.gguf", LLAMA_FTYPE_MOSTLY_Q4_K_M, None),
}
F16_NAME = "qwen2-mimo-shape-F16.gguf"


def die(msg: str, code: int = 1) -> None:
    print(f"make_model.py: {msg}", file=sys.stderr)
    sys.exit(code)


def log(msg: str) -> None:
    print(f"make_model.py: {msg}", file=sys.stderr, flush=True)


def model_path(out: Path, t: str) -> Path:
    return out / TYPES[t][0]


def tensor_plan():
    """(name, numpy shape (rows, cols) or (n,), kind) in file order."""
    s = SHAPE
    h, f, v = s["hidden"], s["intermediate"], s["vocab"]
    q, kv = s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"]
    plan = [("token_embd.weight", (v, h), "w")]
    for i in range(s["layers"]):
        p = f"blk.{i}."
        plan += [
            (p + "attn_norm.weight", (h,), "norm"),
            (p + "attn_q.weight", (q, h), "w"),
            (p + "attn_q.bias", (q,), "bias"),
            (p + "attn_k.weight", (kv, h), "w"),
            (p + "attn_k.bias", (kv,), "bias"),
            (p + "attn_v.weight", (kv, h), "w"),
            (p + "attn_v.bias", (kv,), "bias"),
            (p + "attn_output.weight", (h, q), "w"),
            (p + "ffn_norm.weight", (h,), "norm"),
            (p + "ffn_gate.weight", (f, h), "w"),
            (p + "ffn_up.weight", (f, h), "w"),
            (p + "ffn_down.weight", (h, f), "w"),
        ]
    plan += [("output_norm.weight", (h,), "norm"), ("output.weight", (v, h), "w")]
    return plan


def write_f16(path: Path, seed: int) -> None:
    try:
        import numpy as np
        import gguf
    except ImportError as e:
        die(f"{e}: run bench/peer/setup.sh and use bench/peer/.venv/bin/python")

    s = SHAPE
    tmp = path.with_suffix(".gguf.partial")
    w = gguf.GGUFWriter(tmp, "qwen2")
    w.add_name("random Qwen2, MiMo-Audio-7B backbone shape")
    w.add_context_length(s["context"])
    w.add_embedding_length(s["hidden"])
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["intermediate"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_key_length(s["head_dim"])
    w.add_value_length(s["head_dim"])
    w.add_rope_freq_base(s["rope_theta"])
    w.add_layer_norm_rms_eps(s["rms_eps"])
    w.add_vocab_size(s["vocab"])
    w.add_file_type(LLAMA_FTYPE_MOSTLY_F16)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    # No text tokenizer: llama.cpp's "none" vocab with vocab_size dummy tokens.
    w.add_tokenizer_model("none")

    plan = tensor_plan()
    for name, shape, kind in plan:
        n = 1
        for d in shape:
            n *= d
        if kind == "w":
            w.add_tensor_info(name, shape, np.dtype(np.float16), n * 2)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), n * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()

    rng = np.random.default_rng(seed)
    start = time.time()
    total = 0
    for idx, (name, shape, kind) in enumerate(plan):
        if kind == "norm":
            t = np.ones(shape, dtype=np.float32)
        elif kind == "bias":
            t = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)
        else:
            # generate in row chunks to bound the f32 temporary
            t = np.empty(shape, dtype=np.float16)
            rows = shape[0]
            step = max(1, (64 << 20) // shape[1])
            for r in range(0, rows, step):
                chunk = rng.standard_normal((min(step, rows - r), shape[1]), dtype=np.float32)
                chunk *= 0.02
                t[r:r + chunk.shape[0]] = chunk
        w.write_tensor_data(t)
        total += t.nbytes
        del t
        if idx % 24 == 0 or idx == len(plan) - 1:
            log(f"F16: {idx + 1}/{len(plan)} tensors, {total / 1e9:.1f} GB, {time.time() - start:.0f} s")
    w.close()
    os.replace(tmp, path)


def quantize(f16: Path, out: Path, t: str, threads: int) -> None:
    try:
        import llama_cpp
    except ImportError as e:
        die(f"{e}: run bench/peer/setup.sh and use bench/peer/.venv/bin/python")
    _, ftype, output_type = TYPES[t]
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = threads
    params.ftype = ftype
    if output_type is not None:
        params.output_tensor_type = output_type
    tmp = out.with_suffix(".gguf.partial")
    start = time.time()
    rc = llama_cpp.llama_model_quantize(str(f16).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0:
        if tmp.exists():
            tmp.unlink()
        die(f"llama_model_quantize to {t} failed (return code {rc})")
    os.replace(tmp, out)
    log(f"{t}: {out} ({out.stat().st_size / 1e9:.2f} GB) in {time.time() - start:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--types", default="q4_0,q8_0,q4_k_m",
                    help="comma-separated, of: " + ", ".join(TYPES) + " (default: q4_0,q8_0,q4_k_m)")
    ap.add_argument("--out", default=str(HERE / "models"), help="model cache directory (default: bench/peer/models)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="quantizer threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-f16", action="store_true", help="keep the 15 GB F16 intermediate")
    ap.add_argument("--force", action="store_true", help="rewrite models that already exist")
    args = ap.parse_args()

    types = [t.strip().lower() for t in args.types.split(",") if t.strip()]
    for t in types:
        if t not in TYPES:
            die(f"unknown type {t!r}; choose from {', '.join(TYPES)}", 2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    todo = [t for t in types if args.force or not model_path(out, t).exists()]
    for t in types:
        if t not in todo:
            log(f"{t}: {model_path(out, t)} exists (use --force to rewrite)")
    if not todo:
        return

    f16 = out / F16_NAME
    if not f16.exists() or args.force:
        free = os.statvfs(out)
        free_gb = free.f_bavail * free.f_frsize / 1e9
        if free_gb < 30:
            log(f"warning: only {free_gb:.0f} GB free in {out}; the F16 intermediate needs 15.2 GB "
                "and Q8_0 / Q4_0 / Q4_K_M need 8.1 / 4.4 / 4.7 GB")
        log(f"writing {f16} (15.2 GB)")
        write_f16(f16, args.seed)
    for t in todo:
        quantize(f16, model_path(out, t), t, args.threads)
    if not args.keep_f16:
        f16.unlink()
        log(f"removed {f16} (use --keep-f16 to keep it)")


if __name__ == "__main__":
    main()
