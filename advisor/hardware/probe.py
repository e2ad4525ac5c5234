"""``probe() -> Hardware``: everything Rigfit needs to know about this machine, read without ever failing.

Each part (CPU, RAM, each GPU vendor, disk, tools) is read by its own module and returns what it found plus
notes on what it could not read; a part that raises anyway becomes a note, so the probe always returns.
"""

from __future__ import annotations

import platform
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from advisor.hardware.types import Cpu, Gpu, Hardware, Memory

T = TypeVar("T")
Progress = Callable[[str], None]

#: Steps reported through ``progress``, in order; the GUI can show them as a checklist.
STEPS = (
    "Reading the CPU",
    "Reading memory",
    "Looking for NVIDIA GPUs",
    "Looking for other GPUs",
    "Checking free disk space",
    "Looking for llama.cpp and nvcc",
)


def _os_name(system: str) -> str:
    return {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}.get(system, system.lower() or "unknown")


def _fill_unified_pool(gpu: Gpu, memory: Memory) -> Gpu:
    """A unified GPU whose driver reports no memory (NVML on DGX Spark) shares the system RAM: say so in numbers."""
    if not gpu.unified_memory or gpu.vram_total_bytes is not None or not memory.total_bytes:
        return gpu
    return replace(
        gpu,
        vram_total_bytes=memory.total_bytes,
        vram_free_bytes=gpu.vram_free_bytes if gpu.vram_free_bytes is not None else memory.available_bytes,
    )


def _guarded(notes: list[str], what: str, fn: Callable[[], T], fallback: T) -> T:
    try:
        return fn()
    except Exception as exc:  # the probe's promise: a broken part is a note, never a crash
        notes.append(f"Could not read {what} ({type(exc).__name__}: {exc}).")
        return fallback


def probe(
    *,
    disk_path: str | None = None,
    measure_bandwidth: bool = True,
    progress: Progress | None = None,
    include_hostname: bool = False,
    sysfs_root: str = "/",
) -> Hardware:
    """This machine as a ``Hardware``; never raises. ``progress`` receives a short line per step."""
    say = progress or (lambda _message: None)
    notes: list[str] = []
    system = platform.system()

    say(STEPS[0])
    from advisor.hardware.cpu import CpuReading, read_cpu

    cpu_reading = _guarded(notes, "the CPU", lambda: read_cpu(system=system), CpuReading(Cpu()))
    notes.extend(cpu_reading.notes)
    cpu = cpu_reading.cpu

    say(STEPS[1])
    from advisor.hardware.memory import MemoryReading, read_memory

    memory_reading = _guarded(
        notes,
        "the memory",
        lambda: read_memory(cpu.name, measure_bandwidth=measure_bandwidth, progress=say),
        MemoryReading(Memory(total_bytes=0)),
    )
    notes.extend(memory_reading.notes)

    gpus: list[Gpu] = []
    say(STEPS[2])
    if system in ("Linux", "Windows"):
        from advisor.hardware.nvidia import NvidiaReading, read_nvidia

        nvidia = _guarded(notes, "NVIDIA GPUs", lambda: read_nvidia(progress=say), NvidiaReading())
        gpus.extend(nvidia.gpus)
        notes.extend(nvidia.notes)

    say(STEPS[3])
    if system == "Linux":
        from advisor.hardware.amd import AmdReading, read_amd
        from advisor.hardware.intel import IntelReading, read_intel

        amd = _guarded(notes, "AMD GPUs", lambda: read_amd(sysfs_root, first_index=len(gpus)), AmdReading())
        gpus.extend(amd.gpus)
        notes.extend(amd.notes)
        intel = _guarded(notes, "Intel GPUs", lambda: read_intel(sysfs_root, first_index=len(gpus)), IntelReading())
        gpus.extend(intel.gpus)
        notes.extend(intel.notes)
    elif system == "Darwin":
        from advisor.hardware.apple import read_apple

        apple_gpu, apple_notes = _guarded(notes, "the Apple GPU", read_apple, (None, ()))
        if apple_gpu is not None:
            gpus.append(apple_gpu)
        notes.extend(apple_notes)
    elif system == "Windows":
        notes.append("AMD and Intel GPUs are not detected on Windows yet; add them to a hardware file if you have one.")
    gpus = [_fill_unified_pool(g, memory_reading.memory) for g in gpus]
    if not gpus:
        notes.append("No GPU found: plans use the CPU and system RAM only.")

    say(STEPS[4])
    from advisor.hardware.disk import DiskReading, read_disk

    disk_reading = _guarded(notes, "the disk", lambda: read_disk(disk_path), DiskReading(None))
    notes.extend(disk_reading.notes)

    say(STEPS[5])
    from advisor.hardware.tools import ToolsReading, read_tools

    tools = _guarded(notes, "llama.cpp and nvcc", read_tools, ToolsReading(None, None))
    notes.extend(tools.notes)
    if not gpus and tools.llama_cpp is not None and tools.llama_cpp.path:
        from advisor.hardware.tools import gpus_from_llama

        path = tools.llama_cpp.path
        listed, listed_notes = _guarded(notes, "llama.cpp's device list", lambda: gpus_from_llama(path), ([], []))
        if listed:
            gpus = [_fill_unified_pool(g, memory_reading.memory) for g in listed]
            notes = [n for n in notes if not n.startswith("No GPU found")]
        notes.extend(listed_notes)

    return Hardware(
        cpu=cpu,
        memory=memory_reading.memory,
        gpus=tuple(gpus),
        disk=disk_reading.disk,
        llama_cpp=tools.llama_cpp,
        nvcc=tools.nvcc,
        os=_os_name(system),
        os_version=platform.release() or None,
        is_wsl=memory_reading.is_wsl,
        notes=tuple(dict.fromkeys(notes)),  # the same note from two parts once
        hostname=socket.gethostname() if include_hostname else None,
        probed_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )


def probe_with_progress(progress: Progress, **kwargs: object) -> Hardware:
    """``probe`` for callers that hand a progress callback positionally (the GUI's worker)."""
    return probe(progress=progress, **kwargs)  # type: ignore[arg-type]
