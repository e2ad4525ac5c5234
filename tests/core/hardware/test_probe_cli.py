"""``rigfit probe``: the summary, the JSON file, and clear errors."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import psutil
import pytest

from advisor.cli import main
from advisor.hardware.types import load_hardware_file
from tests.core.hardware.fakes import install_fake_nvml, rtx_4090


def test_json_to_file_has_the_schema_keys_and_loads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hw.json"
    assert main(["probe", "--json", "-o", str(out), "--no-bandwidth", "--disk", str(tmp_path)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema"] == "rigfit.hardware/1"
    assert {"name", "physical_cores", "logical_cores", "features"} <= data["cpu"].keys()
    assert {"total_bytes", "available_bytes", "bandwidth_gbps", "bandwidth_source"} <= data["memory"].keys()
    assert data["memory"]["total_bytes"] == psutil.virtual_memory().total
    assert {"path", "free_bytes"} <= data["disk"].keys() and data["disk"]["path"] == str(tmp_path)
    assert {"gpus", "llama_cpp", "nvcc", "notes"} <= data.keys()
    assert load_hardware_file(str(out)).memory.total_bytes == data["memory"]["total_bytes"]
    assert "Wrote hardware file" in capsys.readouterr().out


def test_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--json", "--no-bandwidth", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["schema"] == "rigfit.hardware/1"
    assert captured.err == ""


def test_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--no-bandwidth"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Machine:")
    for label in ("CPU:", "RAM:", "GPUs:", "Disk:", "llama.cpp:"):
        assert label in out
    assert "bandwidth not measured" in out


def test_unwritable_output_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "-o", str(tmp_path / "missing" / "hw.json"), "--no-bandwidth"]) == 2
    err = capsys.readouterr().err
    assert "folder does not exist" in err and "Traceback" not in err


def test_label_is_stored(tmp_path: Path) -> None:
    out = tmp_path / "hw.json"
    assert main(["probe", "-o", str(out), "--no-bandwidth", "--label", "desk"]) == 0
    assert load_hardware_file(str(out)).label == "desk"


@pytest.mark.skipif(platform.system() != "Linux", reason="NVML is read on Linux and Windows")
def test_summary_lists_a_faked_rtx_4090(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    install_fake_nvml(monkeypatch, [rtx_4090()], driver="580.65.06", cuda=13000)
    assert main(["probe", "--no-bandwidth"]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA driver 580.65.06 (supports CUDA up to 13.0)" in out
    gpu_line = next(line for line in out.splitlines() if "RTX 4090" in line)
    assert "24.0 GiB VRAM (23.0 GiB free)" in gpu_line and "1008.1 GB/s (spec)" in gpu_line
    assert "compute 8.9" in gpu_line and "PCIe 4 x16" in gpu_line
