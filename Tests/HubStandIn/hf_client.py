#!/usr/bin/env python3
"""The real huggingface_hub, driven from the command line, for tests that compare against it.

Tested with huggingface_hub 2.4.0 (httpx2 2.17.0), installed with `pip install huggingface_hub`.

    hf_client.py snapshot --endpoint URL --repo ORG/NAME --cache DIR [--revision R] [--token T]
                          [--local-only] [--allow PATTERN ...]
        snapshot_download(...) → {"path": <snapshot dir>, "files": {relpath: sha256 of content}}
    hf_client.py scan --cache DIR
        scan_cache_dir(DIR) → {"repos": [{"repo_id", "repo_type", "size_on_disk", "nb_files",
                               "revisions": [{"commit_hash", "refs", "nb_files", "files"}]}], "warnings": [...]}
        ("files" are paths relative to the snapshot folder, e.g. "sub/x.txt"; scan_cache_dir's own
        file_name is only the base name)

Each prints one JSON object on stdout. On failure it prints `ExceptionClass: message` on stderr and
exits with status 1.
"""

import argparse
import hashlib
import json
import os
import sys


def configure(endpoint: str | None) -> None:
    # huggingface_hub reads its settings once, at import: set them first.
    if endpoint:
        os.environ["HF_ENDPOINT"] = endpoint.rstrip("/")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    # The stand-in never offers Xet; disabling it as well keeps hf_xet (a dependency) out of the path.
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    # Only the --token given may be sent: never a token from the environment or ~/.cache/huggingface.
    os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    os.environ.pop("HF_TOKEN", None)
    os.environ.pop("HF_HUB_OFFLINE", None)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:  # open() follows the snapshot's symlink to the blob
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot(args) -> dict:
    from huggingface_hub import snapshot_download

    path = snapshot_download(
        args.repo,
        revision=args.revision,
        cache_dir=args.cache,
        # False, not None: None would let huggingface_hub look for a stored token.
        token=args.token or False,
        local_files_only=args.local_only,
        allow_patterns=args.allow,
    )
    files = {}
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            full = os.path.join(dirpath, name)
            files[os.path.relpath(full, path).replace(os.sep, "/")] = sha256_of(full)
    return {"path": path, "files": dict(sorted(files.items()))}


def scan(args) -> dict:
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(args.cache)
    return {
        "repos": [
            {
                "repo_id": repo.repo_id,
                "repo_type": repo.repo_type,
                "size_on_disk": repo.size_on_disk,
                "nb_files": repo.nb_files,
                "revisions": [
                    {
                        "commit_hash": rev.commit_hash,
                        "refs": sorted(rev.refs),
                        "nb_files": rev.nb_files,
                        "files": sorted(
                            f.file_path.relative_to(rev.snapshot_path).as_posix() for f in rev.files
                        ),
                    }
                    for rev in sorted(repo.revisions, key=lambda r: r.commit_hash)
                ],
            }
            for repo in sorted(info.repos, key=lambda r: (r.repo_type, r.repo_id))
        ],
        "warnings": [str(w) for w in info.warnings],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Run huggingface_hub's snapshot_download or scan_cache_dir.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("snapshot", help="snapshot_download a repo into a cache")
    p.add_argument("--endpoint", required=True, help="hub URL (HF_ENDPOINT)")
    p.add_argument("--repo", required=True, help="ORG/NAME")
    p.add_argument("--cache", required=True, help="cache_dir")
    p.add_argument("--revision")
    p.add_argument("--token")
    p.add_argument("--local-only", action="store_true", help="local_files_only=True")
    p.add_argument("--allow", nargs="+", action="extend", metavar="PATTERN", help="allow_patterns")
    p = commands.add_parser("scan", help="scan_cache_dir a cache")
    p.add_argument("--cache", required=True)
    args = parser.parse_args()

    configure(getattr(args, "endpoint", None))
    try:
        result = snapshot(args) if args.command == "snapshot" else scan(args)
    except Exception as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
