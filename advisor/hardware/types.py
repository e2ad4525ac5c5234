"""The machine a plan is made for: a frozen tree that serialises as ``rigfit.hardware/1``.

A saved or hand-written hardware file stands in for the live machine everywhere a plan is made, so every
field a user may not know is optional, and ``from_json`` accepts a whole ``rigfit.report/1`` too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from advisor.errors import HardwareFileError
from advisor.serialize import SchemaError, from_dict, to_dict

HARDWARE_SCHEMA = "rigfit.hardware/1"

#: Where a bandwidth figure came from: our own copy benchmark, a spec table, or the user.
BANDWIDTH_SOURCES = ("measured", "spec", "user", "calibrated")


@dataclass(frozen=True)
class Cpu:
    name: str | None = None
    vendor: str | None = None
    arch: str | None = None  # "x86_64", "arm64"
    physical_cores: int | None = None
    logical_cores: int | None = None
    sockets: int | None = None
    #: SIMD features llama.cpp cares about, lower-case: avx2, avx512f, avx512_bf16, avx512_vnni, amx, neon, sve, ...
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Memory:
    total_bytes: int
    available_bytes: int | None = None
    bandwidth_gbps: float | None = None
    bandwidth_source: str | None = None  # one of BANDWIDTH_SOURCES
    swap_total_bytes: int | None = None
    #: A cap below total_bytes that the OS imposes on processes (WSL's .wslconfig memory=, cgroups).
    limit_bytes: int | None = None
    limit_reason: str | None = None


@dataclass(frozen=True)
class Gpu:
    vendor: str  # "nvidia", "amd", "apple", "intel"
    name: str
    index: int = 0
    uuid: str | None = None
    vram_total_bytes: int | None = None
    vram_free_bytes: int | None = None
    bandwidth_gbps: float | None = None
    bandwidth_source: str | None = None  # one of BANDWIDTH_SOURCES
    compute_capability: str | None = None  # NVIDIA "8.9"
    architecture: str | None = None  # "ada", "gfx1151", "apple-m3"
    pcie_generation: int | None = None
    pcie_width: int | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None  # "12.4": the newest CUDA the driver supports
    #: The GPU shares system RAM (Apple Silicon, Strix Halo, DGX Spark, iGPUs).
    unified_memory: bool = False
    #: Most memory the GPU may use when unified (Apple's recommendedMaxWorkingSetSize, GTT size).
    working_set_limit_bytes: int | None = None
    fp16_tflops: float | None = None


@dataclass(frozen=True)
class Disk:
    path: str
    free_bytes: int | None = None
    total_bytes: int | None = None
    #: Sequential read speed of the disk, for streaming weights larger than RAM.
    read_gbps: float | None = None
    read_source: str | None = None


@dataclass(frozen=True)
class LlamaCpp:
    """A llama.cpp build found on PATH (or stated by the user for another machine)."""

    build: str | None = None  # "b8746"
    backend: str | None = None  # "cuda", "metal", "vulkan", "rocm", "cpu"
    cuda_version: str | None = None  # toolkit the build used, "13.2.1"
    path: str | None = None


@dataclass(frozen=True)
class Nvcc:
    version: str | None = None  # "13.2.1"
    path: str | None = None
    #: nvcc's own build number as printed ("V13.2.78"), from which ``version`` is looked up.
    compiler_version: str | None = None


@dataclass(frozen=True)
class Hardware:
    cpu: Cpu
    memory: Memory
    gpus: tuple[Gpu, ...] = ()
    disk: Disk | None = None
    llama_cpp: LlamaCpp | None = None
    nvcc: Nvcc | None = None
    os: str | None = None  # "linux", "windows", "macos"
    os_version: str | None = None
    is_wsl: bool = False
    #: Human notes on what could not be read, e.g. "NVML library not found: no NVIDIA driver".
    notes: tuple[str, ...] = ()
    #: Optional name for the machine ("head", "my future server"); hostname only when the user asks.
    label: str | None = None
    hostname: str | None = None
    probed_at: str | None = None

    @property
    def unified(self) -> bool:
        return any(g.unified_memory for g in self.gpus)

    def with_notes(self, *notes: str) -> Hardware:
        return replace(self, notes=self.notes + tuple(notes))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": HARDWARE_SCHEMA, **to_dict(self)}

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "hardware file") -> Hardware:
        if not isinstance(data, dict):
            raise HardwareFileError(f"The {source} is not a JSON object.")
        schema = data.get("schema")
        if schema == "rigfit.report/1" and isinstance(data.get("hardware"), dict):
            data = data["hardware"]
            schema = data.get("schema", HARDWARE_SCHEMA)
        if schema is not None and schema != HARDWARE_SCHEMA:
            raise HardwareFileError(
                f"The {source} has schema {schema!r}; Rigfit reads {HARDWARE_SCHEMA!r}.",
                hint="Save a new one with `rigfit probe --json -o FILE` on that machine.",
            )
        try:
            return from_dict(cls, data)
        except SchemaError as exc:
            raise HardwareFileError(f"The {source} is not valid: {exc}") from exc

    @classmethod
    def from_json(cls, text: str, *, source: str = "hardware file") -> Hardware:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HardwareFileError(f"The {source} is not valid JSON: {exc}") from exc
        return cls.from_dict(data, source=source)


def load_hardware_file(path: str) -> Hardware:
    """Read a hardware file or a JSON report; every failure is a ``HardwareFileError``."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise HardwareFileError(f"Cannot read the hardware file {path}: {exc.strerror or exc}") from exc
    return Hardware.from_json(text, source=f"hardware file {path}")
