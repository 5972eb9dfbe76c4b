#!/usr/bin/env python3
"""Drives the web playground (Sources/Server/Playground) in headless Chromium against a running
`mimo-audio serve` and checks that every tab produced its output.

    python3 Tests/Playground/playground_check.py http://127.0.0.1:8080 speech.wav shots/

Needs `pip install selenium` and Debian's `chromium` + `chromium-driver`. The WAV is both the
uploaded clip and the fake microphone (Chromium loops it), so for the voice chat it should be a
few seconds of speech followed by a second or more of silence: the server's VAD ends the turn on
the silence, and the next loop of the speech talks over the reply (the barge-in).

DRAFT: written without a run; see Sources/Server/Playground/README.md.
"""

import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

# How many distinct colours a drawn spectrogram has at least; a blank or cleared canvas has one.
MIN_COLOURS = 8


def make_driver(base_url, wav):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=430,1400",  # phone-sized width, tall enough for a tab's outputs
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={os.path.abspath(wav)}",
        "--autoplay-policy=no-user-gesture-required",
        # getUserMedia needs a secure context; localhost is one, another host is not.
        f"--unsafely-treat-insecure-origin-as-secure={base_url}",
    ]:
        options.add_argument(flag)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def by_id(driver, element_id):
    return driver.find_element(By.ID, element_id)


def wait_for(driver, what, condition, timeout):
    """Waits for condition(driver); a server error shown in #error fails at once, in its words."""

    def check(d):
        error = by_id(d, "error").text.strip()
        if error:
            raise AssertionError(f"{what}: the page shows an error: {error}")
        return condition(d)

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(check, message=f"timed out: {what}")


def open_tab(driver, name):
    by_id(driver, f"tab-{name}").click()
    assert by_id(driver, f"tab-{name}").get_attribute("aria-selected") == "true"
    assert by_id(driver, f"panel-{name}").is_displayed()


def canvas_colours(driver, canvas_id):
    """Distinct colours of the canvas, read back through toDataURL into a fresh canvas."""
    return driver.execute_async_script(
        """
        const [id, done] = arguments;
        const url = document.getElementById(id).toDataURL('image/png');
        const image = new Image();
        image.onload = () => {
          const copy = document.createElement('canvas');
          copy.width = image.width;
          copy.height = image.height;
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
        image.src = url;
        """,
        canvas_id,
    )


def audio_duration(driver, audio_id):
    """The <audio>'s duration once its source loads, or -1 when it cannot be played."""
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


def check_audio_view(driver, prefix):
    """A clip's view: a playable WAV blob, a download link and a drawn spectrogram."""
    wait_for(driver, f"{prefix} audio", lambda d: by_id(d, f"{prefix}-audio").get_attribute("src"), 30)
    duration = audio_duration(driver, f"{prefix}-audio")
    assert duration and duration > 0, f"#{prefix}-audio is not playable (duration {duration})"
    link = by_id(driver, f"{prefix}-download")
    assert link.is_displayed() and link.get_attribute("href").startswith("blob:"), f"#{prefix}-download"
    assert link.get_attribute("download").endswith(".wav"), f"#{prefix}-download names no .wav file"
    colours = canvas_colours(driver, f"{prefix}-spectrogram")
    assert colours >= MIN_COLOURS, f"#{prefix}-spectrogram looks blank ({colours} colours)"


def shot(driver, directory, name):
    path = os.path.join(directory, f"{name}.png")
    driver.save_screenshot(path)
    print(f"  screenshot {path}")


def check_tts(driver, timeout, shots):
    open_tab(driver, "tts")
    wait_for(driver, "voices listed", lambda d: d.execute_script(
        "return document.querySelectorAll('#tts-voice option').length") > 0, 30)
    text = by_id(driver, "tts-text")
    text.clear()
    text.send_keys("Testing the playground, one two three.")
    by_id(driver, "tts-speak").click()
    wait_for(driver, "speech finished", lambda d: by_id(d, "tts-status").text == "Done.", timeout)
    check_audio_view(driver, "tts")
    shot(driver, shots, "tts")


def check_asr(driver, wav, timeout, shots):
    open_tab(driver, "asr")
    # Recording first: the fake microphone plays the WAV.
    by_id(driver, "asr-record").click()
    wait_for(driver, "recording started", lambda d: by_id(d, "asr-record").get_attribute("aria-pressed") == "true", 15)
    time.sleep(2)
    by_id(driver, "asr-record").click()
    check_audio_view(driver, "asr")
    # Then the file, which replaces the recording and is what gets transcribed.
    by_id(driver, "asr-file").send_keys(os.path.abspath(wav))
    wait_for(driver, "file decoded", lambda d: by_id(d, "asr-download").get_attribute("download") != "recording.wav", 30)
    check_audio_view(driver, "asr")
    by_id(driver, "asr-transcribe").click()
    wait_for(driver, "transcript", lambda d: by_id(d, "asr-status").text == "Done.", timeout)
    assert by_id(driver, "asr-text").text.strip(), "#asr-text is empty"
    rows = driver.find_elements(By.CSS_SELECTOR, "#asr-segments tbody tr")
    assert rows, "no segments listed"
    shot(driver, shots, "asr")


