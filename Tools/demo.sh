#!/usr/bin/env bash
# The first run (`make demo`): speaks a sentence with the real models — downloaded on first use
# into the shared Hugging Face cache (~19 GB; set HF_HOME or --cache-dir to put it elsewhere) —
# writes hello.wav and transcribes it back. Where the hub cannot be reached and nothing is
# cached, says so and runs the same two commands on the bundled tiny random-weight fixtures,
# whose output is noise: that only shows the pipeline runs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bin=.build/release/mimo-audio
text="Hello! This is MiMo-Audio, speaking from your CPU."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "$bin" tts "$text" -o hello.wav 2> >(tee "$log" >&2); then
    echo "wrote hello.wav; transcribing it back:"
    exec "$bin" asr hello.wav
fi
if ! grep -qE "cannot reach|HF_HUB_OFFLINE is set" "$log"; then
    exit 1
fi
echo
echo "The Hugging Face hub cannot be reached and the models are not cached: running the offline"
echo "smoke demo on the tiny random-weight fixtures instead. Their speech and transcript are noise;"
echo "they only show the whole pipeline runs. Connect (or set HF_ENDPOINT to a mirror) for the real models."
fixtures=(--model Tests/Fixtures/lm --audio-tokenizer Tests/Fixtures/tokenizer --seed 1)
"$bin" tts "${fixtures[@]}" "$text" --max-new-tokens 40 -o hello.wav || exit 1
echo "wrote hello.wav (noise); transcribing it back:"
exec "$bin" asr "${fixtures[@]}" hello.wav --max-new-tokens 20
