"""RAM: real sizes, a real bandwidth measurement, its per-machine cache, and the OS caps."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from advisor.hardware import memory
from advisor.hardware.memory import (
    SKIP_ENV,
    cache_key,
    cached_bandwidth,
    cgroup_limit_bytes,
    is_wsl,
    measure_copy_bandwidth,
    read_memory,
)
from tests.core.hardware.fakes import GIB, write_tree


def test_real_copy_benchmark_gives_a_plausible_bandwidth() -> None:
    gbps = measure_copy_bandwidth(threads=2, budget_s=0.3)
    # Any RAM made this century copies faster than 0.5 GB/s, and none reaches 20 TB/s.
    assert 0.5 < gbps < 20_000


def test_measured_once_then_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)
    measured: list[float] = []

    def fake_measure() -> float:
        measured.append(42.0)
        return 42.0

    first = read_memory("Test CPU", measure=fake_measure)
    second = read_memory("Test CPU", measure=fake_measure)
    assert first.memory.bandwidth_gbps == second.memory.bandwidth_gbps == 42.0
    assert first.memory.bandwidth_source == "measured"
    assert len(measured) == 1  # the second probe reads the cache
    assert cached_bandwidth(cache_key("Test CPU", first.memory.total_bytes)) == 42.0
    # A different CPU (or RAM size) is a different machine and measures again.
    read_memory("Other CPU", measure=fake_measure)
    assert len(measured) == 2


def test_env_var_skips_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SKIP_ENV, "1")

    def must_not_run() -> float:
        raise AssertionError("measured although skipped")

    reading = read_memory("Skip CPU", measure=must_not_run)
    assert reading.memory.bandwidth_gbps is None and reading.memory.bandwidth_source is None
    assert any("not measured" in n for n in reading.notes)


def test_argument_skips_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)

    def must_not_run() -> float:
        raise AssertionError("measured although skipped")

    assert read_memory("Arg CPU", measure_bandwidth=False, measure=must_not_run).memory.bandwidth_gbps is None


def test_failing_benchmark_is_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)

    def broken() -> float:
        raise MemoryError("no room")

    reading = read_memory("Broken CPU", measure=broken)
    assert reading.memory.bandwidth_gbps is None
    assert any("benchmark failed" in n for n in reading.notes)


def test_corrupt_cache_file_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)
    path = memory._cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    reading = read_memory("Corrupt CPU", measure=lambda: 10.0)
    assert reading.memory.bandwidth_gbps == 10.0
    assert json.loads(path.read_text(encoding="utf-8"))  # rewritten as valid JSON


def test_sizes_are_the_real_ones() -> None:
    mem = read_memory("Real", measure_bandwidth=False).memory
    assert mem.total_bytes == psutil.virtual_memory().total
    assert mem.available_bytes is not None and 0 < mem.available_bytes <= mem.total_bytes


@pytest.mark.parametrize(
    ("osrelease", "expected"),
    [("5.15.167.4-microsoft-standard-WSL2", True), ("4.4.0-19041-Microsoft", True), ("6.8.0-45-generic", False)],
)
def test_wsl_detection(osrelease: str, expected: bool) -> None:
    assert is_wsl(osrelease) is expected


def test_wsl_note_explains_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "is_wsl", lambda: True)
    reading = read_memory("WSL CPU", measure_bandwidth=False)
    assert reading.is_wsl
    assert reading.memory.limit_reason and ".wslconfig" in reading.memory.limit_reason


def test_cgroup_limit(tmp_path: Path) -> None:
    write_tree(tmp_path, {"memory.max": f"{8 * GIB}\n"})
    assert cgroup_limit_bytes(str(tmp_path)) == 8 * GIB
    write_tree(tmp_path, {"memory.max": "max\n"})
    assert cgroup_limit_bytes(str(tmp_path)) is None
    assert cgroup_limit_bytes(str(tmp_path / "absent")) is None
