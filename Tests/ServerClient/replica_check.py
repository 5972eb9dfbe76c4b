"""Two `mimo-audio serve` replicas behind nginx, driven with the official `openai` client.

Usage:
  replica_check.py spread NGINX_URL REPLICA_A_URL REPLICA_B_URL AUDIO_FILE
      The playground and a realtime WebSocket session pass through; both replicas serve requests; a
      spoken conversation whose second turn lands on the other replica still works (the audio
      id's transcript fallback).
  replica_check.py survive NGINX_URL
      Every request succeeds (run after one replica was killed: nginx's passive health check).
  replica_check.py long NGINX_URL
      One long speech request; prints its outcome (the test drains the replica meanwhile).
Prints one line per check; exits 1 on the first failure.
"""
import asyncio
import base64
import json
import sys
import urllib.request

from openai import OpenAI

mode, base = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base + "/v1", api_key="-", max_retries=0, timeout=300)


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        sys.exit(1)


def served_chats(replica):
    """The replica's count of answered chat completions, from its /metrics."""
    text = urllib.request.urlopen(replica + "/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith('mimo_audio_requests_total{endpoint="/v1/chat/completions",status="200"}'):
            return int(float(line.split(" ")[-1]))
    return 0


def text_chat():
    reply = client.chat.completions.create(
        model="gpt-4o-audio-preview", messages=[{"role": "user", "content": "Hello"}], max_tokens=4)
    return reply.choices[0].message.content is not None


async def realtime_session():
    """A realtime session through nginx's WebSocket upgrade: created, then a session.update answered."""
    import websockets
    async with websockets.connect(base.replace("http://", "ws://", 1) + "/v1/realtime") as socket:
        created = json.loads(await asyncio.wait_for(socket.recv(), 30))
        await socket.send(json.dumps({"type": "session.update", "session": {"audio": {"output": {"voice": "nova"}}}}))
        updated = json.loads(await asyncio.wait_for(socket.recv(), 30))
        return created["type"], updated["type"]


if mode == "spread":
    a, b, audio_path = sys.argv[3:6]
    page = urllib.request.urlopen(base + "/").read().decode()
    check("<title>MiMo-Audio playground</title>" in page, "the playground through nginx")
    kinds = asyncio.run(realtime_session())
    check(kinds == ("session.created", "session.updated"), "a realtime session through nginx", kinds)
    check(all(text_chat() for _ in range(4)), "four chats through nginx")
    check(served_chats(a) > 0 and served_chats(b) > 0, "both replicas served", (served_chats(a), served_chats(b)))

    with open(audio_path, "rb") as f:
        audio = base64.b64encode(f.read()).decode()
    first = [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}}]}]
    spoken = dict(model="gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"},
                  max_tokens=8)
    before = (served_chats(a), served_chats(b))
    reply = client.chat.completions.create(messages=first, seed=4, **spoken).choices[0].message
    turn1 = (served_chats(a) - before[0], served_chats(b) - before[1])
    check(reply.audio.id and turn1 in ((1, 0), (0, 1)), "turn 1 answered by one replica", turn1)
    # Round robin sends the next request to the other replica; if it did not, the one after does.
    for attempt in range(2):
        before = (served_chats(a), served_chats(b))
        second = client.chat.completions.create(
            messages=first + [{"role": "assistant", "audio": {"id": reply.audio.id}},
                              {"role": "user", "content": "And then?"}], **spoken)
        turn2 = (served_chats(a) - before[0], served_chats(b) - before[1])
        if turn2 != turn1:
            break
    check(turn2 != turn1 and second.choices[0].message.audio.data,
          "turn 2 answered by the other replica, from the id's transcript", (turn1, turn2))
elif mode == "survive":
    check(all(text_chat() for _ in range(6)), "six chats succeed with one replica down")
elif mode == "long":
    # The replicas run --force-text-steps: this takes seconds.
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello there, how are you today?", response_format="pcm"
    ) as response:
        data = b"".join(response.iter_bytes())
    check(response.status_code == 200 and len(data) > 0, "the request in flight during the drain finished", len(data))
else:
    sys.exit(f"unknown mode {mode}")
print("all checks passed")
