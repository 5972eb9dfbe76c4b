#!/usr/bin/env python3
"""Silero VAD (16 kHz) in plain numpy, from Models/silero-vad/silero_vad_16k.safetensors.

A readable restatement of what the 16 kHz branch of silero_vad.onnx (silero-vad 6.2.3) computes,
used to check the written description in Models/silero-vad/README.md and as the model for the
Swift port. Needs only numpy:

    python3 Tools/silero_vad_reference.py AUDIO.wav          # per-chunk speech probabilities
    python3 Tools/silero_vad_reference.py --check-goldens    # compare with vad_goldens.json

AUDIO.wav must be 16 kHz mono 16-bit PCM. Samples are scaled to [-1, 1) by dividing by 32768, the
audio is cut into 512-sample chunks (the last one zero-padded), and each chunk is run with the
state of the previous one, as silero_vad's OnnxWrapper does.
"""
import json
import pathlib
import struct
import sys
import wave

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "Models" / "silero-vad" / "silero_vad_16k.safetensors"
GOLDENS = ROOT / "Tests" / "VADTests" / "Fixtures" / "vad_goldens.json"

CHUNK = 512  # new samples per call at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous chunk prepended to each call
RIGHT_PAD = 64  # reflect padding appended before the STFT
HIDDEN = 128


def load_safetensors(path=WEIGHTS) -> dict:
    raw = pathlib.Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(raw[base + start : base + end], dtype="<f4").reshape(info["shape"])
    return tensors


def conv1d(x: np.ndarray, w: np.ndarray, b, stride: int, pad: int) -> np.ndarray:
    """x [C_in, T], w [C_out, C_in, K] -> [C_out, T_out]; zero padding `pad` on both sides."""
    c_in, _ = x.shape
    k = w.shape[2]
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad)))
    t_out = (x.shape[1] - k) // stride + 1
    # cols[c, j, t] = x[c, t * stride + j]
    cols = np.stack([x[:, j : j + stride * (t_out - 1) + 1 : stride] for j in range(k)], axis=1)
    y = np.einsum("oik,ikt->ot", w, cols, dtype=np.float32)
    if b is not None:
        y = y + b[:, None]
    return y.astype(np.float32)


def sigmoid(x):
    with np.errstate(over="ignore"):  # exp overflow to inf gives the correct limit 0
        return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


class SileroVAD16k:
    """One stream: carries the LSTM state (h, c) and the last 64 input samples across calls."""

    def __init__(self, weights=None):
        self.w = weights if weights is not None else load_safetensors()
        self.reset()

    def reset(self):
        self.h = np.zeros(HIDDEN, np.float32)
        self.c = np.zeros(HIDDEN, np.float32)
        self.context = np.zeros(CONTEXT, np.float32)

    def __call__(self, chunk: np.ndarray) -> float:
        chunk = np.asarray(chunk, np.float32)
        assert chunk.shape == (CHUNK,)
        x = np.concatenate([self.context, chunk])  # 576 samples
        self.context = x[-CONTEXT:].copy()
        prob, self.h, self.c = forward(self.w, x, self.h, self.c)
        return prob


def forward(w: dict, x: np.ndarray, h: np.ndarray, c: np.ndarray):
    """One call of the 16 kHz network: x [576] -> (probability, new h [128], new c [128])."""
    # 1. Reflect-pad 64 samples on the right only (mirror without repeating the last sample).
    x = np.pad(x, (0, RIGHT_PAD), mode="reflect")  # 640
    # 2. STFT as a strided conv: 258 filters of 256 taps, hop 128 -> 4 frames.
    spec = conv1d(x[None, :], w["stft.basis"], None, stride=128, pad=0)  # [258, 4]
    re, im = spec[:129], spec[129:]
    mag = np.sqrt(re * re + im * im)  # [129, 4]
    # 3. Encoder: four k=3, pad=1 convs with ReLU; strides 1, 2, 2, 1 -> frames 4, 2, 1, 1.
    y = mag
    for i, stride in enumerate((1, 2, 2, 1)):
        y = np.maximum(conv1d(y, w[f"encoder.{i}.weight"], w[f"encoder.{i}.bias"], stride, 1), 0)
    feat = y[:, 0]  # [128], the single remaining frame
    # 4. One LSTM cell step (PyTorch gate order i, f, g, o).
    gates = w["lstm.weight_ih"] @ feat + w["lstm.bias_ih"] + w["lstm.weight_hh"] @ h + w["lstm.bias_hh"]
    i_g, f_g, g_g, o_g = np.split(gates.astype(np.float32), 4)
    c_new = sigmoid(f_g) * c + sigmoid(i_g) * np.tanh(g_g)
    h_new = sigmoid(o_g) * np.tanh(c_new)
    # 5. Decoder: ReLU, 1x1 conv 128 -> 1, sigmoid (the mean over the one time step is a no-op).
    logit = w["decoder.weight"][0, :, 0] @ np.maximum(h_new, 0) + w["decoder.bias"][0]
    return float(sigmoid(logit)), h_new.astype(np.float32), c_new.astype(np.float32)


def read_wav_16k(path) -> np.ndarray:
    with wave.open(str(path), "rb") as f:
        assert f.getframerate() == 16000 and f.getnchannels() == 1 and f.getsampwidth() == 2, path
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def chunks(audio: np.ndarray):
    pad = -len(audio) % CHUNK
    audio = np.pad(audio, (0, pad))
    return audio.reshape(-1, CHUNK)


def probabilities(audio: np.ndarray, weights=None) -> list:
    vad = SileroVAD16k(weights)
    return [vad(c) for c in chunks(audio)]


def check_goldens() -> int:
    goldens = json.loads(GOLDENS.read_text())
    weights = load_safetensors()
    worst = 0.0
    for name, entry in goldens["files"].items():
        got = probabilities(read_wav_16k(GOLDENS.parent / name), weights)
        want = entry["probabilities"]
        assert len(got) == len(want), (name, len(got), len(want))
        diff = max(abs(a - b) for a, b in zip(got, want))
        worst = max(worst, diff)
        print(f"{name}: {len(got)} chunks, max |numpy - onnxruntime| = {diff:.3g}")
    return 0 if worst < 1e-4 else 1


def main(argv) -> int:
    if argv[1:] == ["--check-goldens"]:
        return check_goldens()
    if len(argv) != 2:
        print(__doc__)
        return 2
    for n, p in enumerate(probabilities(read_wav_16k(argv[1]))):
        print(f"{n * CHUNK / 16000:7.3f}s  {p:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
