#!/usr/bin/env python3
"""Peer benchmark: mimo-audio's LM backbone against llama.cpp on the same shape.

For each format group the engines run in turn, one fresh process each and never
two at once (A B A B ...), for --rounds rounds:

  q4 group : mimo-audio `bench lm --format q4`  |  llama.cpp Q4_0  (| llama.cpp Q4_K_M)
  q8 group : mimo-audio `bench lm --format q8`  |  llama.cpp Q8_0

Per measure the table shows each engine's median over the rounds and the ratio
ours / llama.cpp taken within each round (same minutes, same memory bandwidth)
and then medianed. See bench/peer/README.md.

Only the standard library is needed here; llama.cpp runs through
bench/peer/llama_worker.py in the venv made by bench/peer/setup.sh.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shlex
import shutil
import tempfile
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# llama.cpp model files written by make_model.py
LLAMA_MODELS = {
    "Q4_0": "qwen2-mimo-shape-Q4_0.gguf",
    "Q4_0 (output Q6_K)": "qwen2-mimo-shape-Q4_0-outQ6_K.gguf",
    "Q8_0": "qwen2-mimo-shape-Q8_0.gguf",
    "Q4_K_M": "qwen2-mimo-shape-Q4_K_M.gguf",
}
MAKE_TYPE = {"Q4_0": "q4_0", "Q4_0 (output Q6_K)": "q4_0std", "Q8_0": "q8_0", "Q4_K_M": "q4_k_m"}
# rough RAM each process needs (GB), to wait for a busy machine rather than swap-die
OURS_RAM_GB = {"q4": 7.5, "q8": 10.5}


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"run.py: {msg}", file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- machine facts

def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                keep = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                        "avx_vnni", "amx_tile"]
                return " ".join(f for f in keep if f in flags)
    except OSError:
        pass
    return ""


def meminfo_gb(key: str) -> float | None:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def cpu_busy_seconds() -> float | None:
    """User-mode CPU time (all cores, seconds) of the whole machine, from /proc/stat.

    User time only: competing computations show up there, while kernel work caused by the
    measured process itself (page reclaim by kswapd when it allocates, page-cache reads) is
    system time charged partly to kernel threads and would count as "foreign" otherwise."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
        v = [int(x) for x in parts[1:]]
        # user nice system idle iowait irq softirq steal ...
        busy = v[0] + v[1]
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def children_cpu_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime


def foreign_load(seconds: float = 3.0) -> float | None:
    """Average number of cores other processes kept busy (user time) over `seconds` (we run nothing meanwhile)."""
    b0 = cpu_busy_seconds()
    time.sleep(seconds)
    b1 = cpu_busy_seconds()
    if b0 is None or b1 is None:
        return None
    return max(0.0, (b1 - b0) / seconds)


def wait_for_quiet(threshold: float, max_wait_s: float) -> float | None:
    """Wait until other processes use less than `threshold` cores; return the last reading."""
    waited = 0.0
    while True:
        load = foreign_load()
        if load is None or load < threshold or waited >= max_wait_s:
            if load is not None and load >= threshold:
                log(f"warning: other processes still use {load:.2f} cores after waiting {waited:.0f} s; measuring anyway")
            return load
        if waited == 0:
            log(f"waiting for the machine to be quiet: other processes use {load:.2f} cores")
        time.sleep(10)
        waited += 10 + 3


def loadavg() -> float | None:
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except OSError:
        return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_head(path: Path) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           timeout=10)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------- running one sample

def wait_for_memory(need_gb: float, max_wait_s: float) -> None:
    waited = 0.0
    while True:
        avail = meminfo_gb("MemAvailable")
        if avail is None or avail >= need_gb:
            return
        if waited >= max_wait_s:
            raise BenchError(f"only {avail:.1f} GB of RAM available, need ~{need_gb:.1f} GB "
                             f"(waited {waited:.0f} s; is another benchmark running?)")
        if waited == 0:
            log(f"waiting for memory: {avail:.1f} GB available, need ~{need_gb:.1f} GB")
        time.sleep(15)
        waited += 15


