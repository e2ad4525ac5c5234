"""Download a plan option's file set: the Qt-free API the GUI and the CLI share.

``download(request, progress=..., cancel=...)`` fetches the files one after another with ``transfer.fetch_file``
(resumable, verified, atomic) and reports through a plain callback at most about ten times a second, plus a
heartbeat while the connection is stalled so a display can show it. Cancel and pause come through a
``CancelToken`` that any thread may set; both keep the partial files, so starting the same request again (in this
run or after a restart) resumes. ``discard_partials(request)`` deletes them when the user gives up for good.
"""

from __future__ import annotations

import enum
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from advisor.download import transfer
from advisor.download.transfer import FileTarget, RetryPolicy, TransferStopped
from advisor.errors import DiskFullError, DownloadError, RigfitError
from advisor.format import file_size
from advisor.model.types import QuantOption, RepoFile, option_named
from advisor.plan.types import OptionPlan

#: Never start a download that would leave less than this free (plus 1 % of the bytes to fetch).
DISK_MARGIN_BYTES = 256 * 1024 * 1024
#: Progress updates at most this often (state changes are always reported).
MIN_UPDATE_INTERVAL_S = 0.1
#: The rate is the average over this window.
RATE_WINDOW_S = 5.0
#: No byte for this long: the rate is 0 and the ETA unknown.
STALL_AFTER_S = 3.0
#: While nothing else is reported, a heartbeat this often keeps displays current.
HEARTBEAT_S = 1.0


class DownloadState(enum.StrEnum):
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CancelToken:
    """Ask a running download to stop, from any thread. Pause and cancel both keep partial files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requested: DownloadState | None = None

    def cancel(self) -> None:
        with self._lock:
            self._requested = DownloadState.CANCELLED

    def pause(self) -> None:
        with self._lock:
            if self._requested is None:
                self._requested = DownloadState.PAUSED

    @property
    def requested(self) -> DownloadState | None:
        """``CANCELLED``, ``PAUSED`` or None."""
        with self._lock:
            return self._requested

    def is_set(self) -> bool:
        """Whether a stop was asked (no ``__bool__``: ``token or default`` must not drop an unset token)."""
        return self.requested is not None


@dataclass(frozen=True)
class DownloadRequest:
    repo_id: str
    revision: str
    files: tuple[RepoFile, ...]
    dest_dir: Path
    token: str | None = None

    @classmethod
    def for_option(
        cls,
        repo_id: str,
        revision: str | None,
        option: QuantOption | OptionPlan,
        dest_dir: Path,
        *,
        include_companions: bool = False,
        token: str | None = None,
    ) -> DownloadRequest:
        """All shards of a quant option or plan option (and a quant option's companions when asked), as listed."""
        companions = getattr(option, "companions", ()) if include_companions else ()
        files = tuple(option.files) + tuple(companions)
        return cls(repo_id, revision or "main", tuple(files), Path(dest_dir), token)

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)

    def targets(self) -> list[FileTarget]:
        return [FileTarget(self.repo_id, self.revision, f, Path(self.dest_dir), self.token) for f in self.files]


@dataclass(frozen=True)
class DownloadProgress:
    state: DownloadState
    file: str | None  # repo path of the file in hand
    file_index: int  # 1-based; 0 before the first file
    file_count: int
    file_done: int
    file_total: int
    done: int  # bytes on disk of the whole set (kept from before + fetched)
    total: int
    rate_bps: float | None  # smoothed over the last seconds; 0.0 when stalled; None before there is a measure
    eta_s: float | None  # None when stalled or unknown
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class DownloadResult:
    state: DownloadState  # DONE, CANCELLED or PAUSED (failures raise)
    paths: tuple[Path, ...]  # final paths of the files that are complete and verified
    fetched_bytes: int  # bytes received from the network in this run
    reused: tuple[str, ...] = field(default=())  # files that were already there, verified
    message: str = ""


# -- the Hub's own file list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmedFiles:
    """A quant's files as the Hub lists them now (exact sizes, LFS sha256), and what differs from the plan."""

    files: tuple[RepoFile, ...]  # the quant's shards, then the asked-for optional files
    changes: tuple[str, ...] = ()  # sentences for the user; empty when the plan's list was exact


def needs_confirmation(source: str, files: Sequence[RepoFile]) -> bool:
    """Whether a planned file list must be checked with the Hub before downloading.

    Lists from the bundled catalog carry rounded or estimated sizes and often no sha256 (and the repo may have
    changed since the catalog was made); a transfer checks size and hash against the server, so such a list would
    fail ("changed since the plan") instead of downloading. A list read from the Hub moments ago is exact.
    """
    return source == "catalog" or any(not f.sha256 for f in files)


