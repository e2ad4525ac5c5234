"""NVIDIA GPUs through NVML (package ``nvidia-ml-py``, module ``pynvml``).

Every NVML call is guarded on its own: an old driver lacks some functions, a laptop refuses PCIe queries, a
machine without the driver has no library at all. Each failure leaves one field empty and says why in a note.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from advisor.hardware.specs import gpu_spec
from advisor.hardware.types import Gpu

T = TypeVar("T")

#: When NVML's clock x bus figure and the spec table disagree by more than this, the table wins (and we say so).
_BANDWIDTH_TOLERANCE = 0.25


@dataclass(frozen=True)
class NvidiaReading:
    gpus: tuple[Gpu, ...] = ()
    notes: tuple[str, ...] = ()


def cuda_version_from_int(value: int | None) -> str | None:
    """NVML/CUDA encode versions as 1000*major + 10*minor: 12040 -> "12.4", 13020 -> "13.2"."""
    if not value or value <= 0:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


def peak_bandwidth_gbps(max_mem_clock_mhz: int | None, bus_width_bits: int | None) -> float | None:
    """2 transfers per clock x clock x bus bytes (the CUDA deviceQuery formula), in GB/s."""
    if not max_mem_clock_mhz or not bus_width_bits:
        return None
    return round(2 * max_mem_clock_mhz * 1e6 * bus_width_bits / 8 / 1e9, 1)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _architecture_names(nvml: Any) -> dict[int, str]:
    """NVML_DEVICE_ARCH_* constants of the installed binding, as lower-case names (8 -> "ada")."""
    names: dict[int, str] = {}
    for attr in dir(nvml):
        if attr.startswith("NVML_DEVICE_ARCH_") and attr != "NVML_DEVICE_ARCH_UNKNOWN":
            value = getattr(nvml, attr)
            if isinstance(value, int):
                names[value] = attr.removeprefix("NVML_DEVICE_ARCH_").lower()
    return names


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def read_nvidia(progress: Callable[[str], None] | None = None) -> NvidiaReading:
    """All NVIDIA GPUs NVML can see; never raises."""
    try:
        import pynvml as nvml
    except Exception as exc:  # the binding itself missing is a packaging problem, not the user's
        return NvidiaReading(notes=(f"The NVML Python binding (nvidia-ml-py) is not installed ({exc}).",))

    notes: list[str] = []
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        return NvidiaReading(notes=(_init_note(nvml, exc),))
    except Exception as exc:
        return NvidiaReading(notes=(f"NVML could not start ({exc}); NVIDIA GPUs were not probed.",))

    try:

        def call(label: str, fn: Callable[[], T], gpu_label: str | None = None) -> T | None:
            try:
                return fn()
            except nvml.NVMLError as exc:
                where = f"{gpu_label}: " if gpu_label else ""
                if isinstance(exc, getattr(nvml, "NVMLError_NotSupported", ())):
                    notes.append(f"{where}NVML does not support reading the {label} on this GPU/driver.")
                elif isinstance(exc, getattr(nvml, "NVMLError_FunctionNotFound", ())):
                    notes.append(f"{where}the driver is too old to report the {label} (NVML function missing).")
                else:
                    notes.append(f"{where}NVML could not read the {label} ({_error_text(exc)}).")
            except Exception as exc:
                where = f"{gpu_label}: " if gpu_label else ""
                notes.append(f"{where}reading the {label} failed ({exc}).")
            return None

        driver = call("driver version", nvml.nvmlSystemGetDriverVersion)
        driver = _text(driver) if driver is not None else None
        cuda_int = None
        if hasattr(nvml, "nvmlSystemGetCudaDriverVersion_v2"):
            cuda_int = call("CUDA driver version", nvml.nvmlSystemGetCudaDriverVersion_v2)
        if cuda_int is None and hasattr(nvml, "nvmlSystemGetCudaDriverVersion"):
            cuda_int = call("CUDA driver version", nvml.nvmlSystemGetCudaDriverVersion)
        cuda = cuda_version_from_int(cuda_int)
        count = call("GPU count", nvml.nvmlDeviceGetCount) or 0
        arch_names = _architecture_names(nvml)
        gpus = []
        for index in range(count):
            if progress:
                progress(f"Reading NVIDIA GPU {index}")
            gpu = _read_device(nvml, index, call, arch_names, driver, cuda, notes)
            if gpu is not None:
                gpus.append(gpu)
        return NvidiaReading(tuple(gpus), tuple(notes))
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()


def _init_note(nvml: Any, exc: BaseException) -> str:
    if isinstance(exc, getattr(nvml, "NVMLError_LibraryNotFound", ())):
        return "No NVIDIA driver found (NVML library not present); NVIDIA GPUs were not probed."
    if isinstance(exc, getattr(nvml, "NVMLError_DriverNotLoaded", ())):
        return "The NVIDIA driver is installed but not loaded (NVML: driver not loaded); NVIDIA GPUs were not probed."
    if isinstance(exc, getattr(nvml, "NVMLError_NoPermission", ())):
        return "No permission to query the NVIDIA driver (NVML: insufficient permissions)."
    return f"NVML could not start ({_error_text(exc)}); NVIDIA GPUs were not probed."


def _read_device(
    nvml: Any,
    index: int,
    call: Callable[..., Any],
    arch_names: dict[int, str],
    driver: str | None,
    cuda: str | None,
    notes: list[str],
) -> Gpu | None:
    handle = call(f"handle of GPU {index}", lambda: nvml.nvmlDeviceGetHandleByIndex(index))
    if handle is None:
        return None
    label = f"GPU {index}"
    raw_name = call("name", lambda: nvml.nvmlDeviceGetName(handle), label)
    name = _text(raw_name) if raw_name is not None else f"NVIDIA GPU {index}"
    label = f"GPU {index} ({name})"
    uuid = call("UUID", lambda: nvml.nvmlDeviceGetUUID(handle), label)
    memory = call("memory size", lambda: nvml.nvmlDeviceGetMemoryInfo(handle), label)
    total = int(memory.total) if memory is not None else None
    free = int(memory.free) if memory is not None else None
    cc = call("compute capability", lambda: nvml.nvmlDeviceGetCudaComputeCapability(handle), label)
    compute_capability = f"{cc[0]}.{cc[1]}" if cc else None
    arch_code = call("architecture", lambda: nvml.nvmlDeviceGetArchitecture(handle), label)
    architecture = arch_names.get(arch_code) if isinstance(arch_code, int) else None
    bus = call("memory bus width", lambda: nvml.nvmlDeviceGetMemoryBusWidth(handle), label)
    clock = call("maximum memory clock", lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM), label)
    gen = call("PCIe generation", lambda: nvml.nvmlDeviceGetMaxPcieLinkGeneration(handle), label)
    width = call("PCIe link width", lambda: nvml.nvmlDeviceGetMaxPcieLinkWidth(handle), label)

    spec = gpu_spec(name, vram_bytes=total, vendor="nvidia")
    # NVML's clock x bus width is the card's peak by specification, not a measurement: source "spec" either way.
    from_nvml = peak_bandwidth_gbps(clock, bus)
    bandwidth = from_nvml
    if spec and spec.bandwidth_gbps:
        if from_nvml is None:
            bandwidth = spec.bandwidth_gbps
        elif abs(from_nvml - spec.bandwidth_gbps) / spec.bandwidth_gbps > _BANDWIDTH_TOLERANCE:
            notes.append(
                f"{label}: NVML's memory clock and bus width give {from_nvml:g} GB/s but the spec table says "
                f"{spec.bandwidth_gbps:g} GB/s; using the spec table."
            )
            bandwidth = spec.bandwidth_gbps
    if bandwidth is None:
        notes.append(f"{label}: memory bandwidth unknown (NVML did not report it and the card is not in the table).")
    if architecture is None and spec is not None:
        architecture = spec.architecture
    if compute_capability is None and spec is not None:
        compute_capability = spec.compute_capability
    unified = bool(spec and spec.unified)
    if total is None and unified:
        notes.append(f"{label}: shares system RAM; its memory is the machine's unified memory.")
    return Gpu(
        vendor="nvidia",
        name=name,
        index=index,
        uuid=_text(uuid) if uuid is not None else None,
        vram_total_bytes=total,
        vram_free_bytes=free,
        bandwidth_gbps=bandwidth,
        bandwidth_source="spec" if bandwidth is not None else None,
        compute_capability=compute_capability,
        architecture=architecture,
        pcie_generation=gen if isinstance(gen, int) else None,
        pcie_width=width if isinstance(width, int) else None,
        driver_version=driver,
        cuda_driver_version=cuda,
        unified_memory=unified,
        fp16_tflops=spec.fp16_tflops if spec else None,
    )
