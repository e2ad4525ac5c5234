"""AMD and Intel GPUs from fake Linux sysfs trees (the amdgpu and i915/xe files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.hardware.amd import read_amd
from advisor.hardware.intel import read_intel
from tests.core.hardware.fakes import GIB, amdgpu_card, write_tree


def test_radeon_7900_xtx_discrete_card(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        amdgpu_card(
            "card1",
            "0x744c",
            vram=25753026560,
            gtt=31 * GIB,
            used=2 * GIB,
            max_link_speed="16.0 GT/s PCIe\n",
            max_link_width="16\n",
        ),
    )
    reading = read_amd(tmp_path)
    (gpu,) = reading.gpus
    assert gpu.vendor == "amd" and gpu.name == "AMD Radeon RX 7900 XTX"
    assert gpu.vram_total_bytes == 25753026560 and gpu.vram_free_bytes == 25753026560 - 2 * GIB
    assert gpu.bandwidth_gbps == 960 and gpu.bandwidth_source == "spec"
    assert gpu.architecture == "gfx1100"
    assert (gpu.pcie_generation, gpu.pcie_width) == (4, 16)
    assert gpu.unified_memory is False and gpu.working_set_limit_bytes is None
    assert reading.notes == ()


def test_same_die_told_apart_by_memory_size(tmp_path: Path) -> None:
    write_tree(tmp_path, amdgpu_card("card0", "0x744c", vram=20 * GIB, gtt=16 * GIB))
    assert read_amd(tmp_path).gpus[0].name == "AMD Radeon RX 7900 XT"


def test_strix_halo_apu_is_unified_with_gtt(tmp_path: Path) -> None:
    write_tree(tmp_path, amdgpu_card("card0", "0x1586", vram=512 * 2**20, gtt=64 * GIB))
    reading = read_amd(tmp_path)
    (gpu,) = reading.gpus
    assert gpu.unified_memory is True
    assert "8060S" in gpu.name
    assert gpu.working_set_limit_bytes == 512 * 2**20 + 64 * GIB
    assert gpu.bandwidth_gbps == 256 and gpu.architecture == "gfx1151"
    assert gpu.pcie_generation is None
    assert any("GTT" in n for n in reading.notes)


def test_product_name_file_wins_over_the_id_table(tmp_path: Path) -> None:
    write_tree(
        tmp_path, amdgpu_card("card0", "0x73bf", vram=16 * GIB, gtt=16 * GIB, product_name="AMD Radeon RX 6800 XT\n")
    )
    gpu = read_amd(tmp_path).gpus[0]
    assert gpu.name == "AMD Radeon RX 6800 XT" and gpu.bandwidth_gbps == 512


def test_missing_vram_file_and_unknown_card_are_notes(tmp_path: Path) -> None:
    write_tree(tmp_path, amdgpu_card("card0", "0x9999", vram=None, gtt=8 * GIB))
    reading = read_amd(tmp_path)
    (gpu,) = reading.gpus
    assert gpu.vram_total_bytes is None and gpu.bandwidth_gbps is None
    assert any("mem_info_vram_total is missing" in n for n in reading.notes)
    assert any("not in the spec table" in n for n in reading.notes)


def test_connectors_and_other_vendors_are_ignored(tmp_path: Path) -> None:
    write_tree(tmp_path, amdgpu_card("card0", "0x744c", vram=24 * GIB, gtt=8 * GIB))
    write_tree(
        tmp_path, {"sys/class/drm/card0-DP-1/status": "connected\n", "sys/class/drm/card1/device/vendor": "0x10de"}
    )
    assert len(read_amd(tmp_path).gpus) == 1


def test_no_sysfs_at_all_is_nothing_found(tmp_path: Path) -> None:
    assert read_amd(tmp_path).gpus == () and read_intel(tmp_path).gpus == ()


def test_intel_arc_a770_with_local_memory(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "sys/class/drm/card0/device/vendor": "0x8086\n",
            "sys/class/drm/card0/device/device": "0x56a0\n",
            "sys/class/drm/card0/lmem_total_bytes": f"{16 * GIB}\n",
            "sys/class/drm/card0/lmem_avail_bytes": f"{15 * GIB}\n",
        },
    )
    reading = read_intel(tmp_path, first_index=2)
    (gpu,) = reading.gpus
    assert gpu.vendor == "intel" and gpu.name == "Intel Arc A770" and gpu.index == 2
    assert gpu.vram_total_bytes == 16 * GIB and gpu.vram_free_bytes == 15 * GIB
    assert gpu.bandwidth_gbps == 560


def test_intel_integrated_gpu_is_a_note_not_a_gpu(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"sys/class/drm/card0/device/vendor": "0x8086\n", "sys/class/drm/card0/device/device": "0xa780\n"},
    )
    reading = read_intel(tmp_path)
    assert reading.gpus == ()
    assert "integrated" in reading.notes[0]


@pytest.mark.parametrize("device_id", ["0xe20b"])
def test_intel_arc_without_lmem_file_is_listed_with_unknown_memory(tmp_path: Path, device_id: str) -> None:
    write_tree(
        tmp_path,
        {"sys/class/drm/card0/device/vendor": "0x8086\n", "sys/class/drm/card0/device/device": f"{device_id}\n"},
    )
    reading = read_intel(tmp_path)
    (gpu,) = reading.gpus
    assert gpu.name == "Intel Arc B580" and gpu.vram_total_bytes is None and gpu.bandwidth_gbps == 456
    assert any("size unknown" in n for n in reading.notes)
