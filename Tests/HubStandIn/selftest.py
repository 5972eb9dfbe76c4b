#!/usr/bin/env python3
"""Proves hub_standin.py faithful: the real huggingface_hub downloads from it as it would from the hub.

    python3 selftest.py        (needs `pip install huggingface_hub`; about 20 s; exits 0 when all pass)

Builds temporary fixture repos, starts the stand-in, runs hf_client.py (the real snapshot_download and
scan_cache_dir) against it and checks the results, the cache layout and the stand-in's request log.
Prints one line per check and cleans up after itself.
"""

import hashlib
import http.client
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "hf_standin_selftest_token"
TINY, GATED, LARGE = "standin/tiny", "standin/gated", "standin/large"
# huggingface_hub reads a download in 10 MiB pieces (DOWNLOAD_CHUNK_SIZE) and can only resume from a
# piece boundary, so a resume with Range needs a file larger than that.
LARGE_SIZE = 12 * 1024 * 1024


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def make_fixtures(root: str) -> dict[str, dict[str, bytes]]:
    """repo id → {path: content}, written under root/<name>."""
    rng = random.Random(1234)
    repos = {
        TINY: {
            "config.json": json.dumps({"model_type": "mimo_audio", "hidden_size": 64}, indent=2).encode(),
            "tokenizer.json": json.dumps({"version": "1.0", "model": {"vocab": {f"t{i}": i for i in range(500)}}}).encode(),
            "model.safetensors": rng.randbytes(2 * 1024 * 1024 + 17),
            "audio_tokenizer/config.json": b'{"sampling_rate": 24000}\n',
        },
        GATED: {"config.json": b'{"gated": true}\n', "model.safetensors": rng.randbytes(64 * 1024)},
        LARGE: {"weights.safetensors": rng.randbytes(LARGE_SIZE)},
    }
    for repo_id, files in repos.items():
        for path, content in files.items():
            full = os.path.join(root, repo_id.split("/")[1], path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(content)
    return repos


class StandIn:
    def __init__(self, tmp: str, repos_root: str, repos: dict):
        self.stderr = open(os.path.join(tmp, "standin.stderr"), "w+")
        args = [sys.executable, os.path.join(HERE, "hub_standin.py"), "--gated", GATED, "--token", TOKEN]
        for repo_id in repos:
            args += ["--repo", f"{repo_id}={os.path.join(repos_root, repo_id.split('/')[1])}"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        fields = dict(part.split("=", 1) for part in line.split())
        if set(fields) != {"hub", "cdn"}:
            self.stderr.seek(0)
            raise RuntimeError(f"stand-in did not announce itself (got {line!r}); stderr: {self.stderr.read()}")
        self.hub, self.cdn = fields["hub"], fields["cdn"]
        self.seen: list[dict] = []  # every request logged, across resets

    def control(self, name: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{self.hub}/_standin/{name}", data=data), timeout=10) as r:
            return json.load(r)

    def log(self) -> list[dict]:
        entries = self.control("log")
        self.seen += entries
        return entries

    def reset(self) -> None:
        self.log()  # keep what was seen for the final CDN check
        self.control("reset", {})

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def hf(*args: str) -> tuple[dict | None, str]:
    """Run hf_client.py: (its JSON, or None on failure; its stderr)."""
    p = subprocess.run([sys.executable, os.path.join(HERE, "hf_client.py"), *args],
                       capture_output=True, text=True, timeout=120)
    return (json.loads(p.stdout) if p.returncode == 0 else None), p.stderr.strip()


def error_class(stderr: str) -> str:
    """The exception class hf_client.py reports on its last stderr paragraph."""
    lines = [line for line in stderr.splitlines() if ": " in line and not line.startswith(" ")]
    return next((line.split(":", 1)[0] for line in lines if line.split(":", 1)[0].endswith("Error")), stderr[:200])


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="hub-standin-selftest-")
    server = None
    passed = failures = 0

    def check(name: str, fn) -> None:
        nonlocal passed, failures
        started = time.monotonic()
        try:
            detail = fn()
            passed += 1
            print(f"ok    {name} ({time.monotonic() - started:.1f}s){': ' + detail if detail else ''}", flush=True)
        except Exception as e:
            failures += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL  {name}: {type(e).__name__}: {e} (selftest.py:{where.lineno})", flush=True)

    try:
        repos_root = os.path.join(tmp, "repos")
        repos = make_fixtures(repos_root)
        server = StandIn(tmp, repos_root, repos)
        # Import the real library in-process only now: it reads HF_ENDPOINT at import.
        sys.path.insert(0, HERE)
        import hf_client

        hf_client.configure(server.hub)
        from huggingface_hub import HfApi

        api = HfApi(token=False)
        cache = os.path.join(tmp, "cache")
        expected = {repo_id: {p: hashlib.sha256(c).hexdigest() for p, c in files.items()} for repo_id, files in repos.items()}
        commit = {repo_id: api.model_info(repo_id).sha for repo_id in repos}
        first_download: list[dict] = []

        def snapshot(repo_id: str, cache_dir: str, *extra: str) -> tuple[dict | None, str]:
            return hf("snapshot", "--endpoint", server.hub, "--repo", repo_id, "--cache", cache_dir, *extra)

        def fresh_cache(name: str) -> str:
            return os.path.join(tmp, "caches", name)

        def cdn_gets(entries: list[dict], sha256: str) -> list[dict]:
            return [e for e in entries if e["server"] == "cdn" and e["method"] == "GET" and sha256 in e["path"]]

        def initial_download():
            server.reset()
            result, err = snapshot(TINY, cache)
            assert result is not None, err
            assert result["files"] == expected[TINY], f"files differ: {result['files']} != {expected[TINY]}"
            assert result["path"].endswith(f"snapshots/{commit[TINY]}"), result["path"]
            first_download.extend(server.log())
            return f"{len(result['files'])} files byte-identical, {len(first_download)} requests"

        def cache_layout():
            storage = os.path.join(cache, "models--standin--tiny")
            with open(os.path.join(storage, "refs", "main")) as f:
                assert f.read() == commit[TINY], "refs/main is not the commit"
            want_blobs = set()
            for path, content in repos[TINY].items():
                etag = hashlib.sha256(content).hexdigest() if path.endswith(".safetensors") else git_blob_sha1(content)
                want_blobs.add(etag)
                link = os.path.join(storage, "snapshots", commit[TINY], *path.split("/"))
                target = os.readlink(link)
                assert not os.path.isabs(target), f"{path}: absolute symlink {target}"
                assert os.path.normpath(os.path.join(os.path.dirname(link), target)) == os.path.join(storage, "blobs", etag), (
                    f"{path} -> {target}, not blobs/{etag}")
            assert set(os.listdir(os.path.join(storage, "blobs"))) == want_blobs, "unexpected blobs"
            assert os.path.isdir(os.path.join(cache, ".locks", "models--standin--tiny")), "no .locks/models--standin--tiny"
            extra = sorted(set(os.listdir(storage)) - {"blobs", "snapshots", "refs"})
            return f"blobs named by git sha1 / sha256, relative symlinks, refs/main; also in the repo folder: {extra}"

        def local_only():
            server.reset()
            result, err = snapshot(TINY, cache, "--local-only")
            assert result is not None, err
            assert result["files"] == expected[TINY] and result["path"].endswith(commit[TINY]), result
            requests = server.log()
            assert not requests, f"local_files_only made requests: {requests}"
            return "same snapshot, no request"

        def scan():
            result, err = hf("scan", "--cache", cache)
            assert result is not None, err
            (repo,) = result["repos"]
            (rev,) = repo["revisions"]
            assert repo["repo_id"] == TINY and repo["repo_type"] == "model", repo
            assert rev["commit_hash"] == commit[TINY] and rev["refs"] == ["main"], rev
            assert rev["files"] == sorted(repos[TINY]), rev["files"]
            assert repo["size_on_disk"] == sum(len(c) for c in repos[TINY].values()), repo
            assert not result["warnings"], result["warnings"]
            return f"{repo['nb_files']} files, {repo['size_on_disk']} bytes, no warnings"

        def checksums():
            # huggingface_hub's own verifier hashes the files against the tree listing's oids and lfs.oid.
            report = api.verify_repo_checksums(TINY, cache_dir=cache)
            assert report.checked_count == len(repos[TINY]), report
            assert not (report.mismatches or report.missing_paths or report.extra_paths), report
            return "verify_repo_checksums: git blob sha1s and LFS sha256s of the tree listing match"

        def gated():
            server.reset()
            target = fresh_cache("gated")
            details = []
            for token, status in ((None, 401), ("hf_not_the_token", 403)):
                result, err = snapshot(GATED, target, *(("--token", token) if token else ()))
                assert result is None and error_class(err) == "GatedRepoError", f"token={token}: {err or result}"
                details.append(f"{status} {'no token' if token is None else 'other token'} → GatedRepoError")
            result, err = snapshot(GATED, target, "--token", TOKEN)
            assert result is not None, err
            assert result["files"] == expected[GATED], result
            log = server.log()
            resolves = [e for e in log if e["server"] == "hub" and "/resolve/" in e["path"]]
            assert {e["status"] for e in resolves if e["authorization"]} >= {200, 302}, resolves
            return "; ".join(details) + "; with the token the files arrive"

        def not_found():
            result, err = snapshot("standin/absent", fresh_cache("absent"))
            assert result is None and error_class(err) == "RepositoryNotFoundError", err
            result, err = snapshot(TINY, fresh_cache("absent"), "--revision", "v9")
            assert result is None and error_class(err) == "RevisionNotFoundError", err
            return "unknown repo → RepositoryNotFoundError, unknown revision → RevisionNotFoundError"

        def drop(repo_id: str, path: str, after: int, expect_range: bool):
            server.reset()
            server.control("fault", {"drop": {"path": path, "after_bytes": after, "times": 1}})
            result, err = snapshot(repo_id, fresh_cache(f"drop-{repo_id.split('/')[1]}"))
            assert result is not None, err
            assert result["files"] == expected[repo_id], "final files differ"
            gets = cdn_gets(server.log(), expected[repo_id][path])
            assert len(gets) == 2 and gets[0].get("dropped"), gets
            retry = gets[1]
            if expect_range:
                start = int(retry["range"].removeprefix("bytes=").removesuffix("-"))
                assert 0 < start <= after and retry["status"] == 206, retry
            how = f"resumed with Range: {retry['range']} → {retry['status']}" if retry["range"] else (
                f"restarted from byte 0 without Range → {retry['status']}")
            return f"cut at {after} of {len(repos[repo_id][path])} bytes; {how}; same signed URL, no new HEAD"

        def corrupt():
            server.reset()
            server.control("fault", {"corrupt": {"path": "model.safetensors"}})
            target = fresh_cache("corrupt")
            result, err = snapshot(TINY, target)
            if result is None:
                return f"huggingface_hub rejected the corrupt download: {err.splitlines()[0]}"
            got = result["files"]["model.safetensors"]
            assert got != expected[TINY]["model.safetensors"], "the corrupt fault served intact bytes"
            blob = os.path.join(target, "models--standin--tiny", "blobs", expected[TINY]["model.safetensors"])
            assert os.path.getsize(blob) == len(repos[TINY]["model.safetensors"]), "corrupt fault changed the length"
            report = api.verify_repo_checksums(TINY, cache_dir=target)
            assert [m["path"] for m in report.mismatches] == ["model.safetensors"], report
            return ("huggingface_hub does NOT verify sha256: it stored the flipped bytes as blobs/<sha256> "
                    "(same length); only verify_repo_checksums reports the mismatch")

        def hub_down():
            server.reset()
            server.control("fault", {"status": {"code": 500, "times": 1}})
            result, err = snapshot(TINY, cache)
            assert result is not None and result["files"] == expected[TINY], err
            log = server.log()
            assert [e["status"] for e in log] == [500], log
            server.control("fault", {"status": {"code": 500, "times": 1}})
            result, err = snapshot(TINY, fresh_cache("down"))
            assert result is None and error_class(err) == "LocalEntryNotFoundError", err
            return "model info 500 → falls back to the cached snapshot; empty cache → LocalEntryNotFoundError"

        def connections():
            # Several responses on one keep-alive connection: each Content-Length must be exact.
            hub = urllib.parse.urlsplit(server.hub)
            conn = http.client.HTTPConnection(hub.hostname, hub.port, timeout=10)
            base = f"/{TINY}/resolve/main"
            location = None
            for method, path, status in (("HEAD", f"{base}/model.safetensors", 302), ("GET", f"{base}/config.json", 307),
                                         ("GET", f"/api/models/{TINY}", 200), ("GET", f"{base}/absent", 404)):
                conn.request(method, path)
                r = conn.getresponse()
                body = r.read()
                assert r.status == status, (method, path, r.status)
                assert method == "HEAD" or len(body) == int(r.headers["Content-Length"]), (path, len(body))
                if status == 302:
                    location = urllib.parse.urlsplit(r.headers["Location"])
            conn.close()
            # A client that hangs up mid-body must not hurt the server.
            cdn = http.client.HTTPConnection(location.hostname, location.port, timeout=10)
            cdn.request("GET", f"{location.path}?{location.query}")
            cdn.getresponse().read(1000)
            cdn.close()
            with urllib.request.urlopen(f"{server.hub}/api/models/{TINY}", timeout=10) as r:
                assert r.status == 200
            return "keep-alive with exact lengths; a client hanging up mid-body is harmless"

        def cdn_never_saw_token():
            server.log()
            cdn = [e for e in server.seen if e["server"] == "cdn"]
            assert cdn and not any(e["authorization"] for e in cdn), "a CDN request carried Authorization"
            assert any(e["authorization"] for e in server.seen if e["server"] == "hub"), "no token ever sent to the hub"
            return f"{len(cdn)} CDN requests, none with Authorization (the token went to the hub only)"

        check("snapshot_download into an empty cache", initial_download)
        check("cache layout", cache_layout)
        check("local_files_only=True", local_only)
        check("scan_cache_dir", scan)
        check("tree listing hashes", checksums)
        check("gated repo", gated)
        check("not found", not_found)
        half = len(repos[TINY]["model.safetensors"]) // 2
        check("drop half-way through the 2 MB LFS file", lambda: drop(TINY, "model.safetensors", half, False))
        check("drop at 11 MiB of a 12 MiB LFS file", lambda: drop(LARGE, "weights.safetensors", 11 * 1024 * 1024, True))
        check("corrupt LFS content", corrupt)
        check("hub answering 500", hub_down)
        check("connections", connections)
        check("CDN never receives the token", cdn_never_saw_token)
        print("request sequence of the first snapshot_download (method status path, Range):")
        for e in first_download:
            print(f"      {e['server']:3} {e['method']:4} {e['status']} {e['path'].split('?')[0]}"
                  f"{'?…' if '?' in e['path'] else ''}{'  Range: ' + e['range'] if e['range'] else ''}")

        def clean_exit():
            code = server.stop()
            server.stderr.seek(0)
            errors = server.stderr.read()
            assert code == 0, f"exit status {code}"
            assert not errors, f"stand-in wrote to stderr:\n{errors}"
            return "exit status 0 on SIGTERM, nothing on stderr"

        check("stand-in shuts down cleanly", clean_exit)
    finally:
        if server is not None and server.proc.poll() is None:
            server.stop()
        if server is not None:
            server.stderr.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