def confirm_files(
    repo_id: str,
    revision: str | None,
    quant: str,
    planned: Sequence[RepoFile],
    *,
    companions: Sequence[str] = (),
    token: str | None = None,
) -> ConfirmedFiles:
    """The Hub's current files for ``quant`` of ``repo_id`` (network: run it off the GUI thread)."""
    from advisor.model import hub
    from advisor.model.hub_repo import group_quant_options

    listing = hub.list_files(repo_id, revision or "main", explicit_token=token)
    grouping = group_quant_options(listing)
    option = option_named(grouping.options, quant)
    if option is None:
        names = ", ".join(o.quant for o in grouping.options) or "none"
        raise DownloadError(
            f"{repo_id} has no {quant} files on the Hub now (it has: {names}).",
            hint="Choose another quantization, or refresh the catalog entry (rigfit catalog-refresh).",
        )
    by_path = {f.path: f for f in listing}
    extra = tuple(by_path[path] for path in companions if path in by_path)
    live = tuple(option.files) + extra
    changes: list[str] = []
    planned_total, live_total = sum(f.size_bytes for f in planned), sum(f.size_bytes for f in option.files)
    if [f.path for f in planned] != [f.path for f in option.files]:
        changes.append(
            f"The Hub splits {quant} into {len(option.files)} file(s), not the {len(planned)} the plan listed."
        )
    if planned_total != live_total:
        changes.append(
            f"{quant} is {file_size(live_total)} on the Hub (the plan said {file_size(planned_total)}: "
            "an estimate from the bundled catalog)."
        )
    missing = [path for path in companions if path not in by_path]
    if missing:
        changes.append("No longer on the Hub, so not downloaded: " + ", ".join(missing) + ".")
    return ConfirmedFiles(live, tuple(changes))


# -- disk space ---------------------------------------------------------------------------------------------


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem that holds ``path`` (or would hold it: the nearest existing parent)."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def remaining_bytes(request: DownloadRequest) -> int:
    """Bytes still to fetch: the set minus complete files and usable partials."""
    return sum(t.file.size_bytes - transfer.local_status(t).kept_bytes for t in request.targets())


@dataclass(frozen=True)
class SpaceCheck:
    """Whether a request's missing bytes fit where they go, with the figures to tell the user."""

    dest_dir: Path
    remaining_bytes: int  # still to fetch: the set minus complete files and usable partials
    margin_bytes: int  # kept free beyond the download (for the OS and the partial's sidecars)
    free_bytes: int

    @property
    def shortfall_bytes(self) -> int:
        """How much more must be freed there (0 when it fits)."""
        if self.remaining_bytes == 0:
            return 0
        return max(0, self.remaining_bytes + self.margin_bytes - self.free_bytes)

    @property
    def fits(self) -> bool:
        return self.shortfall_bytes == 0

    @property
    def summary(self) -> str:
        """One sentence: what is needed and what is free."""
        if self.remaining_bytes == 0:
            return f"Every file is already in {self.dest_dir}; it is only checked."
        return (
            f"Needs {file_size(self.remaining_bytes)} more (plus {file_size(self.margin_bytes)} to spare); "
            f"{file_size(self.free_bytes)} is free there."
        )


def space_check(request: DownloadRequest) -> SpaceCheck:
    """The disk-space figures for ``request`` (reads the destination: run it off the GUI thread)."""
    remaining = remaining_bytes(request)
    margin = DISK_MARGIN_BYTES + remaining // 100 if remaining else 0
    free = free_bytes(request.dest_dir)
    return SpaceCheck(Path(request.dest_dir), remaining, margin, free)


def check_disk_space(request: DownloadRequest) -> None:
    """Refuse to start when the remaining bytes plus a margin do not fit."""
    check = space_check(request)
    if not check.fits:
        raise DiskFullError(
            f"Not enough disk space in {request.dest_dir}: the download needs {file_size(check.remaining_bytes)} "
            f"more (plus {file_size(check.margin_bytes)} to spare), but only {file_size(check.free_bytes)} is "
            "free there.",
            hint=f"Free at least {file_size(check.shortfall_bytes)} there, or choose another folder.",
        )


def discard_partials(request: DownloadRequest) -> int:
    """Delete the request's partial files (only ours); return the bytes freed."""
    return sum(transfer.discard_partial(t) for t in request.targets())


# -- progress -----------------------------------------------------------------------------------------------


