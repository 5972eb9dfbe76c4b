#!/usr/bin/env python3
"""Drives the web playground (Playground/) in headless Chromium against a running `mimo-audio
serve` and checks every tab against what the server actually answered.

    python3 Tests/Playground/playground_check.py http://127.0.0.1:8080 KEY speech.wav shots/

Needs Selenium (PyPI) and Debian's `chromium` and `chromium-driver`. The server must require KEY
(`--api-key KEY`) and begin spoken replies with forced speech steps, so the random-weight
fixtures speak. The WAV is both the uploaded clip and the fake microphone, which Chromium loops:
speech, a pause of at least the VAD's 500 ms of silence (the turn ends), then speech again (which
talks over the reply: the barge-in).

Before the page's own scripts run, a recorder wraps `fetch`, `WebSocket` and
`AudioBufferSourceNode.start`, so each check compares what the page shows with the server's own
response, and the voice chat's events with what was sent and received.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

# A drawn spectrogram has many colours; a blank or cleared canvas has one.
MIN_COLOURS = 8
# Phone-sized, as the issue asks the page to be readable on.
WIDTH, HEIGHT = 412, 1300

RECORDER = r"""
window.__rec = { http: [], ws: [], starts: [] };
const realFetch = window.fetch.bind(window);
window.fetch = async (input, init = {}) => {
  const form = init.body instanceof FormData
    ? Object.fromEntries([...init.body].map(([k, v]) => [k, typeof v === 'string' ? v : `<file ${v.size} bytes>`]))
    : null;
  const entry = { url: String(input), method: init.method || 'GET', body: typeof init.body === 'string' ? init.body : null,
                  form, status: null, json: null, chunks: [], text: '' };
  window.__rec.http.push(entry);
  const response = await realFetch(input, init);
  entry.status = response.status;
  if ((response.headers.get('content-type') || '').includes('json')) {
    entry.json = await response.clone().json().catch(() => null);
    return response;
  }
  if (!response.body) return response;
  // Each chunk's arrival as the page reads it, and server-sent events' text.
  const events = (response.headers.get('content-type') || '').includes('event-stream');
  const decoder = new TextDecoder();
  const body = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      entry.chunks.push([performance.now(), chunk.length]);
      if (events) entry.text += decoder.decode(chunk, { stream: true });
      controller.enqueue(chunk);
    },
  }));
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};
const RealWebSocket = window.WebSocket;
const brief = (event) => {
  if (typeof event.delta === 'string' && event.type.endsWith('audio.delta')) {
    return { ...event, delta: undefined, bytes: Math.floor(event.delta.length / 4) * 3 };
  }
  if (event.type === 'input_audio_buffer.append') return { type: event.type, bytes: event.audio.length };
  return event;
};
window.WebSocket = class extends RealWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (message) => {
      try { window.__rec.ws.push(['in', brief(JSON.parse(message.data))]); } catch (_) { /* not JSON */ }
    });
  }
  send(data) {
    try { window.__rec.ws.push(['out', brief(JSON.parse(data))]); } catch (_) { /* not JSON */ }
    return super.send(data);
  }
};
const realStart = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (...args) {
  window.__rec.starts.push(performance.now());
  return realStart.apply(this, args);
};
"""


def make_driver(base_url, wav):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in [
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},{HEIGHT}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={os.path.abspath(wav)}",
        "--autoplay-policy=no-user-gesture-required",
        # The microphone needs a secure context; 127.0.0.1 is one already, this keeps another host working.
        f"--unsafely-treat-insecure-origin-as-secure={base_url}",
    ]:
        options.add_argument(flag)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    return driver


def by_id(driver, element_id):
    return driver.find_element(By.ID, element_id)


def text_of(driver, element_id):
    """The element's text as the page holds it (textContent, not the rendered, trimmed .text)."""
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", element_id)


def words(text):
    return " ".join((text or "").split())


def wait_for(driver, what, condition, timeout):
    """Waits for condition(driver); a server error shown in #error fails at once, in its words."""

    def check(d):
        error = text_of(d, "error").strip()
        if error:
            raise AssertionError(f"{what}: the page shows an error: {error}")
        return condition(d)

    return WebDriverWait(driver, timeout, poll_frequency=0.25).until(check, message=f"timed out: {what}")


def http_log(driver, path):
    return [e for e in driver.execute_script("return window.__rec.http") if e["url"].endswith(path)]


