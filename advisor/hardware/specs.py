"""Spec tables in ``resources/specs/``: GPUs, Apple chips, memory-cap rules, nvcc version mapping.

Drivers tell us a card's name; these tables turn a name into the figures a driver may not report (bandwidth,
FP16 throughput), each with its source. The speed model reads ``fp16_tflops`` and ``bandwidth_gbps`` from here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from advisor.resources import resource_path

#: Name words that mark a different (slower) variant; such a name only matches a pattern that names them too.
_VARIANT_WORDS = ("laptop", "mobile")


@dataclass(frozen=True)
class GpuSpec:
    name: str
    vendor: str
    patterns: tuple[str, ...]
    vram_gb: float | None = None
    memory_type: str | None = None
    bus_bits: int | None = None
    data_rate_gbps: float | None = None
    bandwidth_gbps: float | None = None
    fp16_tflops: float | None = None
    fp32_tflops: float | None = None
    compute_capability: str | None = None
    gfx_target: str | None = None
    architecture: str | None = None
    pci_device_ids: tuple[str, ...] = ()
    unified: bool = False
    source: str = ""
    says: str = ""


@dataclass(frozen=True)
class AppleSpec:
    chip: str  # "M3 Max"
    bandwidth_gbps: float
    cpu_cores: int | None = None
    source: str = ""
    says: str = ""


def _load(name: str) -> dict[str, Any]:
    with resource_path("specs", name).open("rb") as fh:
        return tomllib.load(fh)


@cache
def gpu_specs() -> tuple[GpuSpec, ...]:
    rows = _load("gpus.toml").get("gpu", [])
    specs = []
    for row in rows:
        specs.append(
            GpuSpec(
                name=row["name"],
                vendor=row["vendor"],
                patterns=tuple(row.get("match", ())),
                vram_gb=row.get("vram_gb"),
                memory_type=row.get("memory_type"),
                bus_bits=row.get("bus_bits"),
                data_rate_gbps=row.get("data_rate_gbps"),
                bandwidth_gbps=row.get("bandwidth_gbps"),
                fp16_tflops=row.get("fp16_tflops"),
                fp32_tflops=row.get("fp32_tflops"),
                compute_capability=row.get("compute_capability"),
                gfx_target=row.get("gfx_target"),
                architecture=row.get("architecture"),
                pci_device_ids=tuple(i.lower() for i in row.get("pci_device_ids", ())),
                unified=bool(row.get("unified", False)),
                source=row.get("source", ""),
                says=row.get("says", ""),
            )
        )
    return tuple(specs)


@cache
def apple_specs() -> tuple[AppleSpec, ...]:
    return tuple(
        AppleSpec(
            chip=row["chip"],
            bandwidth_gbps=float(row["bandwidth_gbps"]),
            cpu_cores=row.get("cpu_cores"),
            source=row.get("source", ""),
            says=row.get("says", ""),
        )
        for row in _load("apple.toml").get("chip", [])
    )


@cache
def memory_facts() -> dict[str, Any]:
    return _load("memory.toml")


@cache
def nvcc_versions() -> dict[str, str]:
    """nvcc compiler version ("13.2.78") -> CUDA toolkit release ("13.2.1"), from resources/specs/nvcc.toml.

    The probe and the CUDA risk rules both read this one table.
    """
    return {row["compiler"]: row["toolkit"] for row in _load("nvcc.toml").get("nvcc", [])}


def normalize_name(name: str) -> str:
    """Lower case, dashes/underscores as spaces, single spaces: "NVIDIA A100-SXM4-80GB" -> "nvidia a100 sxm4 80gb"."""
    text = re.sub(r"\((r|tm|c)\)", " ", name.lower())
    return " ".join(re.sub(r"[-_/(),]", " ", text).split())


def _match_length(pattern: str, name: str) -> int:
    found = re.search(rf"(?<![\w+]){pattern}(?![\w+])", name)
    if not found:
        return 0
    if any(word in name and word not in pattern for word in _VARIANT_WORDS):
        return 0
    return len(found.group(0))


def _closest_vram(candidates: list[GpuSpec], vram_bytes: int | None) -> GpuSpec:
    if vram_bytes is None or len(candidates) == 1:
        return candidates[0]
    gb = vram_bytes / 1e9
    return min(candidates, key=lambda s: abs((s.vram_gb or 0) * 1.0737 - gb) if s.vram_gb else float("inf"))


def gpu_spec(name: str, *, vram_bytes: int | None = None, vendor: str | None = None) -> GpuSpec | None:
    """The spec row for a driver-reported GPU name, or None; ``vram_bytes`` tells same-name variants apart."""
    if not name:
        return None
    normal = normalize_name(name)
    best_len = 0
    best: list[GpuSpec] = []
    for spec in gpu_specs():
        if vendor and spec.vendor != vendor:
            continue
        length = max((_match_length(p, normal) for p in spec.patterns), default=0)
        if length > best_len:
            best_len, best = length, [spec]
        elif length and length == best_len:
            best.append(spec)
    return _closest_vram(best, vram_bytes) if best else None


def gpu_spec_by_pci_id(device_id: str, *, vendor: str, vram_bytes: int | None = None) -> GpuSpec | None:
    """The spec row for a PCI device id ("0x744c"); cards sharing a die are told apart by memory size."""
    wanted = device_id.strip().lower()
    candidates = [s for s in gpu_specs() if s.vendor == vendor and wanted in s.pci_device_ids]
    return _closest_vram(candidates, vram_bytes) if candidates else None


def apple_chip_name(brand: str) -> str | None:
    """The chip part of a brand string ("Apple M3 Max" -> "M3 Max"); None for a non-Apple-Silicon CPU."""
    match = re.search(r"\b(M\d+)(?:\s+(Pro|Max|Ultra))?\b", brand or "")
    if not match or "apple" not in (brand or "").lower():
        return None
    return " ".join(part for part in match.groups() if part)


def apple_spec(chip: str, *, cpu_cores: int | None = None) -> AppleSpec | None:
    """Bandwidth tier for an Apple chip ("M3 Max" or "Apple M3 Max"); ``cpu_cores`` picks between tiers."""
    name = apple_chip_name(chip) if chip.lower().startswith("apple") else chip.strip()
    rows = [s for s in apple_specs() if name and s.chip.lower() == name.lower()]
    if not rows:
        return None
    if cpu_cores is not None:
        exact = [s for s in rows if s.cpu_cores == cpu_cores]
        if exact:
            return exact[0]
    # Without a core count, the top tier is the one sold most widely and the figure Apple headlines.
    return max(rows, key=lambda s: s.bandwidth_gbps)
