"""A load test of `mimo-audio serve`: concurrent clients mixing speech, transcription and chat
requests, streamed and not, some hanging up early, against one server.

Usage: load_test.py BASE_URL SERVER_PID AUDIO_FILE [--clients 64] [--seconds 15] [--seed 1]

Checks, exiting 1 on a violation: every request is answered 200, 429 or 503 (never a reset, a
500 or a malformed response), except that a client that hangs up does not read its answer;
`/health` answers 200 throughout; after the load, the running and waiting gauges return to 0.
Prints one JSON object: requests, statuses, requests per second, latency percentiles of answered
requests (all, and the 200s alone), hang-ups, health checks, and the server's peak RSS (VmHWM).
"""
import argparse
import base64
import http.client
import json
import random
import socket
import threading
import time
import urllib.parse
import uuid

parser = argparse.ArgumentParser()
parser.add_argument("base")
parser.add_argument("pid", type=int)
parser.add_argument("audio")
parser.add_argument("--clients", type=int, default=64)
parser.add_argument("--seconds", type=float, default=15)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

url = urllib.parse.urlparse(args.base)
host, port = url.hostname, url.port
audio = open(args.audio, "rb").read()
audio_b64 = base64.b64encode(audio).decode()


def speech(stream):
    body = {"model": "tts-1", "input": "Hello there, how are you today?", "voice": "alloy", "response_format": "pcm"}
    if stream:
        body["stream_format"] = stream
    return "/v1/audio/speech", "application/json", json.dumps(body).encode()


def transcription(stream):
    boundary = uuid.uuid4().hex
    parts = [("model", "whisper-1")] + ([("stream", "true")] if stream else [])
    data = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in parts
    )
    data += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    return "/v1/audio/transcriptions", f"multipart/form-data; boundary={boundary}", data


def chat(stream, spoken):
    content = [{"type": "input_audio", "input_audio": {"data": audio_b64, "format": "wav"}}] if spoken else "Hello"
    body = {"model": "gpt-4o-audio-preview", "messages": [{"role": "user", "content": content}], "stream": stream}
    if spoken:
        body["modalities"] = ["text", "audio"]
    return "/v1/chat/completions", "application/json", json.dumps(body).encode()


KINDS = [
    ("speech", lambda: speech(None)),
    ("speech-audio-stream", lambda: speech("audio")),
    ("speech-sse", lambda: speech("sse")),
    ("transcription", lambda: transcription(False)),
    ("transcription-stream", lambda: transcription(True)),
    ("chat", lambda: chat(False, False)),
    ("chat-stream", lambda: chat(True, False)),
    ("chat-spoken", lambda: chat(False, True)),
]

lock = threading.Lock()
statuses = {}
latencies = []
served = []
violations = []
hangups = 0
health = {"ok": 0, "bad": 0}
stop_at = time.monotonic() + args.seconds


def record(kind, status, seconds):
    with lock:
        statuses[f"{kind} {status}"] = statuses.get(f"{kind} {status}", 0) + 1
        if status in (200, 429, 503):
            latencies.append(seconds)
            if status == 200:
                served.append(seconds)
        else:
            violations.append(f"{kind}: {status}")


def client(index):
    global hangups
    rng = random.Random(args.seed * 1000 + index)
    while time.monotonic() < stop_at:
        kind, make = rng.choice(KINDS)
        path, content_type, body = make()
        hang_up = rng.random() < 0.15
        start = time.monotonic()
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": content_type})
            if hang_up:
                # Leave after a moment, without reading the answer.
                time.sleep(rng.uniform(0.0, 0.2))
                connection.sock.shutdown(socket.SHUT_RDWR)
                with lock:
                    hangups += 1
                continue
            response = connection.getresponse()
            data = response.read()
            if response.status in (429, 503):
                error = json.loads(data).get("error", {})
                if not error.get("message"):
                    violations.append(f"{kind}: {response.status} without an OpenAI error body")
            record(kind, response.status, time.monotonic() - start)
        except (ConnectionError, http.client.HTTPException, socket.timeout, OSError) as error:
            with lock:
                violations.append(f"{kind}: {type(error).__name__}: {error}")
        finally:
            connection.close()


def health_checks():
    while time.monotonic() < stop_at:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("GET", "/health")
            ok = connection.getresponse().status == 200
            connection.close()
        except OSError:
            ok = False
        with lock:
            health["ok" if ok else "bad"] += 1
        time.sleep(0.2)


def gauges():
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    values = {}
    for line in text.splitlines():
        if line.startswith(("mimo_audio_requests_running ", "mimo_audio_requests_waiting ")):
            name, value = line.split(" ")
            values[name] = float(value)
    return values


threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
threads.append(threading.Thread(target=health_checks))
began = time.monotonic()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.monotonic() - began

# Hung-up generations are cancelled within a step: the gauges return to 0.
settled = {}
for _ in range(50):
    settled = gauges()
    if settled.get("mimo_audio_requests_running") == 0 and settled.get("mimo_audio_requests_waiting") == 0:
        break
    time.sleep(0.1)
else:
    violations.append(f"gauges did not return to 0: {settled}")
if health["bad"]:
    violations.append(f"/health failed {health['bad']} times")

peak_kb = 0
with open(f"/proc/{args.pid}/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else None


answered = len(latencies)
print(json.dumps({
    "clients": args.clients, "seconds": round(elapsed, 1), "answered": answered, "hung_up": hangups,
    "requests_per_second": round(answered / elapsed, 1),
    "latency_seconds": {f"p{p}": round(percentile(latencies, p), 3) for p in (50, 90, 99)} if latencies else {},
    "latency_seconds_of_200s": {f"p{p}": round(percentile(served, p), 3) for p in (50, 90, 99)} if served else {},
    "statuses": dict(sorted(statuses.items())), "health_checks": health, "peak_rss_mb": round(peak_kb / 1024),
    "violations": violations[:20],
}, indent=1))
raise SystemExit(1 if violations else 0)
