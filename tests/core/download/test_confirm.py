"""Before a download of a catalog quant: the Hub's own file list (exact sizes, sha256) replaces the estimate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.download.job import confirm_files, needs_confirmation
from advisor.errors import DownloadError, GatedRepoError
from advisor.model.resolve import resolve_model
from advisor.model.types import RepoFile
from tests.core.download.helpers import payload
from tests.fixtures.hubserver import HubServer

REPO = "org/Est-GGUF"


def _shards(repo, quant: str, sizes: list[int], seed: int = 1) -> list[RepoFile]:
    files = []
    for n, size in enumerate(sizes, start=1):
        path = f"{quant}/Est-{quant}-{n:05d}-of-{len(sizes):05d}.gguf"
        data = payload(size, seed + n)
        repo.add_file(path, data)
        files.append(RepoFile(path, size, hashlib.sha256(data).hexdigest()))
    return files


def test_the_hub_list_replaces_an_estimate_and_says_what_changed(hub: HubServer) -> None:
    repo = hub.add_repo(REPO)
    live = _shards(repo, "Q8_0", [300_000, 200_000, 100_000])
    repo.add_file("mmproj-Est-f16.gguf", b"p" * 1000)
    planned = (
        RepoFile("Q8_0/Est-Q8_0-00001-of-00002.gguf", 300_000),
        RepoFile("Q8_0/Est-Q8_0-00002-of-00002.gguf", 300_000),
    )
    assert needs_confirmation("catalog", planned) and needs_confirmation("hub", planned)
    confirmed = confirm_files(REPO, None, "Q8_0", planned, companions=("mmproj-Est-f16.gguf", "mmproj-gone.gguf"))
    assert confirmed.files[:3] == tuple(live)  # exact sizes and the LFS sha256 of every shard
    assert confirmed.files[3].path == "mmproj-Est-f16.gguf" and confirmed.files[3].size_bytes == 1000
    text = " ".join(confirmed.changes)
    assert "splits Q8_0 into 3 file(s), not the 2" in text
    assert "600.0 kB on the Hub (the plan said 600.0 kB" not in text  # same total: no size sentence
    assert "No longer on the Hub, so not downloaded: mmproj-gone.gguf." in text


def test_an_exact_plan_needs_no_change(hub: HubServer) -> None:
    repo = hub.add_repo(REPO)
    live = _shards(repo, "Q4_K_M", [50_000, 70_000])
    assert not needs_confirmation("hub", live)
    confirmed = confirm_files(REPO, "main", "q4_k_m", live)
    assert confirmed.files == tuple(live) and confirmed.changes == ()


def test_a_size_difference_is_stated(hub: HubServer) -> None:
    repo = hub.add_repo(REPO)
    (live,) = _shards(repo, "Q8_0", [123_456])
    planned = (RepoFile(live.path, 100_000),)
    confirmed = confirm_files(REPO, None, "Q8_0", planned)
    assert confirmed.files == (live,)
    (change,) = confirmed.changes
    assert change == "Q8_0 is 123.5 kB on the Hub (the plan said 100.0 kB: an estimate from the bundled catalog)."


def test_a_quant_the_hub_no_longer_has_is_a_clear_error(hub: HubServer) -> None:
    repo = hub.add_repo(REPO)
    _shards(repo, "Q8_0", [1000])
    with pytest.raises(DownloadError) as info:
        confirm_files(REPO, None, "Q2_K", (RepoFile("Q2_K/x.gguf", 10),))
    assert "has no Q2_K files on the Hub now (it has: Q8_0)" in info.value.message
    assert "catalog-refresh" in (info.value.hint or "")


def test_a_gated_repo_that_refuses_the_listing_names_the_page_to_accept(hub: HubServer) -> None:
    repo = hub.add_repo(REPO, gated=True)
    _shards(repo, "Q8_0", [1000])
    with pytest.raises(GatedRepoError) as info:
        confirm_files(REPO, None, "Q8_0", (RepoFile("Q8_0/x.gguf", 10),))
    assert REPO in info.value.message


def test_downloading_a_catalog_quant_uses_the_hub_list(
    hub: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundled MiniMax entry lists three shards of about 61 GB; the (loopback) Hub's are small and exact."""
    model = resolve_model("minimax-m2.7")
    planned = model.option("UD-IQ1_M").files
    repo = hub.add_repo(model.repo)
    live = []
    for n, f in enumerate(planned, start=1):
        data = payload(20_000 * n, n)
        repo.add_file(f.path, data)
        live.append((f.path, data))
    dest = tmp_path / "out"
    assert main(["download", "minimax-m2.7", "UD-IQ1_M", "--dest", str(dest), "--yes"]) == 0
    captured = capsys.readouterr()
    assert "Checking UD-IQ1_M's files on the Hub" in captured.err
    assert "an estimate from the bundled catalog" in captured.err
    for path, data in live:
        assert (dest / path).read_bytes() == data


def test_the_manual_command_names_the_quants_folder_or_its_files() -> None:
    from advisor.download.manual import manual_download

    shards = (RepoFile("UD-Q4_K_M/m-00001-of-00002.gguf", 1), RepoFile("UD-Q4_K_M/m-00002-of-00002.gguf", 1))
    cmd = manual_download("unsloth/M-GGUF", shards, "/data/my models").command
    assert cmd == "hf download unsloth/M-GGUF --include 'UD-Q4_K_M/*' --local-dir '/data/my models'"
    flat = (RepoFile("m-Q8_0.gguf", 1), RepoFile("mmproj-m-f16.gguf", 1))
    cmd = manual_download("org/m", flat, "/data").command
    assert cmd == "hf download org/m m-Q8_0.gguf mmproj-m-f16.gguf --local-dir /data"
