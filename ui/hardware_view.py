"""The machine in plain words: one line per part, no jargon a newcomer has to look up."""

from __future__ import annotations

from advisor.format import mem_size
from advisor.hardware.types import Gpu, Hardware

_SOURCE_WORDS = {
    "measured": "measured",
    "spec": "from the spec sheet",
    "user": "set by you",
    "calibrated": "calibrated",
}


def _bandwidth(gbps: float | None, source: str | None) -> str:
    if gbps is None:
        return "speed unknown"
    how = _SOURCE_WORDS.get(source or "", source or "")
    return f"{gbps:.0f} GB/s" + (f" ({how})" if how else "")


def gpu_line(gpu: Gpu) -> str:
    vram = mem_size(gpu.vram_total_bytes) if gpu.vram_total_bytes else "memory unknown"
    shared = ", shares system memory" if gpu.unified_memory else ""
    extra = []
    if gpu.compute_capability:
        extra.append(f"compute {gpu.compute_capability}")
    if gpu.driver_version:
        extra.append(f"driver {gpu.driver_version}")
    if gpu.cuda_driver_version:
        extra.append(f"CUDA {gpu.cuda_driver_version}")
    tail = f" — {', '.join(extra)}" if extra else ""
    return f"GPU {gpu.index}: {gpu.name}, {vram}{shared}, {_bandwidth(gpu.bandwidth_gbps, gpu.bandwidth_source)}{tail}"


def hardware_lines(hw: Hardware) -> list[str]:
    cpu = hw.cpu.name or "Unknown CPU"
    cores = f", {hw.cpu.physical_cores} cores" if hw.cpu.physical_cores else ""
    lines = [f"Processor: {cpu}{cores}"]
    speed = _bandwidth(hw.memory.bandwidth_gbps, hw.memory.bandwidth_source)
    ram = f"Memory: {mem_size(hw.memory.total_bytes)} RAM, {speed}"
    if hw.memory.limit_bytes:
        ram += f" (limited to {mem_size(hw.memory.limit_bytes)}: {hw.memory.limit_reason or 'by the system'})"
    lines.append(ram)
    if hw.gpus:
        lines.extend(gpu_line(g) for g in hw.gpus)
    else:
        lines.append("Graphics: no GPU that llama.cpp can use was found; models run on the processor.")
    if hw.disk and hw.disk.free_bytes is not None:
        from advisor.format import file_size

        lines.append(f"Disk: {file_size(hw.disk.free_bytes)} free at {hw.disk.path}")
    if hw.llama_cpp and (hw.llama_cpp.build or hw.llama_cpp.backend):
        cuda = f", built with CUDA {hw.llama_cpp.cuda_version}" if hw.llama_cpp.cuda_version else ""
        lines.append(f"llama.cpp: {hw.llama_cpp.build or 'found'} ({hw.llama_cpp.backend or 'unknown backend'}{cuda})")
    return lines


def hardware_one_line(hw: Hardware) -> str:
    """A short summary for the window's top line."""
    parts = [f"{mem_size(hw.memory.total_bytes)} RAM"]
    parts += [f"{g.name} ({mem_size(g.vram_total_bytes)})" if g.vram_total_bytes else g.name for g in hw.gpus]
    label = f"{hw.label}: " if hw.label else ""
    return label + (hw.cpu.name or "CPU") + " · " + " · ".join(parts)


def device_titles(hw: Hardware | None) -> dict[str, str]:
    """Chart labels for llama.cpp's buffer names (CUDA0 -> 'GPU 0: RTX 4090')."""
    titles = {"CPU": "System RAM"}
    if hw is None:
        return titles
    for g in hw.gpus:
        for prefix in ("CUDA", "ROCm", "Vulkan", "SYCL"):
            titles[f"{prefix}{g.index}"] = f"GPU {g.index}: {g.name}"
        if g.vendor == "apple":
            titles["Metal"] = f"{g.name} (shared memory)"
    return titles
