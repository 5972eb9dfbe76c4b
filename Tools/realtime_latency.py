"""Latency of a realtime voice turn and of a barge-in, as a client sees them.

Usage: realtime_latency.py WS_URL SPEECH_WAV_24K [--rounds 3] [--key KEY]
SPEECH_WAV_24K: speech 0.3-1.2 s, a pause, more speech from 2.5 s (Tests/VADTests/Fixtures/speech_24k.wav).
Streams the first utterance in real time (0.1 s pieces) into a fresh session per round with server
VAD, silence until the reply speaks, then the second utterance over it; reports, per round and as
medians:
  vad_ms           end of the first utterance's audio sent -> input_audio_buffer.speech_stopped
                   (the session's silence_duration_ms is most of it)
  first_audio_ms   speech_stopped -> the first response.output_audio.delta
  server split     from response.done's timings_ms (ours): waiting for the engine and encoding
                   the user's audio with the codec, prefill of the new turn and the first step
                   (a patch), first step -> first codec chunk
  barge_in_ms      start of the second utterance's audio sent -> speech_started, and -> the
                   interrupted reply's last audio delta
Run the server with `--force-speech-steps N` on random weights, so replies have speech to stop.
"""
import argparse
import asyncio
import base64
import json
import statistics
import time
import wave

import websockets

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("speech")
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--key", default="-")
args = parser.parse_args()
with wave.open(args.speech) as w:
    assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
    pcm = w.readframes(w.getnframes())
PIECE = 4800  # 0.1 s of 16-bit samples
FIRST_END, SECOND_START = int(1.2 * 48000), int(2.5 * 48000)


async def round_trip():
    async with websockets.connect(args.url, additional_headers={"Authorization": f"Bearer {args.key}"},
                                  max_size=None) as ws:
        await ws.recv()  # session.created
        await ws.send(json.dumps({"type": "session.update", "session": {"audio": {"input": {"turn_detection": {
            "type": "server_vad", "silence_duration_ms": 500}}}}}))
        marks = {}
        reply = {}

        async def receive():
            async for message in ws:
                event = json.loads(message)
                now = time.monotonic()
                kind = event["type"]
                if kind == "input_audio_buffer.speech_stopped" and "stopped" not in marks:
                    marks["stopped"] = now
                elif kind == "input_audio_buffer.speech_started" and "second_sent" in marks and "barge" not in marks:
                    marks["barge"] = now
                elif kind == "response.created" and "response" not in reply:
                    reply["response"] = event["response"]["id"]
                elif kind == "response.output_audio.delta" and event["response_id"] == reply.get("response"):
                    marks.setdefault("first_audio", now)
                    marks["last_audio"] = now
                elif kind == "response.done" and event["response"]["id"] == reply.get("response"):
                    reply["done"] = event["response"]
                elif kind == "response.done" and "done" in reply:
                    return

        listener = asyncio.create_task(receive())

        async def stream(audio, first_offset):
            """Sends `audio` in real time: piece n at n × 0.1 s."""
            start = time.monotonic()
            for offset in range(0, len(audio), PIECE):
                await asyncio.sleep(max(0, start + offset / 48000 - time.monotonic()))
                at = first_offset + offset
                if at >= FIRST_END and "first_end_sent" not in marks:
                    marks["first_end_sent"] = time.monotonic()
                if at >= SECOND_START and "second_sent" not in marks:
                    marks["second_sent"] = time.monotonic()
                await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(audio[offset:offset + PIECE]).decode()}))

        # The first utterance and most of its pause; then, once the reply is speaking (silence
        # meanwhile, as a microphone sends), the second utterance over it, and 1 s of silence.
        split = int(2.3 * 48000) // PIECE * PIECE
        await stream(pcm[:split], 0)
        while "first_audio" not in marks and "done" not in reply:
            await stream(bytes(PIECE), split - PIECE)
        await stream(pcm[split:] + bytes(48000), split)
        await asyncio.wait_for(listener, 900)

    def ms(a, b):
        return round((marks[b] - marks[a]) * 1000) if a in marks and b in marks else None

    return {
        "vad_ms": ms("first_end_sent", "stopped"),
        "first_audio_ms": ms("stopped", "first_audio"),
        "server_ms": reply["done"].get("timings_ms"),
        "reply_status": reply["done"]["status"],
        "barge_in_to_speech_started_ms": ms("second_sent", "barge"),
        "barge_in_to_last_audio_ms": ms("second_sent", "last_audio"),
    }


async def main():
    rounds = []
    for r in range(args.rounds):
        result = await round_trip()
        print(json.dumps(result), flush=True)
        rounds.append(result)
    medians = {}
    for key in ("vad_ms", "first_audio_ms", "barge_in_to_speech_started_ms", "barge_in_to_last_audio_ms"):
        values = [r[key] for r in rounds if r[key] is not None]
        medians[key] = statistics.median(values) if values else None
    for key in ("queue_and_input_encoding", "prefill_and_first_step", "first_step_to_first_audio"):
        values = [r["server_ms"][key] for r in rounds if r["server_ms"] and r["server_ms"][key] is not None]
        medians["server_" + key + "_ms"] = round(statistics.median(values)) if values else None
    print(json.dumps({"median": medians}))


asyncio.run(main())