def streamed_chat(entry):
    """A streamed chat completion as the server sent it: content, reasoning, finish reason."""
    content, reasoning, finish, done = "", "", None, False
    for line in entry["text"].split("\n"):
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            done = True
            continue
        for choice in json.loads(line[6:])["choices"]:
            content += choice["delta"].get("content", "")
            reasoning += choice["delta"].get("reasoning_content", "")
            finish = choice["finish_reason"] or finish
    assert done and finish, f"the stream did not finish: {entry['text'][-300:]!r}"
    return content, reasoning, finish


def ws_log(driver):
    return driver.execute_script("return window.__rec.ws")


def open_tab(driver, name):
    by_id(driver, f"tab-{name}").click()
    assert by_id(driver, f"tab-{name}").get_attribute("aria-selected") == "true"
    assert by_id(driver, f"panel-{name}").is_displayed()


def check_layout(driver, name):
    """Nothing wider than the phone-sized window."""
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the {name} tab is {overflow} px wider than a {WIDTH} px screen"


def canvas_colours(driver, canvas_id):
    """Distinct colours of the canvas's pixels, read back through toDataURL."""
    return driver.execute_async_script(
        """
        const [id, done] = arguments;
        const image = new Image();
        image.onload = () => {
          const copy = document.createElement('canvas');
          [copy.width, copy.height] = [image.width, image.height];
          const context = copy.getContext('2d');
          context.drawImage(image, 0, 0);
          const pixels = context.getImageData(0, 0, copy.width, copy.height).data;
          const seen = new Set();
          for (let i = 0; i < pixels.length; i += 4 * 7) {
            seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2] | (pixels[i + 3] << 24));
          }
          done(seen.size);
        };
        image.onerror = () => done(-1);
        image.src = document.getElementById(id).toDataURL('image/png');
        """,
        canvas_id,
    )


def audio_duration(driver, audio_id):
    """The <audio>'s duration once its source loads, or -1 when the browser cannot play it."""
    return driver.execute_async_script(
        """
        const [id, done] = arguments;
        const audio = document.getElementById(id);
        if (!audio.src.startsWith('blob:')) return done(-2);
        if (audio.readyState >= 1) return done(audio.duration);
        audio.addEventListener('loadedmetadata', () => done(audio.duration), { once: true });
        audio.addEventListener('error', () => done(-1), { once: true });
        audio.load();
        """,
        audio_id,
    )


def check_audio_view(driver, prefix, seconds=None):
    """A clip's view: a playable WAV (of `seconds` when given), a download link, a drawn spectrogram."""
    wait_for(driver, f"{prefix} audio", lambda d: by_id(d, f"{prefix}-audio").get_attribute("src"), 30)
    duration = audio_duration(driver, f"{prefix}-audio")
    assert duration and duration > 0, f"#{prefix}-audio is not playable (duration {duration})"
    if seconds is not None:
        # The WAV holds exactly the samples received: its duration to within one sample.
        assert abs(duration - seconds) < 1 / 24000 + 1e-6, f"#{prefix}-audio lasts {duration} s, not {seconds} s"
    link = by_id(driver, f"{prefix}-download")
    assert link.is_displayed() and link.get_attribute("href").startswith("blob:"), f"#{prefix}-download"
    assert link.get_attribute("download").endswith(".wav"), f"#{prefix}-download names no .wav file"
    colours = canvas_colours(driver, f"{prefix}-spectrogram")
    assert colours >= MIN_COLOURS, f"#{prefix}-spectrogram looks blank ({colours} colours)"


def shot(driver, directory, name):
    path = os.path.join(directory, f"{name}.png")
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(path)
    print(f"  screenshot {path}")


def server_error(base_url, path):
    """What the server itself says to a request without the key."""
    try:
        urllib.request.urlopen(base_url + path, timeout=10)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["error"]["message"]
    raise AssertionError(f"{path} answered without the key")


