"""One file from the Hub to disk: resumable across restarts, hashed while it streams, verified, renamed into place.

Beside the final file ``<dest>/<relpath>`` a transfer keeps:

- ``<relpath>.part``: the bytes received so far, always a prefix of one version of the remote file;
- ``<relpath>.part.json``: which version (repo, path, expected size and sha256, the Hub's etag and commit). It is
  written before the first byte, so a ``.part`` without it is not ours (another program's download, say) and is
  never touched.

A resume (in this run after a dropped connection, or in a later run of the app) re-hashes only the saved prefix and
asks for the rest with ``Range``. When the Hub's etag for the file differs from the recorded one, the file changed:
the partial is restarted from zero rather than spliced with bytes of another version. The finished file is checked
against the Hub's LFS sha256 and only then renamed into place (``os.replace``), so the final name never holds a bad
or half-written file. A file already at the final name is verified and kept when it matches; when it differs it is
the user's and is left alone: the transfer stops with an error that says so rather than overwrite it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from advisor.errors import ChecksumMismatchError, DiskFullError, DownloadError
from advisor.format import file_size
from advisor.model.types import RepoFile

PART_SUFFIX = ".part"
STATE_SUFFIX = ".part.json"
STATE_SCHEMA = "rigfit.partial/1"
#: Block size for re-reading saved bytes. Network bytes are written as the socket delivers them, so a dropped
#: connection loses nothing that arrived.
CHUNK_SIZE = 1 << 20
#: Largest single write: a full disk keeps every complete write and cuts off only the torn one.
WRITE_SIZE = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: Called with the bytes of the current file now on disk (downloaded or kept from before).
BytesCallback = Callable[[int], None]
#: Called when the transfer moves between downloading and verifying, with a sentence for the user.
PhaseCallback = Callable[[str, str], None]
StopCheck = Callable[[], bool]


class TransferStopped(Exception):
    """The user cancelled or paused; the partial file and its state are kept for a later resume."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a file when the network misbehaves."""

    attempts: int = 8  # consecutive failed attempts (no new byte in between) before giving up
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    timeout_s: float = 30.0  # connect and per-read timeout; a stalled connection counts as a failure

    def delay(self, failure: int) -> float:
        """Exponential backoff: 1 s, 2 s, 4 s ... capped."""
        return min(self.max_delay_s, self.first_delay_s * 2 ** max(0, failure - 1))


def safe_relpath(path: str) -> PurePosixPath:
    """The repo path as a relative path that cannot leave the destination folder."""
    rel = PurePosixPath(path)
    if not path or rel.is_absolute() or ".." in rel.parts or "\\" in path or ":" in rel.parts[0]:
        raise DownloadError(
            f"Refusing the repo path {path!r}: it would be written outside the download folder.",
            hint="This repo's file list looks wrong; report it to its owners.",
        )
    return rel


@dataclass(frozen=True)
class FileTarget:
    """One repo file and where it goes."""

    repo_id: str
    revision: str
    file: RepoFile
    dest_dir: Path
    token: str | None = None

    @property
    def final_path(self) -> Path:
        return self.dest_dir.joinpath(*safe_relpath(self.file.path).parts)

    @property
    def part_path(self) -> Path:
        final = self.final_path
        return final.with_name(final.name + PART_SUFFIX)

    @property
    def state_path(self) -> Path:
        final = self.final_path
        return final.with_name(final.name + STATE_SUFFIX)

    @property
    def expected_sha256(self) -> str | None:
        sha = (self.file.sha256 or "").lower()
        return sha if _SHA256.match(sha) else None