class _Meter:
    """Turns byte counts into rate-limited ``DownloadProgress`` events; thread-safe (the heartbeat calls it)."""

    def __init__(self, request: DownloadRequest, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._lock = threading.RLock()
        self.total = request.total_bytes
        self.file_count = len(request.files)
        self.state = DownloadState.QUEUED
        self.file: RepoFile | None = None
        self.file_index = 0
        self.file_done = 0
        self.finished_bytes = 0  # complete files before the one in hand
        self.fetched = 0  # from the network in this run
        self.message = ""
        self._samples: deque[tuple[float, int]] = deque()
        self._last_byte_at: float | None = None
        self._last_emit = 0.0

    def start_file(self, index: int, file: RepoFile) -> None:
        with self._lock:
            self.file_index, self.file, self.file_done = index, file, 0

    def finish_file(self) -> None:
        with self._lock:
            if self.file is not None:
                self.finished_bytes += self.file.size_bytes
            self.file_done = 0
            self.file = None

    def bytes_on_disk(self, file_done: int) -> None:
        now = time.monotonic()
        with self._lock:
            if self.state is DownloadState.DOWNLOADING and file_done > self.file_done:
                if self._last_byte_at is not None and now - self._last_byte_at > RATE_WINDOW_S:
                    self._samples.clear()  # after a long pause (a stall, re-reading a partial) measure afresh
                self.fetched += file_done - self.file_done
                self._last_byte_at = now
                if not self._samples or now - self._samples[-1][0] >= 0.05:
                    self._samples.append((now, self.fetched))
            self.file_done = file_done
            self._emit(now, force=False)

    def phase(self, state: DownloadState, message: str) -> None:
        with self._lock:
            changed = state is not self.state
            self.state, self.message = state, message
            self._emit(time.monotonic(), force=changed)

    def heartbeat(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_emit >= HEARTBEAT_S:
                self._emit(now, force=True)

    def snapshot(self, now: float | None = None) -> DownloadProgress:
        now = time.monotonic() if now is None else now
        with self._lock:
            rate = self._rate(now)
            done = self.finished_bytes + self.file_done
            eta = (self.total - done) / rate if rate else None
            return DownloadProgress(
                state=self.state,
                file=self.file.path if self.file else None,
                file_index=self.file_index,
                file_count=self.file_count,
                file_done=self.file_done,
                file_total=self.file.size_bytes if self.file else 0,
                done=done,
                total=self.total,
                rate_bps=rate,
                eta_s=eta,
                message=self.message,
            )

    def _rate(self, now: float) -> float | None:
        if self.state is not DownloadState.DOWNLOADING:
            return None
        if self._last_byte_at is None:
            return None
        if now - self._last_byte_at > STALL_AFTER_S:
            return 0.0
        while len(self._samples) > 2 and now - self._samples[1][0] > RATE_WINDOW_S:
            self._samples.popleft()
        first_t, first_bytes = self._samples[0]
        span = now - first_t
        if span < 0.5:
            return None
        return (self.fetched - first_bytes) / span

    def _emit(self, now: float, *, force: bool) -> None:
        if self._callback is None or (not force and now - self._last_emit < MIN_UPDATE_INTERVAL_S):
            return
        self._last_emit = now
        self._callback(self.snapshot(now))


class _Heartbeat:
    """A daemon thread that keeps progress flowing while a connection is stalled."""

    def __init__(self, meter: _Meter) -> None:
        self._meter = meter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rigfit-download-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S / 4):
            self._meter.heartbeat()


# -- the job ------------------------------------------------------------------------------------------------


def download(
    request: DownloadRequest,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    retry: RetryPolicy | None = None,
) -> DownloadResult:
    """Fetch every file of the request into ``dest_dir`` (keeping repo paths); resume what earlier runs left.

    Returns a ``DONE`` result, or ``CANCELLED`` / ``PAUSED`` when the token asked (partials are kept). Failures
    raise a ``RigfitError`` (``DiskFullError``, ``ChecksumMismatchError``, ``GatedRepoError`` ...) after a final
    ``FAILED`` progress event with the same message.
    """
    token = cancel if cancel is not None else CancelToken()
    meter = _Meter(request, progress)
    if not request.files:
        raise DownloadError("Nothing to download: the file list is empty.")
    meter.phase(DownloadState.QUEUED, f"Preparing {len(request.files)} file(s) in {request.dest_dir}")
    paths: list[Path] = []
    reused: list[str] = []
    try:
        targets = request.targets()
        check_disk_space(request)
        Path(request.dest_dir).mkdir(parents=True, exist_ok=True)
        with _Heartbeat(meter):
            for index, target in enumerate(targets, start=1):
                meter.start_file(index, target.file)
                fetched = transfer.fetch_file(
                    target,
                    on_bytes=meter.bytes_on_disk,
                    on_phase=lambda state, message: meter.phase(DownloadState(state), message),
                    should_stop=token.is_set,
                    retry=retry or RetryPolicy(),
                )
                if not fetched:
                    reused.append(target.file.path)
                paths.append(target.final_path)
                meter.finish_file()
    except TransferStopped:
        state = token.requested or DownloadState.CANCELLED
        verb = "Paused" if state is DownloadState.PAUSED else "Cancelled"
        message = f"{verb}; {file_size(meter.snapshot().done)} are on disk and a new start resumes from there."
        meter.phase(state, message)
        return DownloadResult(state, tuple(paths), meter.fetched, tuple(reused), message)
    except RigfitError as exc:
        meter.phase(DownloadState.FAILED, exc.message)
        raise
    except OSError as exc:  # a folder that cannot be created, a read-only disk ...
        error = DownloadError(f"Cannot write the download in {request.dest_dir}: {exc}", hint="Choose another folder.")
        meter.phase(DownloadState.FAILED, error.message)
        raise error from exc
    message = f"Done: {len(paths)} file(s) verified in {request.dest_dir}."
    meter.phase(DownloadState.DONE, message)
    return DownloadResult(DownloadState.DONE, tuple(paths), meter.fetched, tuple(reused), message)
