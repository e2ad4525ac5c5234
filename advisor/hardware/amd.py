"""AMD GPUs on Linux from the amdgpu driver's sysfs files, with no ROCm needed.

``mem_info_vram_total`` is the card's own memory (or, on an APU, the BIOS carve-out); ``mem_info_gtt_total`` is
system RAM the GPU may map. On APUs such as Strix Halo the GPU can use both, so the sum is its working limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from advisor.hardware.specs import gpu_spec, gpu_spec_by_pci_id
from advisor.hardware.sysfs import drm_cards, pcie_link, read_int, read_text
from advisor.hardware.types import Gpu

AMD_VENDOR_ID = 0x1002
#: An AMD GPU with no more own memory than this and a GTT pool is an integrated GPU sharing system RAM.
_IGPU_MAX_VRAM = 4 * 2**30


@dataclass(frozen=True)
class AmdReading:
    gpus: tuple[Gpu, ...] = ()
    notes: tuple[str, ...] = ()


def read_amd(root: str | Path = "/", *, first_index: int = 0) -> AmdReading:
    """All amdgpu devices under ``root``/sys/class/drm; never raises."""
    gpus: list[Gpu] = []
    notes: list[str] = []
    for card in drm_cards(root):
        device = card / "device"
        if read_int(device / "vendor") != AMD_VENDOR_ID:
            continue
        try:
            gpu, card_notes = _read_card(device, card.name, first_index + len(gpus))
        except Exception as exc:  # an odd sysfs must not stop the probe
            notes.append(f"AMD GPU {card.name}: could not be read ({exc}).")
            continue
        gpus.append(gpu)
        notes.extend(card_notes)
    return AmdReading(tuple(gpus), tuple(notes))


def _read_card(device: Path, card_name: str, index: int) -> tuple[Gpu, list[str]]:
    notes: list[str] = []
    device_id = read_text(device / "device")
    vram_total = read_int(device / "mem_info_vram_total")
    vram_used = read_int(device / "mem_info_vram_used")
    gtt_total = read_int(device / "mem_info_gtt_total")
    product = read_text(device / "product_name")
    spec = gpu_spec(product, vram_bytes=vram_total, vendor="amd") if product else None
    if spec is None and device_id:
        spec = gpu_spec_by_pci_id(device_id, vendor="amd", vram_bytes=vram_total)
    name = product or (spec.name if spec else f"AMD GPU {device_id or card_name}")
    if not name.lower().startswith("amd"):
        name = f"AMD {name}"
    label = f"AMD GPU {index} ({name})"
    if vram_total is None:
        notes.append(f"{label}: mem_info_vram_total is missing (is the amdgpu driver loaded?); memory size unknown.")
    unified = bool(spec and spec.unified) or (
        vram_total is not None and vram_total <= _IGPU_MAX_VRAM and bool(gtt_total) and spec is None
    )
    working_set = None
    if unified:
        working_set = (vram_total or 0) + (gtt_total or 0) or None
        notes.append(
            f"{label}: integrated GPU sharing system RAM; it can use its {_gib(vram_total)} carve-out plus "
            f"{_gib(gtt_total)} of GTT (system memory it may map)."
        )
    if spec is None:
        notes.append(f"{label}: not in the spec table (PCI id {device_id}); bandwidth unknown.")
    generation, width = pcie_link(device)
    free = vram_total - vram_used if vram_total is not None and vram_used is not None else None
    return (
        Gpu(
            vendor="amd",
            name=name,
            index=index,
            vram_total_bytes=vram_total,
            vram_free_bytes=free,
            bandwidth_gbps=spec.bandwidth_gbps if spec else None,
            bandwidth_source="spec" if spec and spec.bandwidth_gbps else None,
            architecture=spec.gfx_target if spec else None,
            pcie_generation=None if unified else generation,
            pcie_width=None if unified else width,
            unified_memory=unified,
            working_set_limit_bytes=working_set,
            fp16_tflops=spec.fp16_tflops if spec else None,
        ),
        notes,
    )


def _gib(value: int | None) -> str:
    return "unknown" if value is None else f"{value / 2**30:.1f} GiB"
