"""The realtime endpoint of `mimo-audio serve`, driven over a real WebSocket with the `websockets`
package (PyPI). The server runs with `--force-speech-steps` so the random tiny model speaks.

Usage: realtime_check.py WS_URL API_KEY AUDIO_WAV_24K SPEECH_WAV_24K
SPEECH_WAV_24K: speech, 1.3 s of silence from 1.2 s, more speech from 2.5 s (the VAD fixture).
Prints one line per check; exits 1 on the first failure (with what was received).
"""
import asyncio
import base64
import json
import sys
import urllib.request
import uuid
import wave

import websockets

url, key, wav_path, speech_path = sys.argv[1:5]


def read_pcm(path):
    with wave.open(path) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        return w.readframes(w.getnframes())


pcm = read_pcm(wav_path)
speech = read_pcm(speech_path)


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        sys.exit(1)


class Session:
    def __init__(self, socket):
        self.socket = socket

    async def send(self, event):
        await self.socket.send(json.dumps(event))

    async def next(self, timeout=60):
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def until(self, kind, timeout=120):
        """Events up to and including the first of `kind`."""
        seen = []
        while True:
            event = await self.next(timeout)
            seen.append(event)
            if event["type"] == kind:
                return seen

    async def error_for(self, event):
        await self.send(event)
        reply = await self.next()
        return reply if reply["type"] == "error" else None

    async def append_and_commit(self):
        for start in range(0, len(pcm), 9600):  # 0.2 s pieces
            await self.send({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(pcm[start:start + 9600]).decode()})
        await self.send({"type": "input_audio_buffer.commit"})
        committed = await self.next()
        created = await self.next()
        return committed, created

    async def respond(self):
        await self.send({"type": "response.create"})
        events = await self.until("response.done")
        return events


