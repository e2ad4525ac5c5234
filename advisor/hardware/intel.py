"""Intel discrete GPUs (Arc) on Linux where sysfs shows them.

The i915 and xe drivers do not expose local memory as uniformly as amdgpu; some kernels show an
``lmem_total_bytes`` file. Where none is found the card is still listed, with its memory marked unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from advisor.hardware.specs import gpu_spec_by_pci_id
from advisor.hardware.sysfs import drm_cards, pcie_link, read_int, read_text
from advisor.hardware.types import Gpu

INTEL_VENDOR_ID = 0x8086
#: Files that some i915/xe kernels use for local (device) memory size, relative to the card directory.
_LMEM_FILES = (
    "lmem_total_bytes",
    "device/lmem_total_bytes",
    "prelim_lmem_total_bytes",
    "device/prelim_lmem_total_bytes",
)
_LMEM_AVAIL_FILES = ("lmem_avail_bytes", "device/lmem_avail_bytes", "prelim_lmem_avail_bytes")


@dataclass(frozen=True)
class IntelReading:
    gpus: tuple[Gpu, ...] = ()
    notes: tuple[str, ...] = ()


def read_intel(root: str | Path = "/", *, first_index: int = 0) -> IntelReading:
    """Intel discrete GPUs under ``root``/sys/class/drm; integrated ones are left to system RAM. Never raises."""
    gpus: list[Gpu] = []
    notes: list[str] = []
    for card in drm_cards(root):
        device = card / "device"
        if read_int(device / "vendor") != INTEL_VENDOR_ID:
            continue
        device_id = read_text(device / "device") or "?"
        lmem = next((v for f in _LMEM_FILES if (v := read_int(card / f))), None)
        avail = next((v for f in _LMEM_AVAIL_FILES if (v := read_int(card / f))), None)
        spec = gpu_spec_by_pci_id(device_id, vendor="intel", vram_bytes=lmem)
        if spec is None and lmem is None:
            notes.append(
                f"Intel GPU {device_id} ({card.name}) looks integrated (no local memory shown); it shares system RAM."
            )
            continue
        name = f"Intel Arc {spec.name.removeprefix('Arc ')}" if spec else f"Intel GPU {device_id}"
        index = first_index + len(gpus)
        if lmem is None:
            notes.append(f"Intel GPU {index} ({name}): this driver does not show local memory in sysfs; size unknown.")
        generation, width = pcie_link(device)
        gpus.append(
            Gpu(
                vendor="intel",
                name=name,
                index=index,
                vram_total_bytes=lmem,
                vram_free_bytes=avail,
                bandwidth_gbps=spec.bandwidth_gbps if spec else None,
                bandwidth_source="spec" if spec and spec.bandwidth_gbps else None,
                architecture=spec.architecture if spec else None,
                pcie_generation=generation,
                pcie_width=width,
                fp16_tflops=spec.fp16_tflops if spec else None,
            )
        )
    return IntelReading(tuple(gpus), tuple(notes))
