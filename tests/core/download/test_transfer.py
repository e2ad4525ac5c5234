"""A file set from the loopback Hub under real network faults: each test ends with the exact bytes verified at
the final path, or a clear error and nothing corrupt there."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from advisor.download import transfer
from advisor.download.job import DownloadState, download
from advisor.download.transfer import FileTarget, PartialState
from advisor.errors import ChecksumMismatchError, DownloadError, GatedRepoError, HubError
from tests.core.download.helpers import (
    FAST_RETRY,
    REPO_ID,
    leftovers,
    payload,
    repo_file,
    request_for,
    resolve_gets,
)
from tests.fixtures.hubserver import Fault, HubRepo, HubServer

SHARD_1 = "Q4_K_M/tiny-Q4_K_M-00001-of-00002.gguf"
SHARD_2 = "Q4_K_M/tiny-Q4_K_M-00002-of-00002.gguf"


def test_whole_set_lands_at_repo_paths_verified(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    one, two, card = payload(1_500_000, 1), payload(700_000, 2), b"# Tiny\n"
    repo.add_file(SHARD_1, one)
    repo.add_file(SHARD_2, two)
    repo.add_file("README.md", card)
    events = []
    result = download(
        request_for(
            dest, repo_file(SHARD_1, one), repo_file(SHARD_2, two), repo_file("README.md", card, with_hash=False)
        ),
        progress=events.append,
        retry=FAST_RETRY,
    )
    assert result.state is DownloadState.DONE
    assert (dest / SHARD_1).read_bytes() == one
    assert (dest / SHARD_2).read_bytes() == two
    assert (dest / "README.md").read_bytes() == card
    assert leftovers(dest) == sorted(["README.md", SHARD_1, SHARD_2])  # no .part or .part.json left
    assert result.fetched_bytes == len(one) + len(two) + len(card)
    assert events[0].state is DownloadState.QUEUED and events[-1].state is DownloadState.DONE
    assert events[-1].done == events[-1].total == len(one) + len(two) + len(card)


def test_connection_dropped_at_random_offsets_resumes_by_range(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(6_000_000, 3)
    repo.add_file(SHARD_1, data)
    rng = random.Random(7)
    drops = [rng.randrange(1, 1_400_000) for _ in range(4)]  # bytes into each response body
    hub.faults[SHARD_1] = Fault(drop_at=list(drops))

    result = download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)

    assert result.state is DownloadState.DONE
    assert (dest / SHARD_1).read_bytes() == data
    # Each retry asked for exactly the bytes after what had arrived: nothing refetched, nothing skipped.
    offsets, total = [], 0
    for d in drops:
        total += d
        offsets.append(f"bytes={total}-")
    assert resolve_gets(hub, SHARD_1) == [None, *offsets]
    assert result.fetched_bytes == len(data)


def test_server_errors_then_success(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(300_000, 4)
    repo.add_file(SHARD_1, data)
    hub.faults[SHARD_1] = Fault(statuses=[500, 503, 502])
    download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == data
    assert len(resolve_gets(hub, SHARD_1)) == 4


def test_server_errors_that_never_stop_give_a_clear_error(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(300_000, 5)
    repo.add_file(SHARD_1, data)
    hub.faults[SHARD_1] = Fault(statuses=[500] * 20)
    with pytest.raises(DownloadError, match=r"failed 5 times in a row \(the Hub answered HTTP 500\)"):
        download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)
    assert leftovers(dest) == []  # nothing arrived, so no empty partial is left either


def test_gated_repo_names_the_page_to_accept(hub: HubServer, dest: Path) -> None:
    gated = hub.add_repo(REPO_ID, gated=True)
    data = payload(1000, 6)
    gated.add_file(SHARD_1, data)
    with pytest.raises(GatedRepoError) as info:
        download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)
    assert info.value.url == f"{hub.endpoint}/{REPO_ID}"
    assert "accept" in info.value.message
    assert leftovers(dest) == []


def test_gated_repo_with_an_accepted_token_downloads(hub: HubServer, dest: Path) -> None:
    gated = hub.add_repo(REPO_ID, gated=True)
    hub.valid_tokens.add("hf_ok")
    data = payload(1000, 6)
    gated.add_file(SHARD_1, data)
    request = request_for(dest, repo_file(SHARD_1, data))
    download(type(request)(request.repo_id, request.revision, request.files, dest, token="hf_ok"), retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == data


def test_missing_file_says_which(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    repo.add_file("README.md", b"x")
    with pytest.raises(HubError, match=re.escape(f"{SHARD_1} is not in {REPO_ID}")):
        download(request_for(dest, repo_file(SHARD_1, b"never there")), retry=FAST_RETRY)
    assert leftovers(dest) == []


def test_corrupted_bytes_never_reach_the_final_name(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(400_000, 8)
    repo.add_file(SHARD_1, data)
    hub.faults[SHARD_1] = Fault(corrupt=True)
    request = request_for(dest, repo_file(SHARD_1, data))
    with pytest.raises(ChecksumMismatchError, match="arrived corrupted") as info:
        download(request, retry=FAST_RETRY)
    assert "nothing was written at the final name" in info.value.message
    assert leftovers(dest) == []  # the bad copy (ours) is gone, nothing at the final path

    hub.faults.pop(SHARD_1)
    download(request, retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == data


def test_slow_server_completes(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(400_000, 9)
    repo.add_file(SHARD_1, data)
    hub.faults[SHARD_1] = Fault(bytes_per_second=1_000_000)
    events = []
    download(request_for(dest, repo_file(SHARD_1, data)), progress=events.append, retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == data
    assert [e.done for e in events] == sorted(e.done for e in events)  # never goes backwards


def test_server_restart_between_runs_resumes(hub: HubServer, repo: HubRepo, dest: Path, monkeypatch) -> None:
    data = payload(2_000_000, 10)
    repo.add_file(SHARD_1, data)
    hub.faults[SHARD_1] = Fault(drop_at=[800_000])
    request = request_for(dest, repo_file(SHARD_1, data))
    with pytest.raises(DownloadError, match="kept in"):
        download(request, retry=type(FAST_RETRY)(attempts=1, first_delay_s=0.01))
    assert (dest / (SHARD_1 + ".part")).stat().st_size == 800_000

    second = HubServer()
    second.repos = hub.repos  # the same repository behind a new process on another port
    with second.start():
        monkeypatch.setenv("HF_ENDPOINT", second.endpoint)
        download(request, retry=FAST_RETRY)
        assert resolve_gets(second, SHARD_1) == ["bytes=800000-"]
    assert (dest / SHARD_1).read_bytes() == data
    assert leftovers(dest) == [SHARD_1]


def test_changed_remote_file_restarts_instead_of_splicing(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    old, new = payload(1_000_000, 11), payload(1_000_000, 12)  # same size: a splice would go unnoticed by size
    repo.add_file(SHARD_1, old)
    hub.faults[SHARD_1] = Fault(drop_at=[400_000])
    unhashed = repo_file(SHARD_1, old, with_hash=False)  # no sha256 to catch a splice: the etag must
    with pytest.raises(DownloadError):
        download(request_for(dest, unhashed), retry=type(FAST_RETRY)(attempts=1))
    state = PartialState.load(dest / (SHARD_1 + ".part.json"))
    assert state is not None and state.etag == repo.files[SHARD_1].sha256

    repo.add_file(SHARD_1, new)  # the owners replaced the file
    hub.reset_log()
    download(request_for(dest, unhashed), retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == new
    assert resolve_gets(hub, SHARD_1) == ["bytes=400000-", None]  # asked to resume, saw a new etag, restarted


def test_partial_of_an_older_plan_is_restarted(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    old, new = payload(900_000, 13), payload(900_000, 14)
    repo.add_file(SHARD_1, old)
    hub.faults[SHARD_1] = Fault(drop_at=[300_000])
    with pytest.raises(DownloadError):
        download(request_for(dest, repo_file(SHARD_1, old)), retry=type(FAST_RETRY)(attempts=1))
    repo.add_file(SHARD_1, new)
    hub.reset_log()
    download(request_for(dest, repo_file(SHARD_1, new)), retry=FAST_RETRY)  # the plan was looked up again
    assert (dest / SHARD_1).read_bytes() == new
    assert resolve_gets(hub, SHARD_1) == [None]


def test_file_changed_since_the_plan_is_refused(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    planned = payload(500_000, 15)
    repo.add_file(SHARD_1, payload(500_000, 16))
    with pytest.raises(DownloadError, match="changed on the Hub"):
        download(request_for(dest, repo_file(SHARD_1, planned)), retry=FAST_RETRY)
    assert leftovers(dest) == []


def test_present_verified_file_is_skipped(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    one, two = payload(200_000, 17), payload(100_000, 18)
    repo.add_file(SHARD_1, one)
    repo.add_file(SHARD_2, two)
    (dest / "Q4_K_M").mkdir(parents=True)
    (dest / SHARD_1).write_bytes(one)
    result = download(request_for(dest, repo_file(SHARD_1, one), repo_file(SHARD_2, two)), retry=FAST_RETRY)
    assert result.reused == (SHARD_1,)
    assert resolve_gets(hub, SHARD_1) == []
    assert (dest / SHARD_2).read_bytes() == two


def test_a_different_file_at_the_final_path_is_left_alone(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(200_000, 19)
    repo.add_file(SHARD_1, data)
    (dest / "Q4_K_M").mkdir(parents=True)
    mine = payload(200_000, 20)  # same size, other contents: the user's file
    (dest / SHARD_1).write_bytes(mine)
    with pytest.raises(DownloadError, match="does not overwrite"):
        download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == mine
    (dest / SHARD_1).write_bytes(b"short")  # another size: refused before any byte is fetched
    with pytest.raises(DownloadError, match="does not overwrite"):
        download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)
    assert resolve_gets(hub, SHARD_1) == []


def test_a_part_file_that_is_not_ours_is_left_alone(hub: HubServer, repo: HubRepo, dest: Path) -> None:
    data = payload(1000, 21)
    repo.add_file(SHARD_1, data)
    (dest / "Q4_K_M").mkdir(parents=True)
    (dest / (SHARD_1 + ".part")).write_bytes(b"someone else's")
    with pytest.raises(DownloadError, match="not started by Rigfit"):
        download(request_for(dest, repo_file(SHARD_1, data)), retry=FAST_RETRY)
    assert (dest / (SHARD_1 + ".part")).read_bytes() == b"someone else's"


@pytest.mark.parametrize("path", ["../escape.gguf", "/etc/passwd", "a/../../b.gguf"])
def test_repo_paths_cannot_leave_the_destination(dest: Path, path: str) -> None:
    with pytest.raises(DownloadError, match="outside the download folder"):
        _ = FileTarget(REPO_ID, "main", repo_file(path, b"x"), dest).final_path


def test_a_finished_file_is_not_hashed_again_until_it_changes(
    hub: HubServer, repo: HubRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(300_000, 22)
    repo.add_file(SHARD_1, data)
    request = request_for(dest, repo_file(SHARD_1, data))
    download(request, retry=FAST_RETRY)

    def must_not_hash(*args: object) -> str:
        raise AssertionError("re-hashed a file verified before")

    with monkeypatch.context() as patched:
        patched.setattr(transfer, "_hash_file", must_not_hash)
        assert download(request, retry=FAST_RETRY).reused == (SHARD_1,)

    tampered = bytearray(data)
    tampered[1000] ^= 0xFF
    time.sleep(0.01)
    (dest / SHARD_1).write_bytes(bytes(tampered))  # same size, new contents and mtime: hashed, and refused
    with pytest.raises(DownloadError, match="does not overwrite"):
        download(request, retry=FAST_RETRY)
    assert (dest / SHARD_1).read_bytes() == bytes(tampered)
