"""System RAM: size, what is free, the caps an OS puts on it, and its bandwidth measured by a copy benchmark.

Token generation on the CPU is bound by how fast weights stream from RAM, so the planner needs a bandwidth
figure. A spec sheet cannot know how many channels are populated; a short copy benchmark can. It runs once
per machine (about a second) and is cached in the user cache dir keyed by CPU name and RAM size.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from advisor.hardware.types import Memory

SKIP_ENV = "RIGFIT_SKIP_BANDWIDTH"
_CACHE_FILE = "bandwidth.json"
#: Source bytes copied per round by all threads together (plus as many written): with the destination, a
#: working set larger than the last-level cache of nearly every CPU, and quick to allocate on a small laptop.
_TOTAL_BYTES = 128 * 2**20
_MAX_THREADS = 8


@dataclass(frozen=True)
class MemoryReading:
    memory: Memory
    is_wsl: bool = False
    notes: tuple[str, ...] = ()


def bandwidth_skipped_by_env() -> bool:
    return os.environ.get(SKIP_ENV, "").strip().lower() not in ("", "0", "false", "no")


def is_wsl(osrelease_text: str | None = None) -> bool:
    """True inside Windows Subsystem for Linux (the kernel release names Microsoft)."""
    if osrelease_text is None:
        try:
            osrelease_text = Path("/proc/sys/kernel/osrelease").read_text(encoding="utf-8")
        except OSError:
            return False
    text = osrelease_text.lower()
    return "microsoft" in text or "wsl" in text


def cgroup_limit_bytes(root: str = "/sys/fs/cgroup") -> int | None:
    """The cgroup v2 (or v1) memory cap of this process's container, or None when there is none."""
    for rel in ("memory.max", "memory/memory.limit_in_bytes"):
        try:
            text = (Path(root) / rel).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def cache_key(cpu_name: str | None, total_bytes: int) -> str:
    """One machine = one CPU model with one RAM size; a RAM upgrade measures again."""
    return f"{cpu_name or 'unknown cpu'}|{total_bytes}"


def _cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("rigfit", appauthor=False)) / _CACHE_FILE


def cached_bandwidth(key: str) -> float | None:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
        value = data.get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and value > 0 else None


def store_bandwidth(key: str, gbps: float) -> None:
    path = _cache_path()
    try:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data[key] = round(gbps, 2)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs a re-measurement next time


def measure_copy_bandwidth(*, threads: int | None = None, budget_s: float = 1.0) -> float:
    """RAM bandwidth in GB/s (10^9 bytes) from numpy copies between buffers far larger than the caches.

    Counted like STREAM's Copy: each copied byte is read once and written once (2 x size). Several threads
    copy their own buffers at once (numpy releases the GIL for large copies) because one core rarely
    saturates all memory channels. The best of the repeats within ``budget_s`` (allocation included, at least
    three rounds) is reported.
    """
    import numpy as np

    deadline = time.perf_counter() + budget_s
    count = max(1, min(threads or (os.cpu_count() or 1), _MAX_THREADS))
    per_thread = _TOTAL_BYTES // count
    elements = per_thread // 8
    pairs = [(np.ones(elements, dtype=np.float64), np.empty(elements, dtype=np.float64)) for _ in range(count)]
    for src, dst in pairs:  # touch every page before timing
        np.copyto(dst, src)

    barrier = threading.Barrier(count + 1)

    def worker(src: np.ndarray, dst: np.ndarray) -> None:
        barrier.wait()
        np.copyto(dst, src)
        barrier.wait()

    best = 0.0
    rounds = 0
    while rounds < 3 or (time.perf_counter() < deadline and rounds < 30):
        workers = [threading.Thread(target=worker, args=pair, daemon=True) for pair in pairs]
        for t in workers:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        barrier.wait()
        elapsed = time.perf_counter() - start
        for t in workers:
            t.join()
        rounds += 1
        if elapsed > 0:
            best = max(best, 2 * elements * 8 * count / elapsed / 1e9)
    return best


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except Exception:
        return None


def _measure_and_store(
    key: str,
    measure: Callable[[], float] | None,
    progress: Callable[[str], None] | None,
    notes: list[str],
) -> float | None:
    if progress:
        progress("Measuring RAM bandwidth (about a second)")
    try:
        gbps = (measure or (lambda: measure_copy_bandwidth(threads=_physical_cores())))()
    except Exception as exc:  # e.g. MemoryError on a nearly full machine
        notes.append(f"The RAM bandwidth benchmark failed ({exc}).")
        return None
    if not gbps or gbps <= 0:
        return None
    gbps = round(gbps, 2)
    store_bandwidth(key, gbps)
    return gbps


def read_memory(
    cpu_name: str | None,
    *,
    measure_bandwidth: bool = True,
    progress: Callable[[str], None] | None = None,
    measure: Callable[[], float] | None = None,
) -> MemoryReading:
    """Total/available RAM, OS caps, and bandwidth (cached measurement); never raises."""
    notes: list[str] = []
    total = available = swap = None
    try:
        import psutil

        vm = psutil.virtual_memory()
        total, available = int(vm.total), int(vm.available)
        swap = int(psutil.swap_memory().total)
    except Exception as exc:
        notes.append(f"Could not read the RAM size ({exc}).")
    limit = reason = None
    wsl = is_wsl()
    if wsl:
        from advisor.hardware.specs import memory_facts

        reason = memory_facts()["wsl"]["note"]
        notes.append(reason)
    cgroup = cgroup_limit_bytes()
    if cgroup is not None and total is not None and cgroup < total:
        limit, reason = cgroup, "This process runs in a container whose memory limit is below the machine's RAM."
        notes.append(f"Memory is capped at {cgroup / 2**30:.1f} GiB by the container (cgroup memory limit).")

    bandwidth = None
    if total is not None:
        key = cache_key(cpu_name, total)
        bandwidth = cached_bandwidth(key)
        skipped = not measure_bandwidth or bandwidth_skipped_by_env()
        if bandwidth is None and not skipped:
            bandwidth = _measure_and_store(key, measure, progress, notes)
        elif bandwidth is None:
            notes.append("RAM bandwidth was not measured (skipped); speed estimates use a default.")
    source = "measured" if bandwidth is not None else None
    memory = Memory(
        total_bytes=total or 0,
        available_bytes=available,
        bandwidth_gbps=bandwidth,
        bandwidth_source=source,
        swap_total_bytes=swap,
        limit_bytes=limit,
        limit_reason=reason,
    )
    return MemoryReading(memory, wsl, tuple(notes))
