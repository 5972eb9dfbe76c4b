"""Time a follow-up chat turn with the engine's prefix cache against the same turn cold.

Usage: chat_turns.py BASE_URL [ROUNDS]
Each round uses a history never sent before: the cold run sends turn 2 directly; the warm run
sends turn 1, then turn 2 (whose history starts with turn 1's prompt). `max_tokens=1`, so the time
is mostly prefill. Prints each run and the medians. Needs the `openai` package.
"""
import statistics
import sys
import time
import uuid

from openai import OpenAI

base = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
client = OpenAI(base_url=base, api_key="-", max_retries=0, timeout=3600)
# About 300 tokens of context, as a system prompt with some history would have.
context = " ".join(f"Fact {i}: the meeting in room {i} moved to floor {i % 7}." for i in range(24))


def turns(tag):
    first = [{"role": "system", "content": f"[{tag}] {context}"}, {"role": "user", "content": "Where is room 5?"}]
    second = first + [{"role": "assistant", "content": "Floor 5."}, {"role": "user", "content": "And room 9?"}]
    return first, second


def ask(messages):
    start = time.monotonic()
    reply = client.chat.completions.create(model="gpt-4o-audio-preview", messages=messages, max_tokens=1, seed=1)
    return time.monotonic() - start, reply.usage


cold, warm = [], []
for r in range(rounds):
    _, second = turns(uuid.uuid4().hex[:8])
    seconds, usage = ask(second)
    cold.append(seconds)
    print(f"round {r + 1} cold turn 2: {seconds:.2f} s, prompt {usage.prompt_tokens}, "
          f"cached {usage.prompt_tokens_details.cached_tokens}", flush=True)
    first, second = turns(uuid.uuid4().hex[:8])
    ask(first)
    seconds, usage = ask(second)
    warm.append(seconds)
    print(f"round {r + 1} warm turn 2: {seconds:.2f} s, prompt {usage.prompt_tokens}, "
          f"cached {usage.prompt_tokens_details.cached_tokens}", flush=True)
print(f"median turn 2: cold {statistics.median(cold):.2f} s, after turn 1 {statistics.median(warm):.2f} s")
