"""Helpers for the download tests: deterministic payloads, requests built from repo files, request logs."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

from advisor.download.job import DownloadRequest
from advisor.download.transfer import RetryPolicy
from advisor.model.types import RepoFile
from tests.fixtures.hubserver import HubServer

REPO_ID = "org/tiny-GGUF"
#: Retries fast enough for tests, patient enough for several faults in a row.
FAST_RETRY = RetryPolicy(attempts=5, first_delay_s=0.01, max_delay_s=0.05, timeout_s=5)


def payload(size: int, seed: int = 1) -> bytes:
    """Deterministic bytes that are not all alike (so a misplaced range changes the hash)."""
    return random.Random(seed).randbytes(size)


def repo_file(path: str, data: bytes, *, with_hash: bool = True) -> RepoFile:
    return RepoFile(path=path, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest() if with_hash else None)


def request_for(dest: Path, *files: RepoFile, revision: str = "main", repo_id: str = REPO_ID) -> DownloadRequest:
    return DownloadRequest(repo_id, revision, tuple(files), dest)


def leftovers(dest: Path) -> list[str]:
    """Every file under dest, relative, sorted: what a test expects to find (and not find)."""
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


def resolve_gets(hub: HubServer, path: str) -> list[str | None]:
    """The Range header of every GET of ``path`` on the Hub origin (not the CDN), in order."""
    pattern = re.compile(rf"/resolve/[^/]+/{re.escape(path)}$")  # any revision: main or a pinned commit
    return [rng for method, p, rng in hub.requests if method == "GET" and pattern.search(p)]
