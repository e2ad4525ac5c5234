"""The job API: disk space, cancel / pause / resume (in-process and across processes), progress events."""

from __future__ import annotations

import errno
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import advisor.download.job as job
from advisor.download import transfer
from advisor.download.job import CancelToken, DownloadState, discard_partials, download, remaining_bytes
from advisor.errors import DiskFullError, DownloadError
from advisor.model.types import RepoFile
from tests.core.download.helpers import FAST_RETRY, REPO_ID, leftovers, payload, repo_file, request_for, resolve_gets
from tests.fixtures.hubserver import Fault, HubRepo, HubServer

FILE = "Q8_0/tiny-Q8_0.gguf"
ROOT = Path(__file__).resolve().parents[3]


def _part(dest: Path) -> Path:
    return dest / (FILE + ".part")


# -- disk space ----------------------------------------------------------------------------------------------


def test_not_enough_free_space_is_refused_before_any_byte(
    hub: HubServer, repo: HubRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(2_000_000, 1)
    repo.add_file(FILE, data)
    monkeypatch.setattr(job, "free_bytes", lambda path: 100_000_000)  # less than the 256 MiB margin
    with pytest.raises(DiskFullError) as info:
        download(request_for(dest, repo_file(FILE, data)), retry=FAST_RETRY)
    text = info.value.message
    assert "needs 2.0 MB more" in text and "only 100.0 MB is free" in text and str(dest) in text
    assert info.value.hint and "Free at least" in info.value.hint
    assert resolve_gets(hub, FILE) == []


def test_remaining_bytes_count_only_what_is_missing(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(1_000_000, 2)
    repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(drop_at=[300_000])
    request = request_for(dest, repo_file(FILE, data))
    assert remaining_bytes(request) == 1_000_000
    with pytest.raises(DownloadError):
        download(request, retry=type(FAST_RETRY)(attempts=1))
    assert remaining_bytes(request) == 700_000


def test_disk_filling_up_mid_file_keeps_the_partial_and_resumes(
    hub: HubServer, repo: HubRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(3_000_000, 3)
    repo.add_file(FILE, data)
    real_write = transfer._write_chunk
    room = [1_234_567]  # what the "disk" still takes

    def full_disk_write(fd: int, chunk: bytes) -> None:
        if len(chunk) > room[0]:
            os.write(fd, chunk[: room[0]])  # a short write, then the disk is full
            room[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        room[0] -= len(chunk)
        real_write(fd, chunk)

    monkeypatch.setattr(transfer, "_write_chunk", full_disk_write)
    request = request_for(dest, repo_file(FILE, data))
    events = []
    with pytest.raises(DiskFullError, match="The disk filled up") as info:
        download(request, progress=events.append, retry=FAST_RETRY)
    assert "resumes where it stopped" in (info.value.hint or "")
    assert events[-1].state is DownloadState.FAILED
    saved = _part(dest).read_bytes()
    assert 0 < len(saved) <= 1_234_567 and saved == data[: len(saved)]  # a clean prefix, the torn write cut off
    assert not (dest / FILE).exists()

    monkeypatch.setattr(transfer, "_write_chunk", real_write)
    hub.reset_log()
    download(request, retry=FAST_RETRY)
    assert (dest / FILE).read_bytes() == data
    assert resolve_gets(hub, FILE) == [f"bytes={len(saved)}-"]


# -- cancel, pause, resume -----------------------------------------------------------------------------------


def test_cancel_mid_file_then_resume_to_completion(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(3_000_000, 4)
    repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(bytes_per_second=4_000_000)
    token = CancelToken()
    request = request_for(dest, repo_file(FILE, data))

    def cancel_when_halfway(p: job.DownloadProgress) -> None:
        if p.file_done >= 1_000_000:
            token.cancel()

    result = download(request, progress=cancel_when_halfway, cancel=token, retry=FAST_RETRY)
    assert result.state is DownloadState.CANCELLED and result.paths == ()
    saved = _part(dest).read_bytes()
    assert 1_000_000 <= len(saved) < len(data) and saved == data[: len(saved)]
    assert not (dest / FILE).exists()

    hub.faults.pop(FILE)
    hub.reset_log()
    result = download(request, retry=FAST_RETRY)
    assert result.state is DownloadState.DONE
    assert (dest / FILE).read_bytes() == data
    assert resolve_gets(hub, FILE) == [f"bytes={len(saved)}-"]
    assert result.fetched_bytes == len(data) - len(saved)


def test_resume_of_a_file_the_server_sends_from_disk(hub: HubServer, repo: HubRepo, dest: Path, tmp_path: Path) -> None:
    """The rest of the file comes by the server's ``sendfile`` path (large files), starting at the Range offset."""
    data = payload(3_000_000, 9)
    source = tmp_path / "served.gguf"
    source.write_bytes(data)
    repo.add_file(FILE, disk_path=source)
    hub.faults[FILE] = Fault(bytes_per_second=4_000_000)  # throttled: the byte-by-byte path, so it can be cancelled
    token = CancelToken()
    request = request_for(dest, repo_file(FILE, data))
    result = download(
        request, progress=lambda p: p.file_done >= 700_000 and token.cancel(), cancel=token, retry=FAST_RETRY
    )
    assert result.state is DownloadState.CANCELLED
    kept = _part(dest).stat().st_size
    assert 0 < kept < len(data)

    hub.faults.pop(FILE)  # no fault: the server sends the rest with sendfile
    hub.reset_log()
    result = download(request, retry=FAST_RETRY)
    assert result.state is DownloadState.DONE
    assert (dest / FILE).read_bytes() == data
    assert resolve_gets(hub, FILE) == [f"bytes={kept}-"]
    assert result.fetched_bytes == len(data) - kept  # (the server's byte count may still include the first run's)


def test_pause_from_another_thread_then_discard(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(2_000_000, 5)
    repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(bytes_per_second=1_000_000)
    token = CancelToken()
    started = threading.Event()
    pauser = threading.Thread(target=lambda: started.wait(30) and token.pause())
    pauser.start()
    events = []

    def record(p: job.DownloadProgress) -> None:
        events.append(p)
        if p.file_done >= 200_000:
            started.set()  # the pause comes from the other thread, while bytes flow

    result = download(request_for(dest, repo_file(FILE, data)), progress=record, cancel=token)
    pauser.join()
    assert result.state is DownloadState.PAUSED and events[-1].state is DownloadState.PAUSED
    assert "resumes" in result.message
    size = _part(dest).stat().st_size
    assert 0 < size < len(data)
    assert discard_partials(request_for(dest, repo_file(FILE, data))) == size
    assert leftovers(dest) == []


def test_cancel_wins_over_pause() -> None:
    token = CancelToken()
    assert not token.is_set()
    token.cancel()
    token.pause()
    assert token.requested is DownloadState.CANCELLED


def test_resume_across_processes(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    """A process killed mid-file (no chance to clean up) leaves a partial that the next process resumes."""
    data = payload(4_000_000, 6)
    entry = repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(bytes_per_second=1_500_000)
    script = (
        "import sys; from pathlib import Path\n"
        "from advisor.download.job import DownloadRequest, download\n"
        "from advisor.model.types import RepoFile\n"
        f"f = RepoFile({FILE!r}, {len(data)}, {entry.sha256!r})\n"
        f"download(DownloadRequest({REPO_ID!r}, 'main', (f,), Path(sys.argv[1])))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script, str(dest)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (_part(dest).exists() and _part(dest).stat().st_size >= 500_000):
            assert child.poll() is None, "the child ended before it was killed"
            assert time.monotonic() < deadline, "the child never wrote a partial"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    saved = _part(dest).read_bytes()
    assert len(saved) < len(data) and saved == data[: len(saved)]

    hub.faults.pop(FILE)
    hub.reset_log()
    result = download(request_for(dest, repo_file(FILE, data)), retry=FAST_RETRY)
    assert result.state is DownloadState.DONE
    assert (dest / FILE).read_bytes() == data
    assert resolve_gets(hub, FILE) == [f"bytes={len(saved)}-"]


# -- progress ------------------------------------------------------------------------------------------------


def test_progress_is_rate_limited_and_estimates_time(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(2_500_000, 7)
    repo.add_file(FILE, data)
    hub.faults[FILE] = Fault(bytes_per_second=2_000_000)  # 256 KiB bursts every ~0.13 s: many chunks
    stamped: list[tuple[float, job.DownloadProgress]] = []
    download(
        request_for(dest, repo_file(FILE, data)),
        progress=lambda p: stamped.append((time.monotonic(), p)),
        retry=FAST_RETRY,
    )
    for (t0, p0), (t1, p1) in itertools.pairwise(stamped):
        if p1.state is p0.state:  # only state changes may come sooner
            assert t1 - t0 >= job.MIN_UPDATE_INTERVAL_S * 0.95
    flowing = [p for _, p in stamped if p.state is DownloadState.DOWNLOADING and p.rate_bps]
    assert flowing, "no event had a rate"
    assert all(0.5e6 < p.rate_bps < 8e6 for p in flowing)  # the throttle is 2 MB/s
    assert all(p.eta_s is not None and p.eta_s >= 0 for p in flowing)
    last = flowing[-1]
    assert last.eta_s == pytest.approx((last.total - last.done) / last.rate_bps)


def test_stalled_connection_reports_no_rate_and_no_eta(
    hub: HubServer, repo: HubRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job, "STALL_AFTER_S", 0.3)
    monkeypatch.setattr(job, "HEARTBEAT_S", 0.2)
    data = payload(300_000, 8)
    repo.add_file(FILE, data)
    # The server sends 256 KiB at once, then waits 256 KiB / 150 kB/s = 1.7 s before the rest: a stall.
    hub.faults[FILE] = Fault(bytes_per_second=150_000)
    events = []
    download(request_for(dest, repo_file(FILE, data)), progress=events.append, retry=FAST_RETRY)
    stalled = [e for e in events if e.state is DownloadState.DOWNLOADING and e.rate_bps == 0.0]
    assert stalled, "the heartbeat never reported the stall"
    assert all(e.eta_s is None for e in stalled)
    assert all(0 < e.file_done < len(data) for e in stalled)
    assert (dest / FILE).read_bytes() == data


def test_empty_request_is_an_error(dest: Path) -> None:
    with pytest.raises(DownloadError, match="empty"):
        download(request_for(dest))


def test_rate_carries_over_from_one_shard_to_the_next(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    one, two = payload(1_500_000, 9), payload(1_500_000, 10)
    repo.add_file("s-00001-of-00002.gguf", one)
    repo.add_file("s-00002-of-00002.gguf", two)
    for name in ("s-00001-of-00002.gguf", "s-00002-of-00002.gguf"):
        hub.faults[name] = Fault(bytes_per_second=2_000_000)
    events = []
    download(
        request_for(dest, repo_file("s-00001-of-00002.gguf", one), repo_file("s-00002-of-00002.gguf", two)),
        progress=events.append,
        retry=FAST_RETRY,
    )
    second = [e for e in events if e.file_index == 2 and e.state is DownloadState.DOWNLOADING]
    assert second and second[0].rate_bps, "the rate restarted from nothing at the second shard"
    assert events[-1].done == len(one) + len(two)


def test_requests_take_the_plan_option_files_as_listed(tmp_path: Path) -> None:
    from advisor.model.types import QuantOption
    from advisor.plan.types import OptionPlan, Verdict

    shards = (repo_file("Q4/a-00001-of-00002.gguf", b"a"), repo_file("Q4/a-00002-of-00002.gguf", b"bb"))
    mmproj = repo_file("mmproj-F16.gguf", b"ccc")
    option = QuantOption(quant="Q4", files=shards, size_bytes=3, companions=(mmproj,))
    plain = job.DownloadRequest.for_option(REPO_ID, None, option, tmp_path)
    assert plain.files == shards and plain.revision == "main" and plain.total_bytes == 3
    assert job.DownloadRequest.for_option(REPO_ID, "abc", option, tmp_path, include_companions=True).files == (
        *shards,
        mmproj,
    )
    planned = OptionPlan(quant="Q4", files=shards, size_bytes=3, verdict=Verdict.CPU, verdict_reason="")
    assert job.DownloadRequest.for_option(REPO_ID, "abc", planned, tmp_path, include_companions=True).files == shards


def test_space_check_counts_what_is_missing_against_the_real_free_space(dest: Path) -> None:
    small = request_for(dest, RepoFile("Q8_0/small-Q8_0.gguf", 1000, None))
    check = job.space_check(small)
    assert check.fits and check.remaining_bytes == 1000 and check.free_bytes > 0
    assert check.summary.startswith("Needs 1.0 kB more")

    huge = request_for(dest, RepoFile("Q8_0/huge-Q8_0.gguf", 10**18, None))  # 1 EB fits on no disk
    assert not job.space_check(huge).fits
    with pytest.raises(DiskFullError):
        job.check_disk_space(huge)

    (dest / "Q8_0").mkdir(parents=True)
    (dest / "Q8_0" / "small-Q8_0.gguf").write_bytes(b"x" * 1000)  # complete: nothing left to fetch
    done = job.space_check(small)
    assert done.fits and done.remaining_bytes == 0 and "already" in done.summary