def check_key_and_errors(driver, base_url, key):
    """Without the key the voice list fails with the server's own words; the key, typed in,
    opens the API and survives a reload (session storage)."""
    status, message = server_error(base_url, "/v1/audio/voices")
    assert status == 401, status
    WebDriverWait(driver, 15).until(lambda d: text_of(d, "error").strip(), message="no error shown without the key")
    assert text_of(driver, "error") == message, f"shown {text_of(driver, 'error')!r}, the server said {message!r}"
    field = by_id(driver, "api-key")
    field.send_keys(key)
    field.send_keys(Keys.TAB)  # 'change': the voices load again, with the key
    wait_for(driver, "voices listed", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tts-voice option")) > 1, 15)
    driver.refresh()
    wait_for(driver, "voices listed after a reload", lambda d: len(
        d.find_elements(By.CSS_SELECTOR, "#tts-voice option")) > 1, 15)
    assert by_id(driver, "api-key").get_attribute("value") == key, "the key was not kept in session storage"
    names = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#tts-voice option")]
    listed = [v["id"] for v in http_log(driver, "/v1/audio/voices")[-1]["json"]["data"]]
    assert names == listed, f"voices shown {names}, listed by the server {listed}"


def check_labels(driver):
    """Every control has an accessible name: a <label for>, an aria-label or its own text."""
    unnamed = driver.execute_script(
        """
        return [...document.querySelectorAll('input, select, textarea, button, canvas, audio')].filter((e) => {
          const label = e.id && document.querySelector(`label[for="${e.id}"]`);
          return !(label || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim()));
        }).map((e) => e.id || e.tagName);
        """
    )
    assert not unnamed, f"controls without a label: {unnamed}"


def check_keyboard(driver):
    """Arrow keys move along the tablist, Home and End jump to its ends."""
    open_tab(driver, "tts")
    by_id(driver, "tab-tts").send_keys(Keys.ARROW_RIGHT)
    assert by_id(driver, "tab-asr").get_attribute("aria-selected") == "true"
    driver.switch_to.active_element.send_keys(Keys.END)
    assert by_id(driver, "tab-chat").get_attribute("aria-selected") == "true"
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)  # wraps round
    assert by_id(driver, "tab-tts").get_attribute("aria-selected") == "true"
    driver.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    assert by_id(driver, "tab-chat").get_attribute("aria-selected") == "true"
    driver.switch_to.active_element.send_keys(Keys.HOME)
    assert by_id(driver, "tab-tts").get_attribute("aria-selected") == "true"


def check_tts(driver, timeout, shots):
    open_tab(driver, "tts")
    text = by_id(driver, "tts-text")
    text.clear()
    text.send_keys("Testing the playground, one two three.")
    by_id(driver, "tts-instructions").send_keys("Speak slowly.")
    by_id(driver, "tts-speak").click()
    wait_for(driver, "speech finished", lambda d: text_of(d, "tts-status") == "Done.", timeout)
    (request,) = http_log(driver, "/v1/audio/speech")
    body = json.loads(request["body"])
    assert body["response_format"] == "pcm" and body["stream_format"] == "audio", body
    assert body["instructions"] == "Speak slowly." and body["voice"] == by_id(driver, "tts-voice").get_attribute("value")
    chunks = request["chunks"]
    received = sum(n for _, n in chunks)
    starts = driver.execute_script("return window.__rec.starts")
    # Streamed playback: the first sound was scheduled before the last audio had arrived.
    assert len(chunks) >= 2 and starts and starts[0] < chunks[-1][0], f"not played while streaming: {chunks} {starts}"
    check_audio_view(driver, "tts", seconds=received / 2 / 24000)
    check_layout(driver, "speech")
    shot(driver, shots, "tts")


def check_asr(driver, wav, timeout, shots):
    open_tab(driver, "asr")
    # A recording first (the fake microphone plays the WAV), then the file, which replaces it.
    by_id(driver, "asr-record").click()
    wait_for(driver, "recording", lambda d: by_id(d, "asr-record").get_attribute("aria-pressed") == "true", 15)
    driver.execute_async_script("setTimeout(arguments[0], 1500)")
    by_id(driver, "asr-record").click()
    check_audio_view(driver, "asr")
    assert by_id(driver, "asr-download").get_attribute("download") == "recording.wav"
    by_id(driver, "asr-file").send_keys(os.path.abspath(wav))
    wait_for(driver, "file decoded", lambda d: by_id(d, "asr-download").get_attribute("download") != "recording.wav", 30)
    check_audio_view(driver, "asr")
    by_id(driver, "asr-transcribe").click()
    wait_for(driver, "transcript", lambda d: text_of(d, "asr-status") == "Done.", timeout)
    (request,) = http_log(driver, "/v1/audio/transcriptions")
    assert request["form"]["response_format"] == "verbose_json" and request["form"]["file"].startswith("<file")
    answer = request["json"]
    assert answer["text"].strip(), "the server's transcript is empty"
    assert text_of(driver, "asr-text") == answer["text"], "the transcript shown is not the server's"
    rows = [[c.text for c in row.find_elements(By.TAG_NAME, "td")]
            for row in driver.find_elements(By.CSS_SELECTOR, "#asr-segments tbody tr")]
    expected = [[f"{s['start']:.2f}", f"{s['end']:.2f}", words(s["text"])] for s in answer["segments"]]
    assert rows and rows == expected, f"segments shown {rows}, sent {expected}"
    check_layout(driver, "transcription")
    shot(driver, shots, "asr")


