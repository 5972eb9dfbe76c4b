#!/usr/bin/env bash
# Peer benchmark setup: a venv with llama-cpp-python built from source for this
# CPU (native flags, llama.cpp's own kernels, no BLAS), plus gguf and numpy.
#
#   bash bench/peer/setup.sh            # venv at bench/peer/.venv
#   PEER_VENV=/some/dir bash bench/peer/setup.sh
#
# Building llama.cpp takes ~10-20 minutes on 2 cores. Re-running is a no-op
# once the pinned versions are installed (set PEER_REBUILD=1 to force).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PEER_VENV:-$here/.venv}"
LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
GGUF_VERSION="${GGUF_VERSION:-0.19.0}"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
  echo "setup.sh: $python not found (need Python >= 3.9 with venv)" >&2; exit 1
fi
for tool in gcc g++; do
  if ! command -v "$tool" >/dev/null; then
    echo "setup.sh: $tool not found; install a C/C++ toolchain (apt-get install build-essential)" >&2; exit 1
  fi
done

if [ ! -x "$venv/bin/python" ]; then
  echo "setup.sh: creating venv $venv" >&2
  "$python" -m venv "$venv" || {
    echo "setup.sh: 'python3 -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
vpy="$venv/bin/python"
"$vpy" -m pip install --quiet --upgrade pip

"$vpy" -m pip install --quiet "numpy" "gguf==$GGUF_VERSION"


# The source distribution is kept so that the llama.cpp commit it vendors can be
# recorded (its CHANGELOG names it; the vendored tree has no .git).
cache="$here/.cache"
mkdir -p "$cache"
sdist="$(ls "$cache"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION".tar.gz 2>/dev/null || true)"
if [ -z "$sdist" ]; then
  "$vpy" -m pip download --quiet --no-deps --no-binary llama-cpp-python -d "$cache" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" || {
    echo "setup.sh: could not download llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from PyPI" >&2; exit 1; }
  sdist="$(ls "$cache"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION".tar.gz)"
fi

have="$("$vpy" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || true)"
if [ "$have" = "$LLAMA_CPP_PYTHON_VERSION" ] && [ -z "${PEER_REBUILD:-}" ]; then
  echo "setup.sh: llama-cpp-python $have already installed (PEER_REBUILD=1 to rebuild)" >&2
else
  # CPU only, tuned for this machine (-march=native via GGML_NATIVE), no BLAS
  # (llama.cpp's own quantized kernels are what we compare against), OpenMP
  # threading as in a default llama.cpp build.
  export CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_OPENMP=ON -DLLAMA_CURL=OFF ${PEER_EXTRA_CMAKE_ARGS:-}"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
  echo "setup.sh: building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (CMAKE_ARGS=$CMAKE_ARGS); ~10-15 min on 2 cores" >&2
  # runtime deps of the llama_cpp package first, then the package itself from the sdist
  "$vpy" -m pip install --quiet "typing-extensions>=4.5.0" "diskcache>=5.6.1" "jinja2>=2.11.3"
  "$vpy" -m pip install --verbose --no-cache-dir --force-reinstall --no-deps "$sdist" > "$here/.build.log" 2>&1 || {
    echo "setup.sh: building llama-cpp-python failed; last lines of $here/.build.log:" >&2
    tail -40 "$here/.build.log" >&2; exit 1; }
fi

# Record what was built: llama-cpp-python version, the llama.cpp commit it vendors, ggml version, flags.
"$vpy" - "$sdist" "$here/.llama-version" "$LLAMA_CPP_PYTHON_VERSION" <<'PY'
import json, re, sys, tarfile
sdist, out, version = sys.argv[1:4]
commit = ggml = None
with tarfile.open(sdist) as tf:
    for m in tf.getmembers():
        if m.name.endswith("/CHANGELOG.md") and m.name.count("/") == 1:
            text = tf.extractfile(m).read().decode()
            sect = text.split(f"## [{version}]", 1)[-1].split("\n## [", 1)[0]
            hit = re.search(r"llama\.cpp@([0-9a-f]{7,40})", sect)
            commit = hit.group(1) if hit else None
        if m.name.endswith("/vendor/llama.cpp/ggml/CMakeLists.txt"):
            text = tf.extractfile(m).read().decode()
            parts = [re.search(rf"set\(GGML_VERSION_{k} (\d+)\)", text) for k in ("MAJOR", "MINOR", "PATCH")]
            if all(parts):
                ggml = ".".join(p.group(1) for p in parts)
import llama_cpp
info = {
    "llama_cpp_python": llama_cpp.__version__,
    "llama_cpp_commit": commit,
    "ggml_version": ggml,
    "system_info": llama_cpp.llama_print_system_info().decode().strip(),
}
json.dump(info, open(out, "w"), indent=1)
print(f"llama-cpp-python {info['llama_cpp_python']}, llama.cpp {commit}, ggml {ggml}")
print(info["system_info"])
PY
echo "setup.sh: ready: $venv" >&2