@dataclass(frozen=True)
class PartialState:
    """The sidecar of a ``.part`` file: what its bytes are a prefix of."""

    repo_id: str
    path: str
    revision: str
    size: int
    sha256: str | None
    url: str
    etag: str | None = None
    commit: str | None = None

    def to_json(self) -> str:
        return json.dumps({"schema": STATE_SCHEMA, **self.__dict__}, indent=1)

    @classmethod
    def load(cls, path: Path) -> PartialState | None:
        """The sidecar, or None when it is missing, unreadable or of another schema."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("schema", None) != STATE_SCHEMA:
                return None
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def describes(self, target: FileTarget) -> bool:
        """Whether a partial with this state is a prefix of the file the target wants."""
        return (
            self.repo_id == target.repo_id
            and self.path == target.file.path
            and self.size == target.file.size_bytes
            and self.sha256 == target.expected_sha256
        )


@dataclass(frozen=True)
class LocalStatus:
    """What is already on disk for a target, before anything is sent."""

    complete: bool  # the final file exists with the expected size (verified when the transfer reaches it)
    kept_bytes: int  # bytes a resume keeps: the complete file's size, or the usable partial's


def local_status(target: FileTarget) -> LocalStatus:
    """Inspect the destination; raise ``DownloadError`` for anything that is not ours to overwrite."""
    final, part = target.final_path, target.part_path
    size = target.file.size_bytes
    if final.exists() or final.is_symlink():
        if final.is_file() and final.stat().st_size == size:
            return LocalStatus(complete=True, kept_bytes=size)
        raise _occupied(final, target)
    if part.exists():
        state = PartialState.load(target.state_path)
        if state is None:
            raise DownloadError(
                f"{part} exists but was not started by Rigfit (it has no {target.state_path.name}).",
                hint="It may be another program's download: move or delete it, then start again.",
            )
        if state.describes(target) and part.is_file() and part.stat().st_size <= size:
            return LocalStatus(complete=False, kept_bytes=part.stat().st_size)
    return LocalStatus(complete=False, kept_bytes=0)


def _occupied(final: Path, target: FileTarget) -> DownloadError:
    return DownloadError(
        f"{final} already exists and is not the file {target.repo_id} has at that path "
        f"(its size or contents differ). Rigfit does not overwrite files it did not write.",
        hint="Move or delete that file, or choose another destination folder, then start again.",
    )


def fetch_file(
    target: FileTarget,
    *,
    on_bytes: BytesCallback,
    on_phase: PhaseCallback,
    should_stop: StopCheck,
    retry: RetryPolicy = RetryPolicy(),
) -> bool:
    """Bring one file to its final path, verified. True when bytes were fetched, False when it was already there."""
    from advisor.model import hub

    status = local_status(target)
    final, part = target.final_path, target.part_path
    expected = target.expected_sha256
    size = target.file.size_bytes
    if status.complete:
        on_phase("verifying", f"Checking {final.name}, which is already there")
        if expected is None or known_verified(final, expected):
            on_bytes(size)
            return False
        if _hash_file(final, size, on_phase, should_stop, final.name) == expected:
            remember_verified(final, expected)
            on_bytes(size)
            return False
        raise _occupied(final, target)

    final.parent.mkdir(parents=True, exist_ok=True)
    url = hub.file_url(target.repo_id, target.file.path, target.revision)
    state = PartialState.load(target.state_path) if status.kept_bytes else None
    if state is None:
        state = PartialState(target.repo_id, target.file.path, target.revision, size, expected, url)
        _write_state(target.state_path, state)  # before the first byte: a .part with a state is ours
    fd = os.open(part, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    writer: _PartWriter | None = None
    try:
        hasher = hashlib.sha256()
        kept = status.kept_bytes
        os.ftruncate(fd, kept)
        if kept:
            on_phase("verifying", f"Re-reading the {file_size(kept)} of {final.name} saved earlier")
            _hash_prefix(fd, kept, hasher, should_stop)
        writer = _PartWriter(fd, target, kept, hasher)
        on_bytes(kept)  # kept bytes are on disk, not fetched: reported before the downloading phase begins
        on_phase("downloading", f"Downloading {final.name}")
        failures = 0
        while writer.received < size:
            if should_stop():
                raise TransferStopped
            received_before = writer.received
            try:
                with hub.open_file_stream(
                    target.repo_id,
                    target.file.path,
                    url,
                    writer.received,
                    explicit_token=target.token,
                    timeout_s=retry.timeout_s,
                ) as stream:
                    if stream is None:  # 416: the remote file is shorter than the plan says
                        raise _changed_since_plan(target, "its size")
                    _check_identity(target, stream)
                    if _other_version(state, stream) or stream.start != writer.received:
                        # Another version than the partial's, or a server that ignored Range: restart from zero
                        # rather than splice two versions.
                        writer.restart()
                        on_bytes(0)
                    if writer.received == 0 and (state.etag, state.commit) != (stream.etag, stream.commit):
                        state = PartialState(
                            target.repo_id, target.file.path, target.revision, size, expected, url,
                            stream.etag, stream.commit,
                        )  # fmt: skip
                        _write_state(target.state_path, state)
                    if stream.start != writer.received:
                        continue  # this body starts elsewhere: ask again from zero
                    _receive(stream, writer, target, on_bytes, should_stop)
                    if writer.received < size:
                        raise hub.TransientHubError("the server ended the body early")
            except hub.TransientHubError as exc:
                writer.sync()
                failures = 1 if writer.received > received_before else failures + 1
                if failures >= retry.attempts:
                    raise DownloadError(
                        f"Downloading {target.file.path} failed {failures} times in a row ({exc}). "
                        f"The {file_size(writer.received)} received so far are kept in {part}.",
                        hint="Check the network and start the download again: it resumes where it stopped.",
                    ) from exc
                delay = retry.delay(failures)
                on_phase("downloading", f"Connection problem ({exc}); retrying in {delay:.0f} s")
                _sleep_unless_stopped(delay, should_stop)

        writer.finish()  # every byte written and hashed, no background flush left to hide an error
        on_phase("verifying", f"Verifying {final.name}")
        digest = writer.hasher.hexdigest()
        if expected is not None and digest != expected:
            writer.close()
            writer = None
            os.close(fd)
            fd = -1
            _remove_quietly(part)
            _remove_quietly(target.state_path)
            raise ChecksumMismatchError(
                f"{target.file.path} arrived corrupted: its sha256 is {digest}, the Hub's is {expected}. "
                "The bad copy was deleted; nothing was written at the final name.",
                hint="Start the download again; if it keeps happening, the mirror or a proxy is altering the file.",
            )
        os.fsync(fd)
    except BaseException:
        nothing_saved = writer is None or writer.received == 0
        if writer is not None:
            writer.close()  # everything received is on disk before the file is closed (a pause keeps it all)
            writer = None
        if fd >= 0:
            os.close(fd)
            fd = -1
        if nothing_saved and part.is_file() and part.stat().st_size == 0:  # leave no empty partial behind
            _remove_quietly(part)
            _remove_quietly(target.state_path)
        raise
    finally:
        if writer is not None:
            writer.close()
        if fd >= 0:
            os.close(fd)
    os.replace(part, final)
    _remove_quietly(target.state_path)
    _fsync_dir(final.parent)
    if expected is not None:
        remember_verified(final, expected)
    return True


# -- files verified earlier ----------------------------------------------------------------------------------
# Re-running a finished download must not re-read 140 GB. After a file is verified, its path, size, mtime and
# inode are recorded in the user's cache folder (not in the download folder); a file whose stat still matches
# the record is taken as verified. Any change to the file (or a lost cache) means it is hashed again.

VERIFIED_CACHE = "verified-downloads.json"


def _verified_cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("rigfit", appauthor=False)) / VERIFIED_CACHE


def _fingerprint(path: Path, sha256: str) -> dict[str, object]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino, "sha256": sha256}


def _load_verified() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_verified_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known_verified(path: Path, sha256: str) -> bool:
    """Whether ``path`` was verified against ``sha256`` and has not changed since."""
    record = _load_verified().get(str(path.resolve()))
    try:
        return record == _fingerprint(path, sha256)
    except OSError:
        return False


def remember_verified(path: Path, sha256: str) -> None:
    """Record a verified file (a cache: failures to write it are ignored)."""
    cache = _verified_cache_path()
    records = {key: value for key, value in _load_verified().items() if Path(key).exists()}
    try:
        records[str(path.resolve())] = _fingerprint(path, sha256)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records, indent=0), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass


def _receive(stream, writer: _PartWriter, target: FileTarget, on_bytes: BytesCallback, should_stop: StopCheck) -> None:
    """Receive the body into the writer's reusable blocks, handing over each read as it arrives.

    Each socket read goes straight into a pool block and is handed to the writer as a slice of it: no copy, and
    what arrived is kept even if the next read fails. Progress and the stop check run after every read, so a
    slow link stays responsive; on a fast one a read returns whatever the kernel holds (often a megabyte).
    """
    size = target.file.size_bytes
    block = writer.take_block()
    filled = 0
    try:
        while count := stream.readinto(block[filled:]):
            if writer.received + count > size:
                raise _changed_since_plan(target, "its size")
            writer.put(block[filled : filled + count])
            filled += count
            on_bytes(writer.received)
            if should_stop():
                raise TransferStopped
            if filled == len(block):
                writer.release(block)
                block = writer.take_block()
                filled = 0
    finally:
        writer.release(block)


class _PartWriter:
    """Writes and hashes the received bytes on worker threads while the socket is read, and flushes behind.

    Pipeline: the receiving thread fills blocks from a fixed pool (``take_block``) and hands slices of them over
    (``put``); a writer thread appends each slice to the partial file, then passes it to a hasher thread, which
    updates the sha256 in arrival order and returns finished blocks to the pool (``release`` travels the same
    way). ``os.write`` and ``hashlib`` release the GIL, so receiving, writing and hashing overlap, and the fixed
    pool bounds memory and slows the socket reads when the disk falls behind.

    Write-behind: a flusher thread calls ``fdatasync`` every ``SYNC_EVERY`` bytes written (and then drops those
    clean pages from the page cache, so a 50 GB file does not evict everything else). The disk thus works while
    bytes arrive and the final ``fsync`` before the rename only has the last stretch to write; the writer never
    waits for the disk itself. An error of a background ``fdatasync`` is kept and raised like a write error:
    Linux reports a writeback error to one ``fsync`` only, so the final one might not see it again.

    ``received`` counts the bytes handed over (the offset the next ``Range`` asks from once ``sync()`` has run);
    ``sync()`` waits until they are all written and hashed and re-raises a write or flush failure
    (``DiskFullError``) in the caller's thread. The hash may run ahead of a failed write: a failure ends the
    transfer, and a resume re-hashes what is on disk.
    """

    BLOCK_SIZE = 4 * 1024 * 1024
    BLOCKS = 8  # 32 MiB in flight at most
    SYNC_EVERY = 128 * 1024 * 1024

    def __init__(self, fd: int, target: FileTarget, offset: int, hasher) -> None:
        self._fd = fd
        self._target = target
        self.hasher = hasher
        self.received = offset
        self._error: BaseException | None = None
        self._free: queue.Queue[memoryview] = queue.Queue()
        for _ in range(self.BLOCKS):
            self._free.put(memoryview(bytearray(self.BLOCK_SIZE)))
        # Items: (bytes to write and hash, None) or (None, block to return to the pool); None stops a thread.
        self._write_queue: queue.Queue[tuple[memoryview | None, memoryview | None] | None] = queue.Queue()
        self._hash_queue: queue.Queue[tuple[memoryview | None, memoryview | None] | None] = queue.Queue()
        self._flush = threading.Condition()
        self._written = self._synced = offset  # guarded by _flush
        self._generation = 0  # bumped by restart(), so a flush of the old contents does not count
        self._closing = False
        os.lseek(fd, offset, os.SEEK_SET)
        self._threads = [
            threading.Thread(target=self._write_loop, name="rigfit-part-writer", daemon=True),
            threading.Thread(target=self._hash_loop, name="rigfit-part-hasher", daemon=True),
            threading.Thread(target=self._flush_loop, name="rigfit-part-flusher", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def take_block(self) -> memoryview:
        """A free block to receive into; waits while all are in flight (the disk or the hash is behind)."""
        return self._free.get()

    def put(self, data: memoryview) -> None:
        """Hand over received bytes (a slice of a taken block) to be written and hashed, in order."""
        if self._error is not None:
            self.sync()
        self._write_queue.put((data, None))
        self.received += len(data)

    def release(self, block: memoryview) -> None:
        """Return a block to the pool once everything handed over from it is written and hashed."""
        self._write_queue.put((None, block))

    def sync(self) -> None:
        self._write_queue.join()
        self._hash_queue.join()
        if self._error is not None:
            raise self._error

    def restart(self) -> None:
        """Drop everything: the partial becomes empty and the hash starts again."""
        self.sync()
        with self._flush:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._written = self._synced = 0
            self._generation += 1
        self.hasher = hashlib.sha256()
        self.received = 0

    def finish(self) -> None:
        """Wait until every byte is written and hashed, stop the threads, and raise any write or flush failure."""
        self.sync()
        self.close()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop the threads after the bytes in hand are written (idempotent)."""
        if self._closing:
            return
        self._write_queue.put(None)
        with self._flush:
            self._closing = True
            self._flush.notify_all()
        for thread in self._threads:
            thread.join()

    def _write_loop(self) -> None:
        while (item := self._write_queue.get()) is not None:
            data, _ = item
            try:
                # In slices, so a full disk keeps every complete slice (the torn one is cut off).
                for start in range(0, len(data) if data is not None and self._error is None else 0, WRITE_SIZE):
                    piece = data[start : start + WRITE_SIZE]
                    _write_all(self._fd, piece, self._written, self._target)
                    with self._flush:
                        self._written += len(piece)
                        self._flush.notify_all()
            except BaseException as exc:  # handed to the receiving thread by sync()
                self._error = exc
            finally:
                self._hash_queue.put(item)
                self._write_queue.task_done()
        self._hash_queue.put(None)
        self._write_queue.task_done()

    def _hash_loop(self) -> None:
        while (item := self._hash_queue.get()) is not None:
            data, block = item
            if data is not None:
                self.hasher.update(data)
            if block is not None:
                self._free.put(block)
            self._hash_queue.task_done()
        self._hash_queue.task_done()

    def _flush_loop(self) -> None:
        while True:
            with self._flush:
                while not self._closing and self._written - self._synced < self.SYNC_EVERY:
                    self._flush.wait()
                if self._closing:
                    return
                start, end, generation = self._synced, self._written, self._generation
            try:
                _fdatasync(self._fd)
            except OSError as exc:
                self._error = self._error or exc
                return
            _drop_cached(self._fd, start, end - start)
            with self._flush:
                if generation == self._generation:
                    self._synced = end