def run_process(cmd: list[str], what: str, timeout_s: float, verbose: bool) -> dict:
    log(f"{what}: {' '.join(shlex.quote(c) for c in cmd)}")
    start = time.time()
    busy0, child0 = cpu_busy_seconds(), children_cpu_seconds()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if verbose else subprocess.PIPE, text=True,
                           timeout=timeout_s)
    except FileNotFoundError as e:
        raise BenchError(f"{what}: cannot start {cmd[0]}: {e}")
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what}: timed out after {timeout_s:.0f} s")
    wall = time.time() - start
    busy1, child1 = cpu_busy_seconds(), children_cpu_seconds()
    # cores kept busy by anything other than the measured process, averaged over its run
    foreign = None
    if busy0 is not None and busy1 is not None and wall > 0:
        foreign = max(0.0, ((busy1 - busy0) - (child1 - child0)) / wall)
    if p.returncode != 0:
        tail = "\n".join((p.stderr or "").strip().splitlines()[-25:])
        raise BenchError(f"{what}: exited with status {p.returncode}\n--- last lines of its stderr ---\n{tail}")
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                out = json.loads(line)
                out["process_wall_seconds"] = wall
                out["process_user_cpu_seconds"] = child1 - child0
                out["foreign_cores"] = foreign
                return out
            except json.JSONDecodeError:
                break
    raise BenchError(f"{what}: no JSON line on stdout; stdout was:\n{p.stdout[-2000:]}")


def measured(args, what: str, fn) -> dict:
    """Run one sample; redo it (up to --busy-retries times) if other processes took CPU meanwhile."""
    for attempt in range(args.busy_retries + 1):
        quiet = wait_for_quiet(args.busy_threshold, args.wait_quiet)
        s = fn()
        s["foreign_before"] = quiet
        s["foreign_during"] = s["raw"].get("foreign_cores")
        s["attempt"] = attempt + 1
        fd = s["foreign_during"]
        if fd is None or fd < args.busy_threshold:
            return s
        log(f"warning: {what}: other processes used {fd:.2f} cores during the run"
            + (", measuring again" if attempt < args.busy_retries else "; keeping it (flagged)"))
    s["busy"] = True
    return s


def run_ours(args, fmt: str) -> dict:
    wait_for_memory(OURS_RAM_GB.get(fmt, 11), args.wait_memory)
    cmd = [str(args.binary), "bench", "lm", "--format", fmt, "--threads", str(args.threads), "--json",
           "--prompt-tokens", str(args.prompt_tokens), "--decode-steps", str(args.decode_steps),
           "--patches", str(args.patches)]

    def once():
        r = run_process(cmd, f"mimo-audio {fmt}", args.timeout, args.verbose)
        return {"engine": "mimo-audio", "format": fmt, "load_before": loadavg(),
                "prefill": r.get("prefill_tokens_per_second"), "decode": r.get("decode_steps_per_second"), "raw": r}
    return measured(args, f"mimo-audio {fmt}", once)


def run_llama(args, ltype: str) -> dict:
    model = args.models / LLAMA_MODELS[ltype]
    # mapped file (+ for Q4_0 the repacked copy of most weights, CPU_REPACK) + KV cache and buffers
    factor = 2 if ltype.startswith("Q4_0") else 1
    wait_for_memory(factor * model.stat().st_size / 1e9 + 1.0, args.wait_memory)
    cmd = [str(args.python), str(HERE / "llama_worker.py"), "--model", str(model), "--threads", str(args.threads),
           "--prompt-tokens", str(args.prompt_tokens), "--decode-steps", str(args.decode_steps),
           "--flash-attn", args.flash_attn]
    if args.no_tg0:
        cmd.append("--no-tg0")

    def once():
        r = run_process(cmd, f"llama.cpp {ltype}", args.timeout, args.verbose)
        return {"engine": "llama.cpp", "format": ltype, "load_before": loadavg(),
                "prefill": r.get("prefill_tokens_per_second"), "decode": r.get("decode_tokens_per_second"),
                "tg0": r.get("tg0_tokens_per_second_mean"), "raw": r}
    return measured(args, f"llama.cpp {ltype}", once)


