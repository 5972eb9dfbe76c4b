"""The official `openai` Python client (PyPI; tested with 3.63.0) against `mimo-audio serve`.

Usage: openai_check.py BASE_URL API_KEY AUDIO_FILE
Prints one line per check; exits 1 on the first failure (with what was received).
"""
import base64
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

# Chat completions: text, audio in, a spoken reply whose id works in a second turn, streams.
chat = client.chat.completions.create(
    model="gpt-4o-audio-preview",
    messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    max_tokens=8,
    seed=1,
)
choice = chat.choices[0]
check(
    chat.object == "chat.completion" and choice.message.role == "assistant"
    and isinstance(choice.message.content, str) and choice.finish_reason in ("stop", "length")
    and chat.usage.prompt_tokens > 0 and chat.usage.completion_tokens > 0,
    "chat: text",
    chat,
)
with open(audio_path, "rb") as f:
    audio_b64 = base64.b64encode(f.read()).decode()
heard = client.chat.completions.create(
    model="gpt-4o-audio-preview",
    messages=[{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": audio_b64, "format": "wav"}},
        {"type": "text", "text": "What is said?"},
    ]}],
    max_tokens=8,
    reasoning_effort="medium",
)
check(
    isinstance(heard.choices[0].message.content, str)
    and isinstance(getattr(heard.choices[0].message, "reasoning_content", None), str),
    "chat: input_audio with thinking apart",
    heard,
)
first_turn = [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": audio_b64, "format": "wav"}}]}]
spoken = client.chat.completions.create(
    model="gpt-4o-audio-preview",
    modalities=["text", "audio"],
    audio={"voice": "alloy", "format": "wav"},
    messages=first_turn,
    max_tokens=12,
    seed=4,
)
reply = spoken.choices[0].message
rate, channels, width, frames = wav_info(base64.b64decode(reply.audio.data))
check(
    (rate, channels, width) == (24000, 1, 2) and frames > 0 and reply.audio.id and reply.audio.expires_at > 0
    and reply.audio.transcript == reply.content,
    "chat: spoken reply decodes (24 kHz wav) with an id and its transcript",
    (rate, channels, width, frames, reply.audio.id[:20]),
)
second = client.chat.completions.create(
    model="gpt-4o-audio-preview",
    modalities=["text", "audio"],
    audio={"voice": "alloy", "format": "wav"},
    messages=first_turn + [{"role": "assistant", "audio": {"id": reply.audio.id}}, {"role": "user", "content": "And?"}],
    max_tokens=12,
)
check(
    second.choices[0].message.audio.data and second.usage.prompt_tokens > spoken.usage.prompt_tokens,
    "chat: the reply's audio id in a second turn",
    second.usage,
)
deltas = []
for chunk in client.chat.completions.create(
    model="gpt-4o-audio-preview", messages=[{"role": "user", "content": "Hello"}], max_tokens=8, stream=True,
    stream_options={"include_usage": True},
):
    deltas.append(chunk)
check(
    deltas and deltas[0].choices[0].delta.role == "assistant" and deltas[-1].usage is not None
    and deltas[-2].choices[0].finish_reason in ("stop", "length"),
    "chat: streamed text with usage",
    deltas[-2:],
)
audio_bytes = b""
finish = None
for chunk in client.chat.completions.create(
    model="gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "nova", "format": "pcm16"},
    messages=first_turn, max_tokens=12, stream=True,
):
    if chunk.choices:
        audio = getattr(chunk.choices[0].delta, "audio", None)
        if audio is not None and getattr(audio, "data", None):
            audio_bytes += base64.b64decode(audio.data)
        finish = chunk.choices[0].finish_reason or finish
check(len(audio_bytes) > 0 and len(audio_bytes) % 2 == 0 and finish, "chat: streamed audio (PCM16)", len(audio_bytes))

ids = [model.id for model in client.models.list()]
check("tts-1" in ids and "whisper-1" in ids, "models.list: the aliases", ids)
print("all checks passed")