#: ``fdatasync`` where the OS has it (Linux); ``fsync`` elsewhere (macOS, Windows).
_fdatasync = getattr(os, "fdatasync", os.fsync)


def _drop_cached(fd: int, offset: int, length: int) -> None:
    """Drop a range that is already on disk from the page cache (a hint; ignored where unsupported)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def discard_partial(target: FileTarget) -> int:
    """Delete a target's partial file if it is ours (it has our sidecar); return the bytes freed."""
    part = target.part_path
    if not part.is_file() or PartialState.load(target.state_path) is None:
        return 0
    freed = part.stat().st_size
    _remove_quietly(part)
    _remove_quietly(target.state_path)
    return freed


# -- helpers ----------------------------------------------------------------------------------------------


def _check_identity(target: FileTarget, stream) -> None:
    """Refuse a remote file that is not the one the plan showed (another sha256 or size)."""
    expected = target.expected_sha256
    etag = (stream.etag or "").lower()
    if expected and _SHA256.match(etag) and etag != expected:
        raise _changed_since_plan(target, "its contents")
    if stream.total_size is not None and stream.total_size != target.file.size_bytes:
        raise _changed_since_plan(target, "its size")


def _other_version(state: PartialState, stream) -> bool:
    """Whether the remote file is another version than the one the partial holds (by etag, else by commit)."""
    if state.etag and stream.etag:
        return state.etag != stream.etag
    if state.sha256 is None and state.commit and stream.commit:
        return state.commit != stream.commit
    return False