def check_ask(driver, wav, timeout, shots):
    open_tab(driver, "ask")
    by_id(driver, "ask-file").send_keys(os.path.abspath(wav))
    check_audio_view(driver, "ask")
    question = by_id(driver, "ask-question")
    question.clear()
    question.send_keys("What is said in this clip?")
    for thinking in [False, True]:
        if by_id(driver, "ask-think").is_selected() != thinking:
            by_id(driver, "ask-think").send_keys(Keys.SPACE)  # by keyboard
        by_id(driver, "ask-send").click()
        wait_for(driver, "answer", lambda d, n=int(thinking) + 1: len(http_log(d, "/v1/chat/completions")) == n
                 and text_of(d, "ask-status") == "Done.", timeout)
        request = http_log(driver, "/v1/chat/completions")[-1]
        body = json.loads(request["body"])
        parts = body["messages"][0]["content"]
        assert [p["type"] for p in parts] == ["input_audio", "text"] and parts[1]["text"] == "What is said in this clip?"
        assert (body.get("reasoning_effort") == "high") == thinking and body["stream"] is True, body
        content, reasoning, finish = streamed_chat(request)
        # The random model's words are whatever it samples (often reserved tokens, sometimes
        # nothing): the page must show exactly what the server sent, each part in its place.
        shown = text_of(driver, "ask-thinking")
        if not thinking:
            assert not reasoning and shown == "(thinking off)", (reasoning, shown)
        else:
            assert shown == (reasoning or "(no thinking returned)"), f"thinking shown {shown!r}, sent {reasoning!r}"
        shown = text_of(driver, "ask-answer")
        if content:
            assert shown == content, f"answer shown {shown!r}, sent {content!r}"
        else:
            assert shown == ("(no answer: the server's token limit was reached first)"
                             if finish == "length" else "(an empty answer)"), (finish, shown)
    check_layout(driver, "questions")
    shot(driver, shots, "ask")


def check_chat(driver, timeout, shots):
    open_tab(driver, "chat")
    sent = ["Hello, who are you?", "Say that again, shorter."]
    before = len(http_log(driver, "/v1/chat/completions"))
    for turn, text in enumerate(sent, start=1):
        field = by_id(driver, "chat-input")
        field.send_keys(text)
        field.send_keys(Keys.ENTER)  # Enter sends
        wait_for(driver, f"chat reply {turn}", lambda d, n=before + turn: len(http_log(d, "/v1/chat/completions")) == n
                 and "[DONE]" in http_log(d, "/v1/chat/completions")[-1]["text"]
                 and text_of(d, "chat-status") == "Done.", timeout)
    requests = http_log(driver, "/v1/chat/completions")[-2:]
    replies = [streamed_chat(r)[0] for r in requests]
    history = json.loads(requests[1]["body"])["messages"]
    assert history == [
        {"role": "user", "content": sent[0]}, {"role": "assistant", "content": replies[0]},
        {"role": "user", "content": sent[1]},
    ], f"turn 2 did not carry the conversation: {history}"
    shown = [words(e.text) for e in driver.find_elements(By.CSS_SELECTOR, "#chat-log .message")]
    expected = [words(f"{who}: {text}") for who, text in zip(["You", "MiMo"] * 2, [sent[0], replies[0], sent[1], replies[1]])]
    assert shown == expected, f"chat shown {shown}, exchanged {expected}"
    check_layout(driver, "chat")
    shot(driver, shots, "chat")


