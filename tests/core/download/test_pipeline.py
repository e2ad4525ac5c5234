"""The receive / write / hash / flush pipeline inside a transfer: block reuse, order, hash, write-behind, crashes."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor.download import transfer
from advisor.download.job import DownloadState, download
from advisor.download.transfer import FileTarget, _PartWriter, _receive
from advisor.errors import DownloadError
from advisor.model import hub as hub_module
from advisor.model.types import RepoFile
from tests.core.download.helpers import FAST_RETRY, REPO_ID, leftovers, payload, repo_file, request_for, resolve_gets
from tests.fixtures.hubserver import Fault, HubRepo, HubServer

FILE = "Q8_0/tiny-Q8_0.gguf"
ROOT = Path(__file__).resolve().parents[3]


class _ChoppyStream:
    """A body delivered in reads of random sizes (1 byte to 10 KiB), as a real socket does."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._rng = random.Random(seed)

    def readinto(self, buffer: memoryview) -> int:
        count = min(len(buffer), len(self._data) - self._pos, self._rng.randint(1, 10_240))
        buffer[:count] = self._data[self._pos : self._pos + count]
        self._pos += count
        return count


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blocks_are_reused_only_after_they_are_written_and_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Two small blocks and a writer that lags: a block refilled too early would corrupt both file and hash."""
    monkeypatch.setattr(_PartWriter, "BLOCK_SIZE", 16_384)
    monkeypatch.setattr(_PartWriter, "BLOCKS", 2)
    real_write = transfer._write_chunk
    lag = random.Random(seed)

    def slow_write(fd: int, chunk) -> None:
        if lag.random() < 0.2:
            time.sleep(0.002)
        real_write(fd, chunk)

    monkeypatch.setattr(transfer, "_write_chunk", slow_write)
    data = payload(600_000, seed)
    target = FileTarget(REPO_ID, "main", RepoFile(FILE, len(data), None), tmp_path)
    part = tmp_path / "x.part"
    fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
    reported: list[int] = []
    writer = _PartWriter(fd, target, 0, hashlib.sha256())
    try:
        _receive(_ChoppyStream(data, seed), writer, target, reported.append, lambda: False)
        writer.finish()
    finally:
        writer.close()
        os.close(fd)
    assert part.read_bytes() == data
    assert writer.hasher.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reported == sorted(reported) and reported[-1] == len(data)


def test_resumed_offset_appends_after_the_kept_prefix(tmp_path: Path) -> None:
    data = payload(200_000, 4)
    target = FileTarget(REPO_ID, "main", RepoFile(FILE, len(data), None), tmp_path)
    part = tmp_path / "x.part"
    part.write_bytes(data[:70_001])
    fd = os.open(part, os.O_RDWR)
    hasher = hashlib.sha256(data[:70_001])
    writer = _PartWriter(fd, target, 70_001, hasher)
    try:
        _receive(_ChoppyStream(data[70_001:], 5), writer, target, lambda _n: None, lambda: False)
        writer.finish()
    finally:
        writer.close()
        os.close(fd)
    assert part.read_bytes() == data
    assert writer.hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_more_bytes_than_planned_are_refused(tmp_path: Path) -> None:
    data = payload(50_000, 6)
    target = FileTarget(REPO_ID, "main", RepoFile(FILE, 40_000, None), tmp_path)
    fd = os.open(tmp_path / "x.part", os.O_RDWR | os.O_CREAT, 0o644)
    writer = _PartWriter(fd, target, 0, hashlib.sha256())
    try:
        with pytest.raises(DownloadError, match="changed on the Hub"):
            _receive(_ChoppyStream(data, 6), writer, target, lambda _n: None, lambda: False)
        writer.finish()
    finally:
        writer.close()
        os.close(fd)
    assert writer.received <= 40_000
    assert (tmp_path / "x.part").read_bytes() == data[: writer.received]


class _FakeResponse:
    """A response the client must read itself (chunked: no Content-Length), in pieces bigger than the buffer."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.headers = {"Transfer-Encoding": "chunked"}
        self.http_version = "HTTP/1.1"
        self.extensions: dict[str, object] = {}
        self._pieces = pieces

    def iter_raw(self):
        yield from self._pieces


