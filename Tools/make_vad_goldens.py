#!/usr/bin/env python3
"""Makes the Silero VAD test fixtures in Tests/VADTests/Fixtures.

Not needed to build or test the Swift package; kept so the fixtures can be regenerated:

    apt-get install -y espeak-ng ffmpeg
    python3 -m venv /tmp/vad-venv
    /tmp/vad-venv/bin/pip install silero-vad==6.2.3 onnxruntime onnx numpy
    /tmp/vad-venv/bin/python Tools/convert_silero_vad.py
    /tmp/vad-venv/bin/python Tools/make_vad_goldens.py [--audio]

With --audio (or when a WAV is missing) the two recordings are synthesised first:
  speech_16k.wav   espeak-ng "Hello there." and "How are you today?" resampled to 16 kHz by
                   ffmpeg, joined as 0.3 s silence + sentence + 1.0 s silence + sentence + 0.3 s
                   silence; 16-bit mono.
  silence_16k.wav  0.5 s of digital zero, then 1.5 s of Gaussian noise (std 100/32768, seed 7).
The WAVs are committed, so the goldens do not depend on the espeak-ng or ffmpeg version.

vad_goldens.json then holds, per file, the speech probability of every 512-sample chunk as the
package's own OnnxWrapper returns it (streaming, state and 64-sample context carried, last chunk
zero-padded), plus the largest difference between Tools/silero_vad_reference.py (numpy) and
onnxruntime over these files and a set of synthetic chunks (noise, tones, silence, clipping).
"""
import importlib.metadata
import json
import pathlib
import subprocess
import sys
import tempfile
import wave

import numpy as np

TOOLS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import silero_vad_reference as ref  # noqa: E402
from convert_silero_vad import PINNED_VERSION, default_onnx_path  # noqa: E402

FIXTURES = TOOLS.parent / "Tests" / "VADTests" / "Fixtures"
RATE = 16000
SENTENCES = ["Hello there.", "How are you today?"]


def write_wav(path: pathlib.Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(samples.astype("<i2").tobytes())


def speak(text: str, workdir: pathlib.Path) -> np.ndarray:
    raw = workdir / "espeak.wav"
    resampled = workdir / "16k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(raw), "-ar", str(RATE), "-ac", "1", "-c:a", "pcm_s16le",
         str(resampled)],
        check=True,
    )
    with wave.open(str(resampled), "rb") as f:
        assert f.getframerate() == RATE and f.getnchannels() == 1 and f.getsampwidth() == 2
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int16)


def make_audio() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    gap = lambda seconds: np.zeros(int(seconds * RATE), np.int16)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        first, second = (speak(t, pathlib.Path(tmp)) for t in SENTENCES)
    write_wav(FIXTURES / "speech_16k.wav", np.concatenate([gap(0.3), first, gap(1.0), second, gap(0.3)]))
    noise = np.random.default_rng(7).normal(0.0, 100.0, int(1.5 * RATE))
    write_wav(FIXTURES / "silence_16k.wav", np.concatenate([gap(0.5), np.round(noise).astype(np.int16)]))


def onnx_wrapper_probabilities(audio: np.ndarray) -> list:
    """The reference: the package's OnnxWrapper, one 512-sample chunk per call, state carried."""
    import torch
    from silero_vad.utils_vad import OnnxWrapper

    model = OnnxWrapper(str(default_onnx_path()), force_onnx_cpu=True)
    return [float(model(torch.from_numpy(c.copy()), RATE).item()) for c in ref.chunks(audio)]


def synthetic_chunks() -> list:
    """Streams of varied chunks for the numpy-vs-onnxruntime comparison."""
    rng = np.random.default_rng(1234)
    t = np.arange(ref.CHUNK) / RATE
    streams = []
    for _ in range(4):
        stream = []
        for n in range(100):
            kind = n % 6
            if kind == 0:
                c = rng.normal(0.0, rng.uniform(1e-4, 0.5), ref.CHUNK)
            elif kind == 1:
                c = rng.uniform(0.05, 0.9) * np.sin(2 * np.pi * rng.uniform(60, 7900) * t + rng.uniform(0, 6.3))
            elif kind == 2:
                c = np.zeros(ref.CHUNK)
            elif kind == 3:
                c = np.clip(rng.normal(0.0, 2.0, ref.CHUNK), -1.0, 1.0)  # clipped, full scale
            elif kind == 4:
                c = rng.normal(0.0, 1e-3, ref.CHUNK)
            else:
                f0 = rng.uniform(90, 250)  # crude voiced buzz: harmonics of f0
                c = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20)) * 0.2
            stream.append(c.astype(np.float32))
        streams.append(np.concatenate(stream))
    return streams


def numpy_vs_onnxruntime(signals: list) -> tuple:
    """Max |p_numpy - p_onnxruntime| and the number of chunks compared, straight onnxruntime session."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(default_onnx_path()), sess_options=opts,
                                           providers=["CPUExecutionProvider"])
    weights = ref.load_safetensors()
    worst, count = 0.0, 0
    for audio in signals:
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros(ref.CONTEXT, np.float32)
        vad = ref.SileroVAD16k(weights)
        for chunk in ref.chunks(audio):
            x = np.concatenate([context, chunk])[None, :].astype(np.float32)
            out, state = session.run(None, {"input": x, "state": state, "sr": np.array(RATE, np.int64)})
            context = x[0, -ref.CONTEXT:]
            worst = max(worst, abs(vad(chunk) - float(out[0, 0])))
            count += 1
    return worst, count


def main() -> None:
    version = importlib.metadata.version("silero-vad")
    if version != PINNED_VERSION:
        raise SystemExit(f"expected silero-vad=={PINNED_VERSION}, found {version}")
    names = ["speech_16k.wav", "silence_16k.wav"]
    if "--audio" in sys.argv or not all((FIXTURES / n).exists() for n in names):
        make_audio()

    files = {}
    audios = []
    for name in names:
        audio = ref.read_wav_16k(FIXTURES / name)
        audios.append(audio)
        probs = onnx_wrapper_probabilities(audio)
        files[name] = {"samples": len(audio), "chunks": len(probs), "probabilities": probs}
        print(f"{name}: {len(audio)} samples, {len(probs)} chunks, max p {max(probs):.3f}")

    loud = audios[0] * 3.0  # also the speech at other gains (clipped) and very quiet
    quiet = audios[0] * 0.05
    worst, count = numpy_vs_onnxruntime(audios + [np.clip(loud, -1, 1), quiet] + synthetic_chunks())
    print(f"numpy reference vs onnxruntime: max abs diff {worst:.3g} over {count} chunks")

    goldens = {
        "source": "silero-vad OnnxWrapper on silero_vad/data/silero_vad.onnx, streaming, CPU, 1 thread",
        "silero_vad_version": version,
        "onnxruntime_version": importlib.metadata.version("onnxruntime"),
        "numpy_version": np.__version__,
        "sample_rate": RATE,
        "chunk_samples": ref.CHUNK,
        "context_samples": ref.CONTEXT,
        "input_scaling": "int16 / 32768",
        "last_chunk": "zero-padded to 512 samples",
        "numpy_reference_max_abs_diff": worst,
        "numpy_reference_chunks_compared": count,
        "files": files,
    }
    (FIXTURES / "vad_goldens.json").write_text(json.dumps(goldens, indent=1) + "\n")


if __name__ == "__main__":
    main()
