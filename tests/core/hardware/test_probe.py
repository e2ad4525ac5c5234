"""The whole probe: on this real machine, on faked other machines, and when a part breaks."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import psutil
import pytest

from advisor.hardware import cpu as cpu_module
from advisor.hardware import probe as probe_module
from advisor.hardware.memory import SKIP_ENV
from advisor.hardware.probe import STEPS, probe, probe_with_progress
from advisor.hardware.types import Hardware
from tests.core.hardware.fakes import (
    GIB,
    M3_MAX_SYSCTL,
    FakeNvmlDevice,
    amdgpu_card,
    install_fake_nvml,
    rtx_4090,
    write_tree,
)


def test_real_probe_reports_this_machine(tmp_path: Path) -> None:
    hw = probe(disk_path=str(tmp_path))
    assert hw.memory.total_bytes == psutil.virtual_memory().total
    assert hw.cpu.logical_cores == psutil.cpu_count(logical=True)
    if psutil.cpu_count(logical=False):
        assert hw.cpu.physical_cores == psutil.cpu_count(logical=False)
    assert hw.memory.bandwidth_gbps is None  # the test environment sets RIGFIT_SKIP_BANDWIDTH
    assert hw.disk is not None and hw.disk.path == str(tmp_path)
    assert hw.disk.free_bytes == pytest.approx(shutil.disk_usage(tmp_path).free, rel=0.05)
    assert hw.os == {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}[platform.system()]
    assert hw.probed_at and hw.hostname is None
    assert (hw.nvcc is not None) == (shutil.which("nvcc") is not None)
    if platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64"):
        assert hw.cpu.name and "sse3" in hw.cpu.features


def test_real_probe_measures_bandwidth_when_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)
    hw = probe(measure_bandwidth=True)
    assert hw.memory.bandwidth_source == "measured"
    assert hw.memory.bandwidth_gbps is not None and 0.5 < hw.memory.bandwidth_gbps < 20_000


def test_probed_hardware_round_trips_through_json() -> None:
    hw = probe()
    assert Hardware.from_json(hw.to_json()) == hw


def test_progress_lists_every_step() -> None:
    seen: list[str] = []
    probe_with_progress(seen.append, measure_bandwidth=False)
    assert [s for s in seen if s in STEPS] == list(STEPS)


@pytest.mark.skipif(platform.system() != "Linux", reason="NVML and sysfs are read on Linux here")
def test_fake_rtx_4090_and_fake_sysfs_radeon_in_one_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_fake_nvml(monkeypatch, [rtx_4090()], cuda=12040)
    write_tree(tmp_path, amdgpu_card("card1", "0x744c", vram=24 * GIB, gtt=8 * GIB))
    hw = probe(sysfs_root=str(tmp_path), measure_bandwidth=False)
    assert [(g.vendor, g.index) for g in hw.gpus] == [("nvidia", 0), ("amd", 1)]
    assert hw.gpus[0].cuda_driver_version == "12.4"
    assert not any("No GPU found" in n for n in hw.notes)
    assert Hardware.from_json(hw.to_json()) == hw


@pytest.mark.skipif(platform.system() != "Linux", reason="NVML and sysfs are read on Linux here")
def test_dgx_spark_without_nvml_memory_uses_the_shared_ram(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pynvml

    gb10 = FakeNvmlDevice("NVIDIA GB10", "GPU-spark", 0, 0, (12, 1), pynvml.NVML_DEVICE_ARCH_BLACKWELL, 0, 0)
    install_fake_nvml(monkeypatch, [gb10], failing={"nvmlDeviceGetMemoryInfo": pynvml.NVMLError_NotSupported()})
    hw = probe(sysfs_root=str(tmp_path), measure_bandwidth=False)
    (gpu,) = hw.gpus
    assert gpu.unified_memory and hw.unified
    assert gpu.vram_total_bytes == hw.memory.total_bytes
    assert gpu.bandwidth_gbps == 273 and gpu.compute_capability == "12.1"
    assert any("shares system RAM" in n for n in hw.notes)


def test_no_nvml_library_is_a_note_in_the_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pynvml

    install_fake_nvml(monkeypatch, [], failing={"nvmlInit": pynvml.NVMLError_LibraryNotFound()})
    hw = probe(sysfs_root=str(tmp_path), measure_bandwidth=False)
    if platform.system() != "Darwin":
        assert any("No NVIDIA driver" in n for n in hw.notes)
    assert hw.gpus == ()
    assert any("No GPU found" in n for n in hw.notes)


def test_a_part_that_raises_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("sensor on fire")

    monkeypatch.setattr(cpu_module, "_read_linux", explode)
    monkeypatch.setattr(cpu_module, "_read_macos", explode)
    monkeypatch.setattr(cpu_module, "_read_windows", explode)
    from advisor.hardware import disk, tools

    monkeypatch.setattr(disk, "read_disk", explode)
    monkeypatch.setattr(tools, "read_tools", explode)
    hw = probe(measure_bandwidth=False)
    assert hw.memory.total_bytes > 0  # the parts that work still report
    assert hw.disk is None and hw.llama_cpp is None
    assert any("sensor on fire" in n for n in hw.notes)


def test_fake_mac_m3_max(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_module.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(cpu_module, "run_sysctl", lambda *keys, timeout=3.0: M3_MAX_SYSCTL)
    hw = probe(measure_bandwidth=False)
    assert hw.os == "macos"
    assert hw.cpu.name == "Apple M3 Max" and "neon" in hw.cpu.features
    (gpu,) = hw.gpus
    assert gpu.vendor == "apple" and gpu.unified_memory and gpu.bandwidth_gbps == 400
    assert hw.unified
    assert gpu.working_set_limit_bytes is not None and gpu.working_set_limit_bytes < gpu.vram_total_bytes  # type: ignore[operator]


def test_missing_disk_folder_reports_its_nearest_parent(tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet"
    hw = probe(disk_path=str(target), measure_bandwidth=False)
    assert hw.disk is not None and hw.disk.path == str(target) and hw.disk.free_bytes
    assert any("does not exist yet" in n for n in hw.notes)


def test_default_disk_is_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    hw = probe(measure_bandwidth=False)
    assert hw.disk is not None and os.path.samefile(hw.disk.path, tmp_path)
