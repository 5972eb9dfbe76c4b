#!/usr/bin/env python3
"""One llama.cpp measurement in this process (run by run.py, one process per sample).

Loads a GGUF with llama-cpp-python's low-level API (the C API through ctypes:
no sampling, no tokenizer, no Python work inside the timed region apart from
one ctypes call per llama_decode) and measures, like llama-bench:

  prefill  : one --prompt-tokens prompt of random token ids decoded from an
             empty KV cache in one llama_decode (n_batch 2048, n_ubatch 512 as
             llama-bench), logits for the last token only.
             = `llama-bench -p 512 -n 0`
  decode   : --decode-steps single-token llama_decode calls right after that
             prompt (context depth 512..512+n), each producing logits
             (i.e. backbone + lm_head), = `llama-bench -n 32 -d 512`.
  tg0      : the same number of single-token decodes from an empty cache
             (llama-bench's plain `-n 32`), for reference.

Timing is wall time (time.perf_counter) around llama_decode + llama_synchronize;
llama_perf_context's own counters (t_p_eval_ms / t_eval_ms) are reported next
to it as a cross-check. Before measuring, a warm-up decodes a short prompt and
one token and clears the cache (llama-bench warms up too; it also pages in
memory-mapped weights). Prints one JSON line on stdout; llama.cpp's log goes
to stderr.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import random
import resource
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--decode-steps", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--no-tg0", action="store_true", help="skip decode from an empty cache")
    ap.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto",
                    help="llama.cpp flash attention (llama-bench default: auto)")
    ap.add_argument("--quiet", action="store_true", help="silence llama.cpp's log")
    args = ap.parse_args()

    try:
        import llama_cpp as L
    except ImportError as e:
        print(f"llama_worker.py: cannot import llama_cpp ({e}); run bench/peer/setup.sh", file=sys.stderr)
        return 3

    if args.quiet:
        # keep a reference: the callback must outlive the process's use of it
        global _log_cb
        _log_cb = L.llama_log_callback(lambda level, text, user: None)
        L.llama_log_set(_log_cb, ctypes.c_void_p())

    L.llama_backend_init()
    t0 = time.perf_counter()
    mparams = L.llama_model_default_params()
    model = L.llama_model_load_from_file(args.model.encode(), mparams)
    if not model:
        print(f"llama_worker.py: failed to load {args.model}", file=sys.stderr)
        return 4

    n_prompt, n_gen = args.prompt_tokens, args.decode_steps
    cparams = L.llama_context_default_params()
    cparams.n_ctx = n_prompt + n_gen + 16
    cparams.n_batch = max(2048, n_prompt)
    cparams.n_ubatch = 512
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    cparams.no_perf = False
    fa = {"auto": -1, "off": 0, "on": 1}[args.flash_attn]
    if hasattr(cparams, "flash_attn_type"):
        cparams.flash_attn_type = fa
    ctx = L.llama_init_from_model(model, cparams)
    if not ctx:
        print("llama_worker.py: failed to create a context", file=sys.stderr)
        return 4
    load_s = time.perf_counter() - t0
    mem = L.llama_get_memory(ctx)
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    rng = random.Random(args.seed)

    def decode(tokens: list[int]) -> float:
        arr = (L.llama_token * len(tokens))(*tokens)
        start = time.perf_counter()
        rc = L.llama_decode(ctx, L.llama_batch_get_one(arr, len(tokens)))
        L.llama_synchronize(ctx)
        elapsed = time.perf_counter() - start
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        return elapsed

    def rand_tokens(n: int) -> list[int]:
        return [rng.randrange(n_vocab) for _ in range(n)]

    if not args.no_warmup:
        decode(rand_tokens(min(32, n_prompt)))
        decode(rand_tokens(1))
        L.llama_memory_clear(mem, True)
    L.llama_perf_context_reset(ctx)

    prefill_s = decode(rand_tokens(n_prompt))
    steps = [decode(rand_tokens(1)) for _ in range(n_gen)]
    perf = L.llama_perf_context(ctx)
    perf_prefill = perf.n_p_eval / (perf.t_p_eval_ms / 1000) if perf.t_p_eval_ms > 0 else None
    perf_decode = perf.n_eval / (perf.t_eval_ms / 1000) if perf.t_eval_ms > 0 else None

    tg0 = []
    if not args.no_tg0:
        L.llama_memory_clear(mem, True)
        tg0 = [decode(rand_tokens(1)) for _ in range(n_gen)]

    desc = ctypes.create_string_buffer(256)
    L.llama_model_desc(model, desc, len(desc))
    out = {
        "engine": "llama.cpp",
        "model": args.model,
        "model_desc": desc.value.decode(errors="replace"),
        "model_bytes": L.llama_model_size(model),
        "model_params": L.llama_model_n_params(model),
        "threads": args.threads,
        "flash_attn": args.flash_attn,
        "prompt_tokens": n_prompt,
        "decode_steps": n_gen,
        "load_seconds": load_s,
        "prefill_seconds": prefill_s,
        "prefill_tokens_per_second": n_prompt / prefill_s,
        "decode_step_seconds": steps,
        # 1 / median step, as mimo-audio's bench lm reports decode
        "decode_tokens_per_second": 1 / statistics.median(steps),
        # total tokens / total time, as llama-bench reports tg
        "decode_tokens_per_second_mean": len(steps) / sum(steps),
        "perf_prefill_tokens_per_second": perf_prefill,
        "perf_decode_tokens_per_second": perf_decode,
        "perf_n_p_eval": perf.n_p_eval,
        "perf_n_eval": perf.n_eval,
        "tg0_step_seconds": tg0,
        "tg0_tokens_per_second_mean": (len(tg0) / sum(tg0)) if tg0 else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "llama_cpp_python": getattr(L, "__version__", None),
    }
    print(json.dumps(out), flush=True)
    L.llama_free(ctx)
    L.llama_model_free(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