def _changed_since_plan(target: FileTarget, what: str) -> DownloadError:
    return DownloadError(
        f"{target.file.path} in {target.repo_id} changed on the Hub ({what}) since its file list was read.",
        hint="Look the model up again so the plan shows the current files, then download.",
    )


def _write_state(path: Path, state: PartialState) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)


def _write_all(fd: int, data: bytes, offset: int, target: FileTarget) -> None:
    """Write ``data`` at the end of the partial; on a full disk cut back to ``offset`` and say so."""
    try:
        _write_chunk(fd, data)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        with contextlib.suppress(OSError):
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
        raise DiskFullError(
            f"The disk filled up while writing {target.part_path}. The {file_size(offset)} received so far are "
            "kept there.",
            hint=f"Free at least {file_size(target.file.size_bytes - offset)} in {target.dest_dir} and start the "
            "download again: it resumes where it stopped.",
        ) from exc


def _write_chunk(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is down (a write may take fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _hash_prefix(fd: int, length: int, hasher, should_stop: StopCheck) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    remaining = length
    while remaining:
        block = os.read(fd, min(8 * CHUNK_SIZE, remaining))
        if not block:
            raise DownloadError("The partial file shrank while it was being read.", hint="Start the download again.")
        hasher.update(block)
        remaining -= len(block)
        if should_stop():
            raise TransferStopped
    os.lseek(fd, length, os.SEEK_SET)


def _hash_file(path: Path, size: int, on_phase: PhaseCallback, should_stop: StopCheck, name: str) -> str:
    hasher = hashlib.sha256()
    done = 0
    last = time.monotonic()
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(8 * CHUNK_SIZE):
            hasher.update(block)
            done += len(block)
            if should_stop():
                raise TransferStopped
            if time.monotonic() - last > 0.5 and size:
                last = time.monotonic()
                on_phase("verifying", f"Checking {name}, which is already there: {done * 100 // size} %")
    return hasher.hexdigest()


def _sleep_unless_stopped(seconds: float, should_stop: StopCheck) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if should_stop():
            raise TransferStopped
        time.sleep(min(0.05, left))


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