def transcribed(path):
    """What /v1/audio/transcriptions says of the file, in English."""
    http = url.replace("ws://", "http://", 1).replace("/v1/realtime", "/v1/audio/transcriptions")
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in [("model", "whisper-1"), ("language", "en")]]
    with open(path, "rb") as f:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                     f"Content-Type: audio/wav\r\n\r\n".encode() + f.read() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(http, data=body, headers={
        "Authorization": f"Bearer {key}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    return json.load(urllib.request.urlopen(request, timeout=120))["text"]


TRANSCRIBED = "conversation.item.input_audio_transcription.completed"


def of(events, kind):
    return [e for e in events if e["type"] == kind]


async def connect():
    socket = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=None)
    session = Session(socket)
    created = await session.next()
    check(created["type"] == "session.created" and created["session"]["type"] == "realtime", "session.created", created)
    return session


async def main():
    # A wrong key: an error event, then the socket is closed (1008).
    socket = await websockets.connect(url, additional_headers={"Authorization": "Bearer wrong"})
    refused = json.loads(await socket.recv())
    try:
        await socket.recv()
        closed = None
    except websockets.ConnectionClosed as error:
        closed = error.rcvd.code if error.rcvd else None
    check(refused["type"] == "error" and refused["error"]["code"] == "invalid_api_key" and closed == 1008,
          "a wrong key is an error event and a 1008 close", (refused, closed))
    # Browsers pass the key as a subprotocol.
    socket = await websockets.connect(url, subprotocols=["realtime", f"openai-insecure-api-key.{key}"])
    check(socket.subprotocol == "realtime" and json.loads(await socket.recv())["type"] == "session.created",
          "the key as a subprotocol (browsers)")
    await socket.close()

    s = await connect()
    await s.send({"type": "session.update", "session": {
        "type": "realtime", "instructions": "Be brief.", "output_modalities": ["audio"],
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None},
                  "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "nova"}}}})
    updated = await s.next()
    check(updated["type"] == "session.updated" and updated["session"]["audio"]["output"]["voice"] == "nova"
          and updated["session"]["audio"]["input"]["turn_detection"] is None, "session.update (GA shape)", updated)
    await s.send({"type": "session.update", "session": {"modalities": ["text", "audio"], "input_audio_format": "pcm16",
                                                         "turn_detection": None, "voice": "alloy"}})
    updated = await s.next()
    check(updated["type"] == "session.updated" and updated["session"]["audio"]["output"]["voice"] == "alloy",
          "session.update (beta field names)", updated)

    # Bad and out-of-order events are errors; the socket stays open.
    bad = [
        ("not json", "invalid_json"),
        ({"type": "input_audio_buffer.commit"}, "input_audio_buffer_commit_empty"),
        ({"type": "response.cancel"}, "response_cancel_not_active"),
        ({"type": "response.create"}, "no_user_input"),
        ({"type": "input_audio_buffer.append", "audio": "@@@"}, "invalid_base64"),
        ({"type": "input_audio_buffer.append", "audio": "AAAA"}, "invalid_value"),
        ({"type": "conversation.item.truncate", "item_id": "item_x", "audio_end_ms": 10}, "invalid_value"),
        ({"type": "session.update", "session": {"audio": {"input": {"format": {"type": "audio/pcmu"}}}}}, "invalid_value"),
        ({"type": "session.update", "session": {"voice": "bob"}}, "invalid_value"),
        ({"type": "conversation.item.create", "item": {"type": "message", "role": "assistant",
                                                       "content": [{"type": "input_text", "text": "x"}]}}, "invalid_value"),
        ({"type": "no.such.event", "event_id": "evt_7"}, "unknown_event"),
    ]
    for event, code in bad:
        if isinstance(event, str):
            await s.socket.send(event)
            reply = await s.next()
        else:
            reply = await s.error_for(event)
        check(reply is not None and reply["type"] == "error" and reply["error"]["code"] == code
              and reply["error"]["message"], f"error {code}", reply)
    check(reply["error"]["event_id"] == "evt_7", "errors name the client event", reply)
    await s.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[:4800]).decode()})
    await s.send({"type": "input_audio_buffer.clear"})
    check((await s.next())["type"] == "input_audio_buffer.cleared", "input_audio_buffer.clear")

    # Turn 1: speech in, speech out.
    committed, created = await s.append_and_commit()
    check(committed["type"] == "input_audio_buffer.committed" and created["type"] == "conversation.item.created"
          and created["item"]["id"] == committed["item_id"], "commit makes a user item", (committed, created))
    events = await s.respond()
    kinds = [e["type"] for e in events]
    audio = of(events, "response.output_audio.delta")
    done = events[-1]["response"]
    check(kinds[0] == "response.created" and audio and "response.output_audio.done" in kinds
          and "response.output_audio_transcript.done" in kinds and done["status"] == "completed",
          "turn 1: audio deltas, then done", kinds[:6])
    check(all(len(base64.b64decode(e["delta"])) % 2 == 0 for e in audio), "audio deltas are PCM16")
    turn1 = done["usage"]

    # Turn 2, typed: only the new turn is prefilled, the history comes from the cache.
    await s.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                              "content": [{"type": "input_text", "text": "And then?"}]}})
    check((await s.next())["type"] == "conversation.item.created", "a typed user item")
    done = (await s.respond())[-1]["response"]
    cached = done["usage"]["input_token_details"]["cached_tokens"]
    check(done["status"] == "completed" and cached >= turn1["input_tokens"],
          "turn 2 reuses the whole history from the cache", (turn1, done["usage"]))

    # Turn 3, cancelled mid-speech: at most the delta in flight arrives after the cancel.
    await s.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                              "content": [{"type": "input_text", "text": "Tell me more."}]}})
    await s.next()
    await s.send({"type": "response.create"})
    before, after, cancelled_sent = 0, 0, False
    item_id = None
    while True:
        event = await s.next()
        if event["type"] == "response.output_item.added":
            item_id = event["item"]["id"]
        if event["type"] == "response.output_audio.delta":
            if cancelled_sent:
                after += 1
            else:
                before += 1
                if before == 2:
                    await s.send({"type": "response.cancel"})
                    cancelled_sent = True
        if event["type"] == "response.done":
            break
    check(before == 2 and after <= 1 and event["response"]["status"] == "cancelled",
          "response.cancel stops the audio", (before, after, event["response"]["status"]))
    print(f"audio deltas after the cancel: {after}", flush=True)

    # The client played 200 ms of it: the turn is cut there, and the conversation goes on.
    await s.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 200})
    truncated = await s.next()
    check(truncated["type"] == "conversation.item.truncated" and truncated["audio_end_ms"] == 200,
          "conversation.item.truncate", truncated)
    await s.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                              "content": [{"type": "input_text", "text": "Go on."}]}})
    await s.next()
    done = (await s.respond())[-1]["response"]
    check(done["status"] == "completed" and done["usage"]["input_token_details"]["cached_tokens"] > 0,
          "the turn after a truncated one", done["usage"])
    await s.socket.close()

    # Server VAD (the default): speech starts and stops turns; speaking over a reply interrupts it.
    v = await connect()
    await v.send({"type": "session.update", "session": {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
        "transcription": {"model": "whisper-1"}}}}})
    check((await v.next())["session"]["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500,
          "server VAD settings")

    async def speak(audio):
        for start in range(0, len(audio), 4800):  # 0.1 s pieces
            await v.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(audio[start:start + 4800]).decode()})

    await speak(speech[:2 * 24000 * 23 // 10])  # the first utterance and 1.1 s of its pause
    first = []
    while len(of(first, "response.output_audio.delta")) < 2:
        first.append(await v.next())
    kinds = [e["type"] for e in first]
    started, stopped = of(first, "input_audio_buffer.speech_started"), of(first, "input_audio_buffer.speech_stopped")
    check(kinds.index("input_audio_buffer.speech_started") < kinds.index("input_audio_buffer.speech_stopped")
          < kinds.index("input_audio_buffer.committed") < kinds.index("response.created"),
          "VAD: speech started, stopped, committed, a response", kinds[:8])
    # The utterance is 0.3-1.2 s; the detector works in 32 ms chunks, the start includes 300 ms of padding.
    check(0 <= started[0]["audio_start_ms"] <= 300 and 1100 <= stopped[0]["audio_end_ms"] <= 1500,
          "VAD: the utterance's times", (started[0], stopped[0]))

    # The second utterance, spoken over the reply: barge-in.
    replying = of(first, "response.created")[0]["response"]["id"]
    replying_item = of(first, "response.output_item.added")[0]["item"]["id"]
    # The second utterance's first 0.7 s (after 0.2 s of the pause) starts the barge-in; the rest
    # follows the client's truncate, as it would from a microphone.
    second = speech[2 * 24000 * 23 // 10:] + bytes(2 * 24000 * 8 // 10)
    head = 2 * 24000 * 9 // 10
    await speak(second[:head])
    after, events = 0, []
    interrupted = False
    while True:
        event = await v.next()
        events.append(event)
        if event["type"] == "input_audio_buffer.speech_started":
            interrupted = True
            # As a client does on barge-in: cut the reply to what was played, before it has ended.
            await v.send({"type": "conversation.item.truncate", "item_id": replying_item, "content_index": 0,
                          "audio_end_ms": 100})
            await speak(second[head:])
        elif event["type"] == "response.output_audio.delta" and interrupted and event["response_id"] == replying:
            after += 1
        elif event["type"] == "response.done" and event["response"]["status"] != "cancelled":
            break
    statuses = [e["response"]["status"] for e in of(events, "response.done")]
    check(interrupted and statuses == ["cancelled", "completed"] and after <= 1,
          "VAD barge-in: the reply stops, the next turn is answered", (statuses, after))
    cut = of(events, "conversation.item.truncated")
    check(cut and cut[0]["item_id"] == replying_item and not of(events, "error"),
          "a truncate sent at the barge-in, while the reply was ending", [e["type"] for e in events])
    print(f"audio deltas after the barge-in: {after}", flush=True)
    # Each turn's transcript comes after the response it started (the engine ran that first).
    events = first + events + await v.until(TRANSCRIBED)
    while len(of(events, TRANSCRIBED)) < 2:
        events += await v.until(TRANSCRIBED)
    kinds = [e["type"] for e in events]
    dones = [i for i, k in enumerate(kinds) if k == "response.done"]
    heard = [i for i, k in enumerate(kinds) if k == TRANSCRIBED]
    items = [e["item_id"] for e in of(events, "input_audio_buffer.committed")]
    check(len(dones) == 2 and dones[0] < heard[0] and dones[1] < heard[1]
          and [e["item_id"] for e in of(events, TRANSCRIBED)] == items,
          "VAD turns are transcribed after their replies", kinds)
    await v.socket.close()

    # A text-only session keeps its history too: turn 2 prefills only itself.
    t = await connect()
    await t.send({"type": "session.update", "session": {"output_modalities": ["text"],
                                                         "audio": {"input": {"turn_detection": None}}}})
    await t.next()
    usages = []
    for text in ("Hello there.", "And then?"):
        await t.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                                  "content": [{"type": "input_text", "text": text}]}})
        await t.next()
        events = await t.respond()
        check(of(events, "response.output_text.done") and events[-1]["response"]["status"] == "completed",
              "a text-only response", [e["type"] for e in events])
        usages.append(events[-1]["response"]["usage"])
    check(usages[1]["input_token_details"]["cached_tokens"] >= usages[0]["input_tokens"],
          "a text-only session's turn 2 reuses its history", usages)
    await t.socket.close()

    # Transcripts of the user's audio turns: the words /v1/audio/transcriptions gives for the same samples.
    r = await connect()
    await r.send({"type": "session.update", "session": {"audio": {"input": {
        "turn_detection": None, "transcription": {"model": "whisper-1", "language": "en"}}}}})
    updated = await r.next()
    check(updated["session"]["audio"]["input"]["transcription"] == {"model": "whisper-1", "language": "en"},
          "session.update turns transcripts on (GA shape)", updated)
    # The whole clip in one append: a message far larger than a 16 KB WebSocket frame.
    await r.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})
    await r.send({"type": "input_audio_buffer.commit"})
    committed = await r.next()
    check(committed["type"] == "input_audio_buffer.committed", f"one {len(pcm) * 4 // 3} byte append", committed)
    events = await r.until(TRANSCRIBED)
    deltas = of(events, "conversation.item.input_audio_transcription.delta")
    done = events[-1]
    check(done["item_id"] == committed["item_id"] and done["transcript"]
          and "".join(d["delta"] for d in deltas) == done["transcript"], "a committed turn's transcript", events)
    expected = transcribed(wav_path)
    check(done["transcript"] == expected, "the transcript is the transcription endpoint's", (done, expected))
    await r.send({"type": "session.update", "session": {"input_audio_transcription": None}})
    check((await r.next())["session"]["audio"]["input"]["transcription"] is None, "transcripts off (beta shape)")
    await r.append_and_commit()
    events = await r.respond()  # a transcript would have been queued before the response
    check(not [e for e in events if "transcription" in e["type"]], "no transcript when off", events)
    for session, code in [
        ({"input_audio_transcription": {"model": "whisper-1", "prompt": "names"}}, "invalid_value"),
        ({"audio": {"input": {"transcription": {"model": "whisper-1", "language": "fr"}}}}, "invalid_value"),
        ({"audio": {"input": {"transcription": {"model": "no-such-model"}}}}, "model_not_found"),
        ({"audio": {"input": {"transcription": {"modle": "whisper-1"}}}}, "invalid_value"),
        ({"audio": {"input": {"transcription": "whisper-1"}}}, "invalid_value"),
    ]:
        reply = await r.error_for({"type": "session.update", "session": session})
        check(reply is not None and reply["error"]["code"] == code and "transcription" in reply["error"]["param"],
              f"a bad transcription setting: {code}", reply)
    await r.socket.close()

    # Two sessions at once (the engine runs their responses one after the other).
    a, b = await connect(), await connect()
    for x in (a, b):
        await x.send({"type": "session.update", "session": {"audio": {"input": {"turn_detection": None}}}})
        await x.next()
        await x.append_and_commit()
    results = await asyncio.gather(a.respond(), b.respond())
    check(all(r[-1]["response"]["status"] == "completed" for r in results), "two concurrent sessions")
    print("all checks passed")


asyncio.run(main())
