#!/usr/bin/env python3
"""A local stand-in for the Hugging Face Hub's download API, for tests (standard library only).

    python3 hub_standin.py --repo ORG/NAME=DIR [--repo ...] [--gated ORG/NAME] [--token TOKEN]
                           [--port 0] [--cdn-port 0] [--tree-page-size 1000]

Two HTTP/1.1 servers on 127.0.0.1: the hub and a "CDN" that serves LFS content (a different origin,
as cdn-lfs.hf.co is for huggingface.co). Once both listen, one line goes to stdout:

    hub=http://127.0.0.1:PORT cdn=http://127.0.0.1:PORT

and the process runs until SIGTERM or SIGINT.

Each repo is a directory: its files (recursively) are the repo at a single commit, reachable as
revision `main` or as the commit's sha. Files named *.safetensors or larger than 1 MiB are LFS files.
What is served mirrors the real hub as huggingface_hub and the hub itself show it:

  GET  /api/models/ORG/NAME[/revision/REV][?blobs=true][&expand=...]   model info (siblings, sha, gated)
  GET  /api/models/ORG/NAME/tree/REV[/PATH]?recursive=true             tree listing, cursor-paginated via Link
  HEAD|GET /ORG/NAME/resolve/REV/PATH
        LFS file            302 to the CDN (signed URL), X-Linked-Etag = sha256, X-Linked-Size, X-Repo-Commit
        other file          307 to /api/resolve-cache/models/ORG/NAME/COMMIT/PATH (relative Location, no
                            metadata on the 307 itself), as the hub does for public repos; served directly
                            (200) for gated repos and empty files, as the hub does
  HEAD|GET /api/resolve-cache/models/ORG/NAME/COMMIT/PATH     the file: ETag = git blob sha1, X-Repo-Commit,
                            Range; gzip + chunked (weak ETag) when the GET accepts gzip, as the hub does
  CDN  HEAD|GET /blobs/SHA256?...&Expires=&Signature=        LFS content, Range; 400 if the request carries an
                            Authorization header (S3 rejects a second auth mechanism), 403 if unsigned/expired

Errors carry X-Error-Code / X-Error-Message as the hub's do: RepoNotFound (404), RevisionNotFound (404),
EntryNotFound (404), GatedRepo (401 without a token, 403 with another token than --token). As on the
real hub, a gated repo's metadata (model info, tree) is public; only its file content is gated.

Control, on the hub port (never logged): GET /_standin/log, POST /_standin/reset, POST /_standin/fault
with {"drop": {"path", "after_bytes", "times"=1}}, {"corrupt": {"path"}}, {"status": {"code", "times"=1}};
drop and corrupt take an optional "repo". See README.md beside this file.
"""

import argparse
import base64
import email.utils
import gzip
import hashlib
import hmac
import http.server
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse

LFS_MIN_SIZE = 1024 * 1024
# One fixed date for every repo: the commit sha must not depend on file mtimes.
COMMIT_TIMESTAMP = 1735689600
COMMIT_DATE = "2025-01-01T00:00:00.000Z"
CHUNK = 256 * 1024
SIGNED_URL_LIFETIME = 3600


def git_object_sha1(kind: bytes, body: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind, len(body)) + body).hexdigest()


def http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