def check_voice(driver, timeout, shots):
    open_tab(driver, "voice")
    by_id(driver, "voice-start").click()

    def data(d, name):
        status = text_of(d, "voice-status")
        if status.startswith("Disconnected"):  # the server closed the socket: fail now, with its code
            raise AssertionError(status)
        return int(by_id(d, "voice-status").get_attribute(f"data-{name}") or 0)

    wait_for(driver, "a voice turn's first audio", lambda d: data(d, "turns") >= 1, timeout)
    latency = driver.find_elements(By.CSS_SELECTOR, "#voice-latency li")
    assert latency and int(latency[0].get_attribute("data-ms")) > 0, "no latency measured"
    # The looping fake microphone speaks over the reply: the page stops playing it and tells the
    # server how much of it was heard.
    wait_for(driver, "a barge-in cut", lambda d: data(d, "barge-ins") >= 1 and data(d, "truncations") >= 1
             and any(e["type"] == "response.done" for way, e in ws_log(d) if way == "in"), timeout)
    events = ws_log(driver)
    out = [e for way, e in events if way == "out"]
    incoming = [e for way, e in events if way == "in"]
    assert out[0]["type"] == "session.update" and any(e["type"] == "input_audio_buffer.append" for e in out)
    for expected in ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                     "input_audio_buffer.committed", "response.created", "response.output_audio.delta",
                     "response.done", "conversation.item.truncated"]:
        assert any(e["type"] == expected for e in incoming), f"no {expected} received"
    (cut, *_) = [e for e in out if e["type"] == "conversation.item.truncate"]
    heard = sum(e["bytes"] for e in incoming if e["type"] == "response.output_audio.delta" and e["item_id"] == cut["item_id"])
    # No more can have been played than arrived (16-bit samples at 24 kHz: 48 bytes a millisecond;
    # + 1 for the page rounding to whole milliseconds).
    assert 0 <= cut["audio_end_ms"] <= heard / 48 + 1, f"cut at {cut['audio_end_ms']} ms of {heard / 48} ms received"
    assert out[0]["session"]["audio"]["input"]["transcription"], "the page asked for no transcripts"
    assert driver.find_elements(By.CSS_SELECTOR, "#voice-transcript .message.assistant"), "no assistant line"
    # Both sides in the transcript: the user's turns as the server transcribed them (after the reply).
    done = lambda d: [e for way, e in ws_log(d)  # noqa: E731
                      if e["type"] == "conversation.item.input_audio_transcription.completed"]
    wait_for(driver, "a user turn transcribed", done, timeout)
    for event in done(driver):
        line = driver.execute_script(
            "return document.querySelector(`#voice-transcript [data-item='${arguments[0]}']`)?.textContent",
            event["item_id"])
        assert line == (event["transcript"] or "(nothing recognised)"), f"user line {line!r}, transcript {event}"
    check_audio_view(driver, "voice-in")
    check_audio_view(driver, "voice-out")
    check_layout(driver, "voice chat")
    shot(driver, shots, "voice")
    by_id(driver, "voice-stop").click()
    assert text_of(driver, "voice-status") == "Not connected."


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("key", help="the server's --api-key")
    parser.add_argument("wav", help="speech, a pause, speech: the upload and the fake microphone")
    parser.add_argument("screenshots", help="a directory for one screenshot per tab")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for each model answer")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    os.makedirs(args.screenshots, exist_ok=True)

    driver = make_driver(base, args.wav)
    checks = [
        ("key and errors", lambda: check_key_and_errors(driver, base, args.key)),
        ("labels", lambda: check_labels(driver)),
        ("keyboard", lambda: check_keyboard(driver)),
        ("tts", lambda: check_tts(driver, args.timeout, args.screenshots)),
        ("asr", lambda: check_asr(driver, args.wav, args.timeout, args.screenshots)),
        ("ask", lambda: check_ask(driver, args.wav, args.timeout, args.screenshots)),
        ("chat", lambda: check_chat(driver, args.timeout, args.screenshots)),
        ("voice", lambda: check_voice(driver, args.timeout, args.screenshots)),
    ]
    failures = 0
    try:
        driver.get(base + "/")
        for name, check in checks:
            print(f"{name}:", flush=True)
            try:
                check()
                print("  ok", flush=True)
            except Exception as error:  # one tab's failure should not hide the others'
                failures += 1
                print(f"  FAILED: {type(error).__name__}: {error}", flush=True)
                shot(driver, args.screenshots, f"{name.replace(' ', '-')}-failed")
                driver.execute_script("document.getElementById('error').textContent = ''")
        logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "/v1/audio/voices" not in e["message"]]
        if logs:  # the 401 of the keyless start is expected; nothing else may fail
            failures += 1
            print(f"browser console errors: {logs}")
    finally:
        driver.quit()
    print("all passed" if failures == 0 else f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