def check_ask(driver, wav, timeout, shots):
    open_tab(driver, "ask")
    by_id(driver, "ask-file").send_keys(os.path.abspath(wav))
    check_audio_view(driver, "ask")
    question = by_id(driver, "ask-question")
    question.clear()
    question.send_keys("What is said in this clip?")
    by_id(driver, "ask-send").click()
    wait_for(driver, "answer", lambda d: by_id(d, "ask-status").text == "Done.", timeout)
    assert by_id(driver, "ask-answer").text.strip(), "#ask-answer is empty"
    assert by_id(driver, "ask-thinking").text.strip(), "#ask-thinking is empty"
    shot(driver, shots, "ask")


def check_chat(driver, timeout, shots):
    open_tab(driver, "chat")
    for turn, text in enumerate(["Hello, who are you?", "Say that again, shorter."], start=1):
        field = by_id(driver, "chat-input")
        field.send_keys(text)
        field.send_keys(Keys.ENTER)  # Enter sends
        wait_for(driver, f"chat reply {turn}", lambda d, n=turn: len(
            d.find_elements(By.CSS_SELECTOR, "#chat-log .message.assistant")) >= n, timeout)
    messages = driver.find_elements(By.CSS_SELECTOR, "#chat-log .message")
    assert len(messages) == 4, f"expected 4 chat messages, got {len(messages)}"
    shot(driver, shots, "chat")


def check_voice(driver, timeout, shots):
    open_tab(driver, "voice")
    by_id(driver, "voice-start").click()
    status = lambda d, name: int(by_id(d, "voice-status").get_attribute(f"data-{name}") or 0)  # noqa: E731
    wait_for(driver, "a voice turn's first audio", lambda d: status(d, "turns") >= 1, timeout)
    latency = driver.find_elements(By.CSS_SELECTOR, "#voice-latency li")
    assert latency and int(latency[0].get_attribute("data-ms")) > 0, "no latency measured"
    # The looping fake microphone speaks again over the reply: a barge-in.
    wait_for(driver, "a barge-in", lambda d: status(d, "barge-ins") >= 1, timeout)
    transcript = by_id(driver, "voice-transcript").text
    assert "(speech)" in transcript, "the user's turn is not in the transcript"
    assert driver.find_elements(By.CSS_SELECTOR, "#voice-transcript .message.assistant"), "no assistant line"
    check_audio_view(driver, "voice-in")
    wait_for(driver, "a reply's audio", lambda d: by_id(d, "voice-out-audio").get_attribute("src"), timeout)
    check_audio_view(driver, "voice-out")
    shot(driver, shots, "voice")
    by_id(driver, "voice-stop").click()
    assert by_id(driver, "voice-status").text == "Not connected."


def check_keyboard(driver):
    """Arrow keys move along the tablist and Home/End jump to its ends."""
    open_tab(driver, "tts")
    by_id(driver, "tab-tts").send_keys(Keys.ARROW_RIGHT)
    assert by_id(driver, "tab-asr").get_attribute("aria-selected") == "true"
    driver.switch_to.active_element.send_keys(Keys.END)
    assert by_id(driver, "tab-chat").get_attribute("aria-selected") == "true"
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)  # wraps round
    assert by_id(driver, "tab-tts").get_attribute("aria-selected") == "true"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("wav", help="speech then silence; the upload and the fake microphone")
    parser.add_argument("screenshots", help="a directory for one screenshot per tab")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for each model answer")
    parser.add_argument("--api-key", default="", help="the server's key, typed into #api-key")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    driver = make_driver(args.base_url, args.wav)
    checks = [
        ("keyboard", lambda: check_keyboard(driver)),
        ("tts", lambda: check_tts(driver, args.timeout, args.screenshots)),
        ("asr", lambda: check_asr(driver, args.wav, args.timeout, args.screenshots)),
        ("ask", lambda: check_ask(driver, args.wav, args.timeout, args.screenshots)),
        ("chat", lambda: check_chat(driver, args.timeout, args.screenshots)),
        ("voice", lambda: check_voice(driver, args.timeout, args.screenshots)),
    ]
    failures = 0
    try:
        driver.get(args.base_url.rstrip("/") + "/")
        if args.api_key:
            field = by_id(driver, "api-key")
            field.send_keys(args.api_key)
            field.send_keys(Keys.TAB)  # 'change' stores it and reloads the voices
        for name, check in checks:
            print(f"{name}:")
            try:
                check()
                print("  ok")
            except Exception as error:  # one tab's failure should not hide the others'
                failures += 1
                print(f"  FAILED: {error}")
                shot(driver, args.screenshots, f"{name}-failed")
                # Clear the alert so the next tab's checks start clean.
                driver.execute_script("document.getElementById('error').textContent = ''")
    finally:
        driver.quit()
    print("all passed" if failures == 0 else f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
