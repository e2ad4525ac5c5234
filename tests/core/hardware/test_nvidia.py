"""NVIDIA through NVML, faked at the function level: what each card and each driver failure yields."""

from __future__ import annotations

import pynvml
import pytest

from advisor.hardware.nvidia import cuda_version_from_int, peak_bandwidth_gbps, read_nvidia
from tests.core.hardware.fakes import GIB, gtx_1080, install_fake_nvml, rtx_3090, rtx_4090


def test_rtx_4090_reports_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(monkeypatch, [rtx_4090()], driver="580.65.06", cuda=13000)
    reading = read_nvidia()
    assert reading.notes == ()
    (gpu,) = reading.gpus
    assert gpu.vendor == "nvidia" and gpu.name == "NVIDIA GeForce RTX 4090" and gpu.index == 0
    assert gpu.uuid == "GPU-4090-0000"
    assert gpu.vram_total_bytes == 24 * GIB and gpu.vram_free_bytes == 23 * GIB
    assert gpu.bandwidth_gbps == pytest.approx(1008.1, abs=0.1)  # 2 x 10501 MHz x 48 bytes
    assert gpu.bandwidth_source == "spec"
    assert gpu.compute_capability == "8.9" and gpu.architecture == "ada"
    assert (gpu.pcie_generation, gpu.pcie_width) == (4, 16)
    assert gpu.driver_version == "580.65.06" and gpu.cuda_driver_version == "13.0"
    assert gpu.unified_memory is False
    assert gpu.fp16_tflops == pytest.approx(330.3)


def test_two_rtx_3090s_are_two_gpus_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(monkeypatch, [rtx_3090("GPU-a"), rtx_3090("GPU-b")], cuda=12040)
    gpus = read_nvidia().gpus
    assert [(g.index, g.uuid) for g in gpus] == [(0, "GPU-a"), (1, "GPU-b")]
    assert all(g.name == "NVIDIA GeForce RTX 3090" and g.compute_capability == "8.6" for g in gpus)
    assert all(g.bandwidth_gbps == pytest.approx(936.0, abs=0.2) for g in gpus)
    assert {g.cuda_driver_version for g in gpus} == {"12.4"}
    assert {g.architecture for g in gpus} == {"ampere"}


def test_gtx_1080_is_pascal_with_compute_6_1_and_no_tensor_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(monkeypatch, [gtx_1080()])
    (gpu,) = read_nvidia().gpus
    assert gpu.compute_capability == "6.1"
    assert gpu.architecture == "pascal"
    assert gpu.bandwidth_gbps == pytest.approx(320.3, abs=0.1)
    assert gpu.fp16_tflops is None  # no tensor cores: the speed model must not assume any
    assert (gpu.pcie_generation, gpu.pcie_width) == (3, 16)


def test_library_not_found_is_a_note_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = install_fake_nvml(monkeypatch, [rtx_4090()], failing={"nvmlInit": pynvml.NVMLError_LibraryNotFound()})
    reading = read_nvidia()
    assert reading.gpus == ()
    assert len(reading.notes) == 1 and "No NVIDIA driver found" in reading.notes[0]
    assert calls == ["nvmlInit"]  # nothing else is asked of a missing library


def test_driver_not_loaded_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(monkeypatch, [rtx_4090()], failing={"nvmlInit": pynvml.NVMLError_DriverNotLoaded()})
    reading = read_nvidia()
    assert reading.gpus == () and "not loaded" in reading.notes[0]


def test_one_unsupported_call_nulls_one_field_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(
        monkeypatch, [rtx_4090()], failing={"nvmlDeviceGetMemoryBusWidth": pynvml.NVMLError_NotSupported()}
    )
    reading = read_nvidia()
    (gpu,) = reading.gpus
    # Without the bus width NVML cannot give bandwidth: the spec table stands in.
    assert gpu.bandwidth_gbps == 1008.0 and gpu.bandwidth_source == "spec"
    assert gpu.vram_total_bytes == 24 * GIB and gpu.compute_capability == "8.9"
    assert any("memory bus width" in n and "does not support" in n for n in reading.notes)


def test_unsupported_pcie_query_leaves_pcie_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(
        monkeypatch, [rtx_4090()], failing={"nvmlDeviceGetMaxPcieLinkGeneration": pynvml.NVMLError_NotSupported()}
    )
    reading = read_nvidia()
    (gpu,) = reading.gpus
    assert gpu.pcie_generation is None and gpu.pcie_width == 16
    assert any("PCIe generation" in n for n in reading.notes)


def test_old_driver_without_architecture_call_falls_back_to_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_nvml(
        monkeypatch, [rtx_3090("GPU-x")], failing={"nvmlDeviceGetArchitecture": pynvml.NVMLError_FunctionNotFound()}
    )
    reading = read_nvidia()
    assert reading.gpus[0].architecture == "ampere"
    assert any("too old" in n for n in reading.notes)


def test_binding_without_v2_uses_the_older_cuda_version_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = install_fake_nvml(monkeypatch, [rtx_4090()], cuda=12080)
    monkeypatch.delattr(pynvml, "nvmlSystemGetCudaDriverVersion_v2")
    assert read_nvidia().gpus[0].cuda_driver_version == "12.8"
    assert "nvmlSystemGetCudaDriverVersion" in calls


def test_nvml_is_shut_down_even_when_a_device_call_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = install_fake_nvml(monkeypatch, [rtx_4090()], failing={"nvmlDeviceGetCount": pynvml.NVMLError_Unknown()})
    reading = read_nvidia()
    assert reading.gpus == () and calls[-1] == "nvmlShutdown"
    assert any("GPU count" in n for n in reading.notes)


@pytest.mark.parametrize(
    ("value", "text"), [(12040, "12.4"), (13020, "13.2"), (11080, "11.8"), (0, None), (None, None)]
)
def test_cuda_version_encoding(value: int | None, text: str | None) -> None:
    assert cuda_version_from_int(value) == text


def test_bandwidth_formula() -> None:
    assert peak_bandwidth_gbps(10501, 384) == pytest.approx(1008.1)
    assert peak_bandwidth_gbps(None, 384) is None and peak_bandwidth_gbps(10501, 0) is None