# ---------------------------------------------------------------- report

def fmt_num(x, digits=2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_range(xs, digits=2) -> str:
    xs = [x for x in xs if x is not None]
    if len(xs) < 2:
        return ""
    return f" ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def summarise(groups_done: list[dict]) -> list[dict]:
    rows = []
    for g in groups_done:
        ours = g["ours_samples"]
        for ltype, lsamples in g["llama_samples"].items():
            n = min(len(ours), len(lsamples))
            pairs = list(zip(ours[:n], lsamples[:n]))
            pr = [o["prefill"] / l["prefill"] for o, l in pairs if o["prefill"] and l["prefill"]]
            dr = [o["decode"] / l["decode"] for o, l in pairs if o["decode"] and l["decode"]]
            rows.append({
                "ours_format": g["ours_format"], "llama_type": ltype, "rounds": n,
                "ours_prefill": median(o["prefill"] for o in ours[:n]),
                "llama_prefill": median(l["prefill"] for l in lsamples[:n]),
                "prefill_ratio": median(pr), "prefill_ratios": pr,
                "ours_decode": median(o["decode"] for o in ours[:n]),
                "llama_decode": median(l["decode"] for l in lsamples[:n]),
                "decode_ratio": median(dr), "decode_ratios": dr,
                "llama_tg0": median(l.get("tg0") for l in lsamples[:n]),
                "ours_prefill_all": [o["prefill"] for o in ours[:n]],
                "llama_prefill_all": [l["prefill"] for l in lsamples[:n]],
                "ours_decode_all": [o["decode"] for o in ours[:n]],
                "llama_decode_all": [l["decode"] for l in lsamples[:n]],
            })
    return rows


def report(meta: dict, rows: list[dict], samples: list[dict]) -> str:
    out = []
    out.append(f"## Peer benchmark: mimo-audio vs llama.cpp ({meta['date']})")
    out.append("")
    out.append(f"- machine: {meta['cpu_model']}, {meta['cpus']} CPUs ({meta['cpu_flags']}), "
               f"{meta['mem_total_gb']:.0f} GiB RAM; {meta['threads']} threads per engine")
    lv = meta.get("llama_version") or {}
    out.append(f"- llama.cpp: commit {lv.get('llama_cpp_commit') or '?'} (ggml {lv.get('ggml_version') or '?'}) via "
               f"llama-cpp-python {lv.get('llama_cpp_python') or meta.get('llama_cpp_python_runtime') or '?'}, "
               f"built from source with GGML_NATIVE, no BLAS; flash attention {meta['flash_attn']}")
    out.append(f"- mimo-audio: {meta['binary']} (built {meta.get('binary_mtime', '?')}, sha256 {meta['binary_sha256'][:12]}, repo HEAD "
               f"{meta.get('repo_head') or '?'}; run from a private copy)")
    out.append(f"- model: Qwen2 shape of MiMo-Audio-7B's backbone, random weights; prefill = {meta['prompt_tokens']}-token "
               f"prompt from an empty cache; decode = 1 / median of {meta['decode_steps']} single-token steps right after "
               f"that prompt (backbone + lm_head); {meta['rounds']} round(s), engines alternating (A B A B ...), "
               f"medians over rounds, ratio = ours / llama.cpp taken per round then medianed")
    out.append("")
    out.append("| ours | llama.cpp | prefill ours (tok/s) | prefill llama.cpp | prefill ratio | decode ours (tok/s) "
               "| decode llama.cpp | decode ratio | llama.cpp tg from empty cache |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        out.append(f"| {r['ours_format']} | {r['llama_type']} | {fmt_num(r['ours_prefill'], 1)} | "
                   f"{fmt_num(r['llama_prefill'], 1)} | {fmt_num(r['prefill_ratio'])} | {fmt_num(r['ours_decode'])} | "
                   f"{fmt_num(r['llama_decode'])} | {fmt_num(r['decode_ratio'])} | {fmt_num(r['llama_tg0'])} |")
    out.append("")
    out.append("Per round (prefill tok/s, decode tok/s):")
    out.append("")
    out.append("| round | engine | format | prefill | decode | other processes' cores during run | time |")
    out.append("|---|---|---|---|---|---|---|")
    for s in samples:
        flag = " (busy!)" if s.get("busy") else ""
        out.append(f"| {s['round']} | {s['engine']} | {s['format']} | {fmt_num(s['prefill'], 1)} | "
                   f"{fmt_num(s['decode'])} | {fmt_num(s.get('foreign_during'))}{flag} | {s.get('time', '')} |")
    busy = [s for s in samples if s.get("busy")]
    if busy:
        out.append("")
        out.append(f"Warning: {len(busy)} sample(s) ran while other processes kept more than "
                   f"{meta['busy_threshold']} cores busy. With 2 cores, a competing process makes llama.cpp's "
                   "spinning OpenMP barriers collapse (10x or worse), so those figures are not comparable.")
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--formats", default="q4,q8,q4_k_m",
                    help="comma-separated: q4 (ours q4 vs Q4_0), q8 (ours q8 vs Q8_0), q4_k_m (Q4_K_M, paired with "
                         "ours q4) (default: q4,q8,q4_k_m)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--binary", default=str(REPO / ".build" / "release" / "mimo-audio"),
                    help="mimo-audio binary (default: .build/release/mimo-audio in the repo)")
    ap.add_argument("--models", default=str(HERE / "models"), help="GGUF directory (make_model.py --out)")
    ap.add_argument("--venv", default=str(HERE / ".venv"), help="venv made by setup.sh")
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--decode-steps", type=int, default=32)
    ap.add_argument("--patches", type=int, default=1, help="patches for mimo-audio's bench lm (not compared)")
    ap.add_argument("--q4-standard", action="store_true",
                    help="compare ours q4 with Q4_0 as llama-quantize writes it by default (output.weight Q6_K) "
                         "instead of Q4_0 with a Q4_0 lm_head")
    ap.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--no-tg0", action="store_true", help="skip llama.cpp's decode from an empty cache")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    ap.add_argument("--wait-memory", type=float, default=900,
                    help="seconds to wait for enough free RAM before each process (default 900)")
    ap.add_argument("--busy-threshold", type=float, default=0.25,
                    help="cores used by other processes above which a sample counts as disturbed (default 0.25)")
    ap.add_argument("--busy-retries", type=int, default=2, help="times to redo a disturbed sample (default 2)")
    ap.add_argument("--wait-quiet", type=float, default=600,
                    help="seconds to wait for other processes to go idle before each sample (default 600)")
    ap.add_argument("--json", metavar="FILE", help="also write all raw samples and the summary as JSON")
    ap.add_argument("--verbose", action="store_true", help="show the engines' progress / logs on stderr")
    args = ap.parse_args()

    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("q4", "q8", "q4_k_m")]
    if bad or not formats:
        print(f"run.py: unknown --formats entry {bad}; use q4, q8, q4_k_m", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("run.py: --rounds must be >= 1", file=sys.stderr)
        return 2

    args.binary = Path(args.binary).resolve()
    args.models = Path(args.models)
    venv = Path(args.venv)
    args.python = venv / "bin" / "python"

    # ---- preflight: everything needed must be there before spending an hour
    problems = []
    if not args.binary.is_file() or not os.access(args.binary, os.X_OK):
        problems.append(f"mimo-audio binary not found at {args.binary} (build it with `make build` / "
                        "`swift build -c release`, or pass --binary)")
    if not args.python.is_file():
        problems.append(f"no venv at {venv} (run `bash bench/peer/setup.sh`)")
    else:
        chk = subprocess.run([str(args.python), "-c", "import llama_cpp"], capture_output=True, text=True)
        if chk.returncode != 0:
            problems.append(f"llama_cpp does not import in {venv} (run `bash bench/peer/setup.sh`): "
                            f"{chk.stderr.strip().splitlines()[-1] if chk.stderr.strip() else ''}")
    groups = []
    q4_type = "Q4_0 (output Q6_K)" if args.q4_standard else "Q4_0"
    if "q4" in formats or "q4_k_m" in formats:
        ltypes = ([q4_type] if "q4" in formats else []) + (["Q4_K_M"] if "q4_k_m" in formats else [])
        groups.append({"ours_format": "q4", "llama_types": ltypes})
    if "q8" in formats:
        groups.append({"ours_format": "q8", "llama_types": ["Q8_0"]})
    missing = [t for g in groups for t in g["llama_types"] if not (args.models / LLAMA_MODELS[t]).is_file()]
    if missing:
        types = ",".join(MAKE_TYPE[t] for t in missing)
        problems.append(f"missing GGUF model(s) {', '.join(missing)} in {args.models} (run "
                        f"`bench/peer/.venv/bin/python bench/peer/make_model.py --types {types}`)")
    if problems:
        for p in problems:
            print(f"run.py: {p}", file=sys.stderr)
        return 1

    llama_version = None
    vfile = HERE / ".llama-version"
    if vfile.is_file():
        try:
            llama_version = json.loads(vfile.read_text())
        except json.JSONDecodeError:
            pass
    meta = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu_model": cpu_model(), "cpu_flags": cpu_flags(), "cpus": os.cpu_count(),
        "mem_total_gb": meminfo_gb("MemTotal") or 0.0, "kernel": platform.release(),
        "threads": args.threads, "rounds": args.rounds, "prompt_tokens": args.prompt_tokens,
        "decode_steps": args.decode_steps, "flash_attn": args.flash_attn, "busy_threshold": args.busy_threshold,
        "binary": str(args.binary), "repo_head": git_head(REPO),
        "llama_version": llama_version,
    }

    # Run a private copy: the binary can be rebuilt under us during an hour-long run, and a
    # mid-run change would silently pair samples of two different builds.
    snapshot_dir = Path(tempfile.mkdtemp(prefix="mimo-peer-bench-"))
    snapshot = snapshot_dir / args.binary.name
    shutil.copy2(args.binary, snapshot)
    meta["binary_sha256"] = file_sha256(snapshot)
    meta["binary_mtime"] = dt.datetime.fromtimestamp(args.binary.stat().st_mtime).astimezone().strftime(
        "%Y-%m-%d %H:%M %Z")
    args.binary = snapshot

    samples: list[dict] = []
    groups_done: list[dict] = []
    failure = None
    try:
        for g in groups:
            gd = {"ours_format": g["ours_format"], "ours_samples": [], "llama_samples": {t: [] for t in g["llama_types"]}}
            groups_done.append(gd)
            for rnd in range(1, args.rounds + 1):
                log(f"group {g['ours_format']}: round {rnd}/{args.rounds}")
                s = run_ours(args, g["ours_format"])
                s["round"], s["time"] = rnd, dt.datetime.now().strftime("%H:%M:%S")
                samples.append(s)
                gd["ours_samples"].append(s)
                log(f"  mimo-audio {g['ours_format']}: prefill {fmt_num(s['prefill'], 1)} tok/s, "
                    f"decode {fmt_num(s['decode'])} tok/s")
                for t in g["llama_types"]:
                    s = run_llama(args, t)
                    s["round"], s["time"] = rnd, dt.datetime.now().strftime("%H:%M:%S")
                    samples.append(s)
                    gd["llama_samples"][t].append(s)
                    meta.setdefault("llama_cpp_python_runtime", s["raw"].get("llama_cpp_python"))
                    log(f"  llama.cpp {t}: prefill {fmt_num(s['prefill'], 1)} tok/s, decode {fmt_num(s['decode'])} "
                        f"tok/s (from empty cache {fmt_num(s.get('tg0'))})")
    except BenchError as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        shutil.rmtree(snapshot_dir, ignore_errors=True)

    rows = summarise(groups_done)
    if samples:
        print(report(meta, rows, samples))
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "summary": rows, "samples": samples,
                                               "error": failure}, indent=1))
        log(f"raw samples written to {args.json}")
    if failure:
        print(f"run.py: FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
