"""``rigfit download`` end to end: resolve a repo on the loopback Hub, confirm, download, resume after a kill.

Needs the model layer (``advisor.model.resolve``) and its GGUF fixture writer; skipped where they are absent.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor.cli import main
from tests.core.download.helpers import leftovers, resolve_gets
from tests.fixtures.hubserver import Fault, HubServer

pytest.importorskip("advisor.model.resolve")
ggufs = pytest.importorskip("tests.fixtures.ggufs")

ROOT = Path(__file__).resolve().parents[3]
REPO = "org/Tiny-GGUF"


@pytest.fixture
def shards(hub: HubServer, tmp_path: Path) -> list[tuple[str, bytes]]:
    """A split Q8_0 (about 4 MB) and a one-file F16 on the Hub; returns the Q8_0 shards (repo path, bytes)."""
    spec = ggufs.GGUFSpec(n_vocab=8000, n_embd=128, tied_embeddings=True)
    repo = hub.add_repo(REPO, card_data={"license": "mit"})
    (tmp_path / "src").mkdir()
    files = []
    for path in ggufs.write_gguf(tmp_path / "src" / "Tiny-Q8_0.gguf", spec, split_max_tensors=4):
        repo.add_file(f"Q8_0/{path.name}", disk_path=path)
        files.append((f"Q8_0/{path.name}", path.read_bytes()))
    (other,) = ggufs.write_gguf(tmp_path / "src" / "Tiny-F16.gguf", ggufs.GGUFSpec())
    repo.add_file(other.name, disk_path=other)
    repo.add_file("README.md", b"# Tiny\n")
    assert len(files) >= 2
    return files


def test_download_with_yes_writes_exactly_the_listed_files(
    shards: list[tuple[str, bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "out"
    assert main(["download", REPO, "q8_0", "--dest", str(dest), "--yes"]) == 0
    out = capsys.readouterr().out
    for path, data in shards:
        assert (dest / path).read_bytes() == data
        assert path in out
    assert leftovers(dest) == sorted(p for p, _ in shards)  # the F16 and README were not in the option
    assert "verified" in out

    assert main(["download", REPO, "Q8_0", "--dest", str(dest), "--yes"]) == 0  # again: all there, nothing fetched
    assert "0 B to fetch" in capsys.readouterr().out


def test_optional_files_are_listed_and_fetched_only_when_asked(
    shards: list[tuple[str, bytes]], hub: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    projector = bytes(range(256)) * 100
    hub.repos[REPO].add_file("mmproj-Tiny-f16.gguf", projector)
    dest = tmp_path / "out"
    assert main(["download", REPO, "Q8_0", "--dest", str(dest), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Optional files, not included (add --include-companions" in out
    assert "mmproj-Tiny-f16.gguf" in out and "vision projector" in out
    assert not (dest / "mmproj-Tiny-f16.gguf").exists()

    assert main(["download", REPO, "Q8_0", "--dest", str(dest), "--yes", "--include-companions"]) == 0
    assert (dest / "mmproj-Tiny-f16.gguf").read_bytes() == projector
    assert "Optional files" not in capsys.readouterr().out


def test_declining_downloads_nothing(
    shards: list[tuple[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: HubServer
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    hub.reset_log()
    assert main(["download", REPO, "Q8_0", "--dest", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
    assert all(resolve_gets(hub, path) == [] for path, _ in shards)


def test_unknown_quant_lists_the_available_ones(
    shards: list[tuple[str, bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["download", REPO, "Q2_K", "--dest", str(tmp_path / "out"), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "Q2_K" in err and "Q8_0" in err


def test_killed_mid_file_then_rerun_resumes(shards: list[tuple[str, bytes]], tmp_path: Path, hub: HubServer) -> None:
    dest = tmp_path / "out"
    first_path, first_data = shards[0]
    hub.faults[first_path] = Fault(bytes_per_second=1_000_000)
    part = dest / (first_path + ".part")
    command = [sys.executable, "-m", "advisor", "download", REPO, "Q8_0", "--dest", str(dest), "--yes"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size >= 300_000):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "no partial appeared"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.communicate(timeout=10)
    saved = part.stat().st_size
    assert saved < len(first_data)

    hub.faults.pop(first_path)
    hub.reset_log()
    rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "saved earlier: resumes" in rerun.stdout
    assert resolve_gets(hub, first_path) == [f"bytes={saved}-"]
    for path, data in shards:
        assert hashlib.sha256((dest / path).read_bytes()).digest() == hashlib.sha256(data).digest()
    assert leftovers(dest) == sorted(p for p, _ in shards)