class RepoFile:
    """One file of a repo, hashed once at start-up."""

    def __init__(self, repo_id: str, path: str, abs_path: str):
        self.repo_id = repo_id
        self.path = path
        self.abs_path = abs_path
        self.size = os.path.getsize(abs_path)
        self.mtime = os.path.getmtime(abs_path)
        self.is_lfs = path.endswith(".safetensors") or self.size > LFS_MIN_SIZE
        if self.is_lfs:
            sha256, md5 = hashlib.sha256(), hashlib.md5()
            with open(abs_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    sha256.update(chunk)
                    md5.update(chunk)
            self.sha256 = sha256.hexdigest()
            # S3 and CloudFront answer with an ETag of their own, not the sha256: clients must take the
            # blob name from X-Linked-Etag on the hub's redirect, never from the CDN.
            self.cdn_etag = md5.hexdigest()
            # In git an LFS file is its pointer: the blob id (tree "oid", model info "blobId") hashes that.
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n"
            self.pointer_size = len(pointer)
            self.blob_id = git_object_sha1(b"blob", pointer.encode())
        else:
            with open(abs_path, "rb") as f:
                self.blob_id = git_object_sha1(b"blob", f.read())
            self.sha256 = None

    def tree_entry(self) -> dict:
        entry = {"type": "file", "oid": self.blob_id, "size": self.size, "path": self.path}
        if self.is_lfs:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": self.pointer_size}
        return entry

    def sibling(self, with_blobs: bool) -> dict:
        sibling = {"rfilename": self.path}
        if with_blobs:
            sibling.update(blobId=self.blob_id, size=self.size)
            if self.is_lfs:
                sibling["lfs"] = {"sha256": self.sha256, "size": self.size, "pointerSize": self.pointer_size}
        return sibling


class Repo:
    """A directory served as a model repo at one commit, with git's own tree and commit ids."""

    def __init__(self, repo_id: str, root: str, gated: bool):
        self.repo_id = repo_id
        self.gated = gated
        self.files: dict[str, RepoFile] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                abs_path = os.path.join(dirpath, name)
                path = os.path.relpath(abs_path, root).replace(os.sep, "/")
                self.files[path] = RepoFile(repo_id, path, abs_path)
        if not self.files:
            raise SystemExit(f"hub_standin: repo {repo_id}: no files under {root}")
        self.dirs = sorted({p.rsplit("/", i)[0] for p in self.files for i in range(1, p.count("/") + 1)})
        self.dir_oids: dict[str, str] = {}
        root_tree = self._tree_oid("")
        commit = (
            f"tree {root_tree}\n"
            f"author Hub Stand-in <standin@localhost> {COMMIT_TIMESTAMP} +0000\n"
            f"committer Hub Stand-in <standin@localhost> {COMMIT_TIMESTAMP} +0000\n\n"
            f"Snapshot of {repo_id}\n"
        )
        self.commit = git_object_sha1(b"commit", commit.encode())

    def _tree_oid(self, directory: str) -> str:
        prefix = directory + "/" if directory else ""
        entries = []
        for path, f in self.files.items():
            if path.startswith(prefix) and "/" not in path[len(prefix) :]:
                name = path[len(prefix) :]
                entries.append((name, b"100644 %s\0" % name.encode() + bytes.fromhex(f.blob_id)))
        for d in self.dirs:
            if d.startswith(prefix) and "/" not in d[len(prefix) :]:
                name = d[len(prefix) :]
                oid = self.dir_oids[d] = self._tree_oid(d)
                # git orders a directory as if its name ended with "/".
                entries.append((name + "/", b"40000 %s\0" % name.encode() + bytes.fromhex(oid)))
        return git_object_sha1(b"tree", b"".join(e for _, e in sorted(entries)))

    def resolves(self, revision: str) -> bool:
        return revision in ("main", self.commit)

    def info(self, with_blobs: bool) -> dict:
        return {
            "_id": hashlib.sha1(self.repo_id.encode()).hexdigest()[:24],
            "id": self.repo_id,
            "modelId": self.repo_id,
            "author": self.repo_id.split("/")[0],
            "sha": self.commit,
            "lastModified": COMMIT_DATE,
            "createdAt": COMMIT_DATE,
            "private": False,
            "gated": "manual" if self.gated else False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": [f.sibling(with_blobs) for f in self.files.values()],
            "spaces": [],
            "usedStorage": sum(f.size for f in self.files.values()),
        }

    def tree(self, directory: str, recursive: bool) -> list[dict] | None:
        """Entries under `directory` ("" = root), folders included; None if it is no folder."""
        if directory and directory not in self.dir_oids:
            return None
        prefix = directory + "/" if directory else ""

        def wanted(path: str) -> bool:
            return path.startswith(prefix) and (recursive or "/" not in path[len(prefix) :])

        entries = [f.tree_entry() for p, f in self.files.items() if wanted(p)]
        entries += [{"type": "directory", "oid": self.dir_oids[d], "size": 0, "path": d} for d in self.dirs if wanted(d)]
        return sorted(entries, key=lambda e: e["path"])


class State:
    """What both servers share: the repos, the request log and the injected faults."""

    def __init__(self, repos: dict[str, Repo], token: str | None, tree_page_size: int):
        self.repos = repos
        self.token = token
        self.tree_page_size = tree_page_size
        self.hub_base = self.cdn_base = ""
        self.sign_key = secrets.token_bytes(32)
        self.blobs: dict[str, list[RepoFile]] = {}
        for repo in repos.values():
            for f in repo.files.values():
                if f.is_lfs:
                    self.blobs.setdefault(f.sha256, []).append(f)
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.drops: list[dict] = []
            self.corrupts: list[dict] = []
            self.status_fault: dict | None = None

    def record(self, entry: dict) -> dict:
        with self.lock:
            self.log.append(entry)
        return entry

    def add_faults(self, spec: dict) -> None:
        if not isinstance(spec, dict) or not spec or set(spec) - {"drop", "corrupt", "status"}:
            raise ValueError('expected an object with any of "drop", "corrupt", "status"')
        with self.lock:
            if "drop" in spec:
                d = spec["drop"]
                self.drops.append(
                    {"path": str(d["path"]), "repo": d.get("repo"), "after_bytes": int(d["after_bytes"]),
                     "times": int(d.get("times", 1))}
                )
            if "corrupt" in spec:
                c = spec["corrupt"]
                self.corrupts.append({"path": str(c["path"]), "repo": c.get("repo")})
            if "status" in spec:
                s = spec["status"]
                self.status_fault = {"code": int(s["code"]), "times": int(s.get("times", 1))}

    @staticmethod
    def _matches(fault: dict, files: list[RepoFile]) -> bool:
        return any(f.path == fault["path"] and fault["repo"] in (None, f.repo_id) for f in files)

    def take_drop(self, files: list[RepoFile]) -> int | None:
        """Bytes to send before cutting the connection, if a drop fault applies to this GET."""
        with self.lock:
            for d in self.drops:
                if d["times"] > 0 and self._matches(d, files):
                    d["times"] -= 1
                    return d["after_bytes"]
        return None

    def is_corrupt(self, files: list[RepoFile]) -> bool:
        with self.lock:
            return any(self._matches(c, files) for c in self.corrupts)

    def take_status(self) -> int | None:
        with self.lock:
            if self.status_fault and self.status_fault["times"] > 0:
                self.status_fault["times"] -= 1
                return self.status_fault["code"]
        return None

    def sign(self, path: str, expires: int) -> str:
        return hmac.new(self.sign_key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def corrupted(chunk: bytes, offset: int, size: int) -> bytes:
    """The chunk at `offset` of a `size`-byte file, with the file's middle and last bytes inverted."""
    flips = [p - offset for p in {size // 2, size - 1} if offset <= p < offset + len(chunk)]
    if not flips:
        return chunk
    data = bytearray(chunk)
    for i in flips:
        data[i] ^= 0xFF
    return bytes(data)


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) byte of a single `bytes=` range, "unsatisfiable", or None to serve the whole file."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].strip().partition("-")
    try:
        if not first:  # suffix range: the last N bytes
            n = int(last)
            return (max(size - n, 0), size - 1) if n > 0 and size > 0 else "unsatisfiable"
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if end < start:  # malformed: ignored, as RFC 9110 says
        return None
    return (start, min(end, size - 1)) if start < size else "unsatisfiable"


class Handler(http.server.BaseHTTPRequestHandler):
    """Shared plumbing: HTTP/1.1 keep-alive, logging, error isolation, content streaming."""

    protocol_version = "HTTP/1.1"
    server_name_label = ""
    # Close idle keep-alive connections eventually, as real front ends do.
    timeout = 120

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # stdout carries the one address line; stay quiet
        pass

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self) -> None:
        self.entry: dict | None = None
        self.is_head = self.command == "HEAD"
        self.started = False
        try:
            # Read any request body so the next request on this connection starts where it should.
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(length) if length else b""
            self.url = urllib.parse.urlsplit(self.path)
            self.query = urllib.parse.parse_qs(self.url.query, keep_blank_values=True)
            # Split before unquoting: huggingface_hub sends a revision or tree path with "/" as %2F.
            self.segments = [urllib.parse.unquote(s) for s in self.url.path.split("/")[1:]]
            if self.url.path.startswith("/_standin/") and self.server_name_label == "hub":
                self.control()
                return
            self.entry = self.state.record({
                "server": self.server_name_label,
                "method": self.command,
                "path": self.path,
                "range": self.headers.get("Range"),
                "authorization": self.headers.get("Authorization") is not None,
                "status": None,
            })
            self.route()
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away; nothing to answer
        except Exception as e:  # one bad request must never take the server down
            self.close_connection = True
            if not self.started:  # past the headers, closing is all that can be done
                try:
                    self.send_json(500, {"error": f"stand-in internal error: {type(e).__name__}: {e}"})
                except Exception:
                    pass

    def send(self, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        """A whole response with a body that is not streamed (HEAD gets the headers only)."""
        self.start(status, headers + [("Content-Length", str(len(body)))])
        if not self.is_head:
            self.wfile.write(body)

    def start(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.started = True
        if self.entry is not None:
            self.entry["status"] = status
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def send_json(self, status: int, obj, headers: list[tuple[str, str]] = ()) -> None:
        body = json.dumps(obj).encode()
        self.send(status, [("Content-Type", "application/json; charset=utf-8"), *headers], body)

    def stream_file(self, f: RepoFile, headers: list[tuple[str, str]], may_gzip: bool, fault_files: list[RepoFile]) -> None:
        """Serve a file's content (Range, gzip, and the drop/corrupt faults) after `headers`."""
        corrupt = self.state.is_corrupt(fault_files)
        size = f.size
        accepts_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "").lower()
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "unsatisfiable":
            self.send(416, headers + [("Content-Range", f"bytes */{size}")])
            return
        drop = None if self.is_head else self.state.take_drop(fault_files)

        if may_gzip and accepts_gzip and rng is None and not self.is_head:
            with open(f.abs_path, "rb") as fh:
                content = fh.read()
            payload = gzip.compress(corrupted(content, 0, size) if corrupt else content, mtime=0)
            # The hub compresses text files on the fly: chunked, no Content-Length, weak ETag.
            headers = [(k, f"W/{v}" if k == "ETag" else v) for k, v in headers]
            self.start(200, headers + [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")])
            if drop is not None:
                self.wfile.write(b"%x\r\n%s" % (len(payload[:drop]), payload[:drop]))
                self.cut()
                return
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
            return

        start, end = rng if rng else (0, size - 1)
        length = end - start + 1 if size else 0
        if rng:
            status, headers = 206, headers + [("Content-Range", f"bytes {start}-{end}/{size}")]
        else:
            status = 200
        self.start(status, headers + [("Content-Length", str(length))])
        if self.is_head:
            return
        budget = length if drop is None else min(drop, length)
        with open(f.abs_path, "rb") as fh:
            fh.seek(start)
            offset, sent = start, 0
            while sent < budget:
                chunk = fh.read(min(CHUNK, budget - sent))
                if not chunk:
                    break
                self.wfile.write(corrupted(chunk, offset, size) if corrupt else chunk)
                offset += len(chunk)
                sent += len(chunk)
        if drop is not None and drop < length:
            self.cut()

    def cut(self) -> None:
        """End a truncated body: flush what was sent, then close, so the client sees a short read."""
        self.wfile.flush()
        self.close_connection = True
        if self.entry is not None:
            self.entry["dropped"] = True


class HubHandler(Handler):
    server_name_label = "hub"

    def control(self) -> None:
        name = self.url.path[len("/_standin/") :]
        if name == "log" and self.command == "GET":
            with self.state.lock:
                log = [dict(e) for e in self.state.log]
            self.send_json(200, log)
        elif name == "reset" and self.command == "POST":
            self.state.reset()
            self.send_json(200, {"ok": True})
        elif name == "fault" and self.command == "POST":
            try:
                self.state.add_faults(json.loads(self.body or b"null"))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                self.send_json(400, {"error": f"bad fault: {e}"})
                return
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, {"error": f"no control endpoint {self.command} {self.url.path}"})

    def hub_error(self, status: int, code: str | None, message: str, headers=(), as_json=True) -> None:
        headers = list(headers) + [("X-Error-Message", message)]
        if code:
            headers.append(("X-Error-Code", code))
        if as_json:
            self.send_json(status, {"error": message}, headers)
        else:
            self.send(status, headers + [("Content-Type", "text/plain; charset=utf-8")], message.encode())

    def route(self) -> None:
        fault = self.state.take_status()
        if fault is not None:
            # The hub's own wording for its 5xx answers.
            message = "Internal Error - We're working hard to fix this as soon as possible!" if fault >= 500 else (
                f"Injected status {fault}"
            )
            self.send_json(fault, {"error": message})
            return
        if self.command not in ("GET", "HEAD"):
            self.send_json(405, {"error": "Method not allowed"})
            return
        s = self.segments
        if s[:2] == ["api", "models"] and len(s) >= 4:
            repo = self.repo(f"{s[2]}/{s[3]}")
            rest = s[4:]
            if repo is None:
                return
            if not rest or rest == [""]:
                self.model_info(repo, "main")
            elif rest[0] == "revision" and len(rest) == 2:
                self.model_info(repo, rest[1])
            elif rest[0] == "tree" and len(rest) >= 2:
                self.tree(repo, rest[1], "/".join(rest[2:]).strip("/"))
            else:
                self.send_json(404, {"error": "Not Found"})
        elif s[:3] == ["api", "resolve-cache", "models"] and len(s) >= 7:
            repo = self.repo(f"{s[3]}/{s[4]}")
            if repo is not None and self.allowed(repo) and self.revision_ok(repo, s[5]):
                self.serve_file(repo, "/".join(s[6:]))
        elif len(s) >= 5 and s[2] == "resolve":
            repo = self.repo(f"{s[0]}/{s[1]}")
            if repo is not None and self.allowed(repo) and self.revision_ok(repo, s[3]):
                self.resolve(repo, "/".join(s[4:]))
        else:
            self.send_json(404, {"error": "Not Found"})

    def repo(self, repo_id: str) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self.hub_error(404, "RepoNotFound", "Repository not found")
        return repo

    def allowed(self, repo: Repo) -> bool:
        """Gate file content: no token → 401, a token without access → 403, both GatedRepo."""
        if not repo.gated:
            return True
        auth = self.headers.get("Authorization")
        if auth is not None and self.state.token is not None and auth == f"Bearer {self.state.token}":
            return True
        if auth is None:
            self.hub_error(401, "GatedRepo", f"Access to model {repo.repo_id} is restricted. You must have access "
                           "to it and be authenticated to access it. Please log in.")
        else:
            self.hub_error(403, "GatedRepo", f"Access to model {repo.repo_id} is restricted and you are not in "
                           f"the authorized list. Visit {self.state.hub_base}/{repo.repo_id} to ask for access.")
        return False

    def revision_ok(self, repo: Repo, revision: str) -> bool:
        if repo.resolves(revision):
            return True
        self.hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return False

    def model_info(self, repo: Repo, revision: str) -> None:
        if not self.revision_ok(repo, revision):
            return
        info = repo.info(with_blobs=self.query.get("blobs", [""])[0].lower() in ("true", "1"))
        # `expand` (or `expand[]`) narrows the answer to the listed properties, as on the hub.
        expand = self.query.get("expand", []) + self.query.get("expand[]", [])
        if expand:
            info = {k: v for k, v in info.items() if k in expand or k in ("_id", "id")}
        self.send_json(200, info)

    def tree(self, repo: Repo, revision: str, directory: str) -> None:
        if not self.revision_ok(repo, revision):
            return
        recursive = self.query.get("recursive", [""])[0].lower() in ("true", "1")
        entries = repo.tree(directory, recursive)
        if entries is None:
            self.hub_error(404, "EntryNotFound", f"{directory} does not exist on \"{revision}\"")
            return
        # Cursor pagination with a Link header, like the hub (1000 entries a page there).
        cursor = self.query.get("cursor", [""])[0]
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        except ValueError:
            self.send_json(400, {"error": "Invalid cursor"})
            return
        end = start + self.state.tree_page_size
        headers = []
        if end < len(entries):
            query = {k: v for k, v in self.query.items() if k != "cursor"}
            query["cursor"] = [base64.urlsafe_b64encode(str(end).encode()).decode()]
            next_url = f"{self.state.hub_base}{self.url.path}?{urllib.parse.urlencode(query, doseq=True)}"
            headers.append(("Link", f'<{next_url}>; rel="next"'))
        self.send_json(200, entries[start:end], headers)

    def resolve(self, repo: Repo, path: str) -> None:
        f = repo.files.get(path)
        common = [("X-Repo-Commit", repo.commit), ("Accept-Ranges", "bytes"), ("Vary", "Origin, Accept-Encoding")]
        if f is None:
            self.hub_error(404, "EntryNotFound", "Entry not found", headers=common[:1], as_json=False)
        elif f.is_lfs:
            expires = int(time.time()) + SIGNED_URL_LIFETIME
            blob_path = f"/blobs/{f.sha256}"
            name = path.rsplit("/", 1)[-1]
            disposition = f"inline; filename*=UTF-8''{urllib.parse.quote(name)}; filename=\"{name}\";"
            query = urllib.parse.urlencode({
                "response-content-disposition": disposition,
                "Expires": expires,
                "Signature": self.state.sign(blob_path, expires),
                "Key-Pair-Id": "STANDIN",
            })
            location = f"{self.state.cdn_base}{blob_path}?{query}"
            self.send(302, common + [
                ("Location", location),
                ("X-Linked-Etag", f'"{f.sha256}"'),
                ("X-Linked-Size", str(f.size)),
                ("ETag", f'"{f.blob_id}"'),
                ("Content-Type", "text/plain; charset=utf-8"),
            ], f"Found. Redirecting to {location}".encode())
        elif not repo.gated and f.size > 0:
            # Public non-LFS files are redirected to a commit-pinned, cacheable URL on the same host.
            original = urllib.parse.quote(urllib.parse.unquote(self.url.path), safe="")
            location = (
                f"/api/resolve-cache/models/{repo.repo_id}/{repo.commit}/{urllib.parse.quote(path)}"
                f"?{original}=&etag=%22{f.blob_id}%22"
            )
            self.send(307, [("Location", location), ("Vary", "Origin, Accept-Encoding"),
                            ("Content-Type", "text/plain; charset=utf-8")],
                      f"Temporary Redirect. Redirecting to {location}".encode())
        else:
            self.serve_file(repo, path)

    def serve_file(self, repo: Repo, path: str) -> None:
        f = repo.files.get(path)
        common = [("X-Repo-Commit", repo.commit), ("Accept-Ranges", "bytes"), ("Vary", "Origin, Accept-Encoding")]
        if f is None:
            self.hub_error(404, "EntryNotFound", "Entry not found", headers=common[:1], as_json=False)
            return
        if f.is_lfs:  # the hub never serves LFS content itself
            self.resolve(repo, path)
            return
        name = path.rsplit("/", 1)[-1]
        self.stream_file(f, common + [
            ("ETag", f'"{f.blob_id}"'),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Disposition", f"inline; filename*=UTF-8''{urllib.parse.quote(name)}; filename=\"{name}\";"),
            ("Last-Modified", http_date(COMMIT_TIMESTAMP)),
        ], may_gzip=True, fault_files=[f])


class CdnHandler(Handler):
    server_name_label = "cdn"

    def s3_error(self, status: int, code: str, message: str) -> None:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error>").encode()
        self.send(status, [("Content-Type", "application/xml")], body)

    def route(self) -> None:
        if self.headers.get("Authorization") is not None:
            # What S3 answers to a signed URL that also carries an Authorization header. Credentials must
            # never leave the hub: a client that forwards its token across hosts fails here.
            self.s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                          "parameter, Signature query string parameter or the Authorization header should be "
                          "specified (credentials must not be sent to the CDN)")
            return
        if self.command not in ("GET", "HEAD"):
            self.s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
            return
        s = self.segments
        files = self.state.blobs.get(s[1]) if len(s) == 2 and s[0] == "blobs" else None
        if not files:
            self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return
        try:
            expires = int(self.query.get("Expires", [""])[0])
        except ValueError:
            expires = 0
        signature = self.query.get("Signature", [""])[0]
        if not hmac.compare_digest(signature, self.state.sign(self.url.path, expires)) or expires < time.time():
            self.s3_error(403, "AccessDenied", "Access denied: the URL is not signed by the hub, or has expired")
            return
        f = files[0]
        headers = [
            ("Content-Type", "binary/octet-stream"),
            ("ETag", f'"{f.cdn_etag}"'),
            ("Accept-Ranges", "bytes"),
            ("Last-Modified", http_date(COMMIT_TIMESTAMP)),
        ]
        disposition = self.query.get("response-content-disposition", [""])[0]
        if disposition:
            headers.append(("Content-Disposition", disposition))
        self.stream_file(f, headers, may_gzip=False, fault_files=files)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, port: int, handler, state: State):
        super().__init__(("127.0.0.1", port), handler)
        self.state = state

    def handle_error(self, request, client_address):
        # A client that disconnects mid-response is routine here (drop faults, cancelled downloads).
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, socket.timeout)):
            super().handle_error(request, client_address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", action="append", required=True, metavar="ORG/NAME=DIR",
                        help="serve DIR as model repo ORG/NAME (repeatable)")
    parser.add_argument("--gated", action="append", default=[], metavar="ORG/NAME",
                        help="make that repo's file content require --token")
    parser.add_argument("--token", help="the one token with access to gated repos")
    parser.add_argument("--port", type=int, default=0, help="hub port (0: any free port)")
    parser.add_argument("--cdn-port", type=int, default=0, help="CDN port (0: any free port)")
    parser.add_argument("--tree-page-size", type=int, default=1000,
                        help="entries per page of the tree listing (the hub uses 1000)")
    args = parser.parse_args()

    directories = {}
    for spec in args.repo:
        repo_id, sep, directory = spec.partition("=")
        if not sep or repo_id.count("/") != 1 or not os.path.isdir(directory):
            parser.error(f"--repo {spec!r}: expected ORG/NAME=DIR with an existing DIR")
        directories[repo_id] = directory
    for repo_id in args.gated:
        if repo_id not in directories:
            parser.error(f"--gated {repo_id}: not one of the --repo repos")
    repos = {rid: Repo(rid, d, gated=rid in args.gated) for rid, d in directories.items()}
    state = State(repos, args.token, args.tree_page_size)

    hub = Server(args.port, HubHandler, state)
    cdn = Server(args.cdn_port, CdnHandler, state)
    state.hub_base = f"http://127.0.0.1:{hub.server_address[1]}"
    state.cdn_base = f"http://127.0.0.1:{cdn.server_address[1]}"
    for server in (hub, cdn):
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"hub={state.hub_base} cdn={state.cdn_base}", flush=True)
    stop.wait()
    for server in (hub, cdn):
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
