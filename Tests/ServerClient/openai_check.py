"""The official `openai` Python client (PyPI; tested with 3.63.0) against `mimo-audio serve`.

Usage: openai_check.py BASE_URL API_KEY AUDIO_FILE
Prints one line per check; exits 1 on the first failure (with what was received).
"""
import io
import json
import sys
import wave

import openai
from openai import OpenAI

base, key, audio_path = sys.argv[1:4]
client = OpenAI(base_url=base, api_key=key, max_retries=0, timeout=300)


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        sys.exit(1)


def wav_info(data):
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


# Speech: the default format is mp3, as OpenAI's.
mp3 = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.").read()
check(mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0), "speech: default mp3", mp3[:8])

wav = client.audio.speech.create(model="tts-1", voice="nova", input="Hello there.", response_format="wav").read()
rate, channels, width, frames = wav_info(wav)
check((rate, channels, width) == (24000, 1, 2) and frames > 0, "speech: wav 24 kHz mono 16-bit", (rate, channels, width, frames))

pcm = client.audio.speech.create(model="gpt-4o-mini-tts", voice="sage", input="Hi.", response_format="pcm").read()
check(len(pcm) > 0 and len(pcm) % 2 == 0, "speech: pcm through an alias model name", len(pcm))

with client.audio.speech.with_streaming_response.create(
    model="tts-1", voice="echo", input="Hello there.", response_format="wav"
) as response:
    streamed = b"".join(response.iter_bytes())
check(streamed[:4] == b"RIFF", "speech: with_streaming_response", streamed[:8])

with client.audio.speech.with_streaming_response.create(
    model="tts-1", voice="coral", input="Hello there.", response_format="pcm", stream_format="sse"
) as response:
    events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
check(
    events and events[-1]["type"] == "speech.audio.done" and "usage" in events[-1]
    and all(e["type"] == "speech.audio.delta" for e in events[:-1]),
    "speech: stream_format sse",
    events[-1:] if events else "no events",
)

try:
    client.audio.speech.create(model="tts-1", voice="bob", input="Hi.")
    check(False, "speech: an unknown voice is refused")
except openai.BadRequestError as error:
    check("alloy" in str(error) and error.status_code == 400, "speech: an unknown voice is a 400 listing the voices", error)

# Transcriptions in every format.
with open(audio_path, "rb") as f:
    result = client.audio.transcriptions.create(model="whisper-1", file=f)
check(isinstance(result.text, str), "transcription: json", result)
with open(audio_path, "rb") as f:
    text = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="text")
check(isinstance(text, str) and text.strip() == result.text.strip(), "transcription: text", repr(text))
with open(audio_path, "rb") as f:
    verbose = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json")
check(
    verbose.duration > 0 and verbose.text == result.text and verbose.segments and verbose.language,
    "transcription: verbose_json",
    verbose,
)
for fmt, prefix in (("srt", "1\n00:00:00,000 --> "), ("vtt", "WEBVTT")):
    with open(audio_path, "rb") as f:
        subtitles = client.audio.transcriptions.create(model="whisper-1", file=f, response_format=fmt)
    check(isinstance(subtitles, str) and subtitles.startswith(prefix), f"transcription: {fmt}", repr(subtitles[:40]))
with open(audio_path, "rb") as f:
    stream = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=f, stream=True)
    kinds = [event.type for event in stream]
check(kinds and kinds[-1] == "transcript.text.done", "transcription: stream", kinds)

ids = [model.id for model in client.models.list()]
check("tts-1" in ids and "whisper-1" in ids, "models.list: the aliases", ids)
print("all checks passed")