def test_client_path_hands_big_pieces_over_in_buffer_sized_parts() -> None:
    pieces = [payload(n, n) for n in (70_000, 1, 0, 33_333, 100_000)]
    stream = hub_module.FileStream(_FakeResponse(pieces), 0, None, None, None)
    buffer = memoryview(bytearray(8_192))
    received = bytearray()
    while count := stream.readinto(buffer):
        assert count <= len(buffer)
        received += buffer[:count]
    assert bytes(received) == b"".join(pieces)


# -- write-behind ---------------------------------------------------------------------------------------------


def test_flusher_syncs_while_bytes_arrive(
    hub: HubServer, repo: HubRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_PartWriter, "SYNC_EVERY", 300_000)
    calls: list[int] = []
    real = transfer._fdatasync
    monkeypatch.setattr(transfer, "_fdatasync", lambda fd: (calls.append(fd), real(fd))[1])
    data = payload(3_000_000, 7)
    repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(bytes_per_second=3_000_000)  # about a second: several flushes while bytes arrive
    result = download(request_for(dest, repo_file(FILE, data)), retry=FAST_RETRY)
    assert result.state is DownloadState.DONE
    assert (dest / FILE).read_bytes() == data
    assert len(calls) >= 3  # about every 300 kB; the final fsync covers the last stretch


def test_a_failed_background_flush_fails_the_file_and_keeps_the_partial(
    hub: HubServer, repo: HubRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux reports a writeback error to one fsync only: the flusher's must not be lost."""
    monkeypatch.setattr(_PartWriter, "SYNC_EVERY", 300_000)

    def failing_sync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(transfer, "_fdatasync", failing_sync)
    data = payload(2_000_000, 8)
    repo.add_file(FILE, data)
    with pytest.raises(DownloadError, match="Cannot write"):
        download(request_for(dest, repo_file(FILE, data)), retry=FAST_RETRY)
    assert not (dest / FILE).exists()
    assert leftovers(dest) == [FILE + ".part", FILE + ".part.json"]


def test_killed_during_write_behind_leaves_a_resumable_partial(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    """A process killed after background flushes have run leaves a clean prefix that the next run resumes."""
    data = payload(4_000_000, 9)
    entry = repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(bytes_per_second=1_500_000)
    script = (
        "import os, sys; from pathlib import Path\n"
        "from advisor.download import transfer\n"
        "from advisor.download.job import DownloadRequest, download\n"
        "from advisor.model.types import RepoFile\n"
        "transfer._PartWriter.SYNC_EVERY = 200_000\n"
        "real = transfer._fdatasync\n"
        "def traced(fd):\n"
        "    real(fd)\n"
        "    print('flushed', flush=True)\n"
        "transfer._fdatasync = traced\n"
        f"f = RepoFile({FILE!r}, {len(data)}, {entry.sha256!r})\n"
        f"download(DownloadRequest({REPO_ID!r}, 'main', (f,), Path(sys.argv[1])))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script, str(dest)], env=env, cwd=ROOT, stdout=subprocess.PIPE)
    assert child.stdout is not None
    try:
        for _ in range(2):  # two background flushes done: the kill lands in the middle of write-behind
            assert child.stdout.readline() == b"flushed\n", "the child ended before it flushed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    saved = (dest / (FILE + ".part")).read_bytes()
    assert 400_000 <= len(saved) < len(data) and saved == data[: len(saved)]

    hub.faults.pop(FILE)
    hub.reset_log()
    result = download(request_for(dest, repo_file(FILE, data)), retry=FAST_RETRY)
    assert result.state is DownloadState.DONE
    assert (dest / FILE).read_bytes() == data
    assert resolve_gets(hub, FILE) == [f"bytes={len(saved)}-"]
    assert leftovers(dest) == [FILE]
