"""Hardware files: the JSON schema round-trips and bad files give one clear error."""

from __future__ import annotations

import json

import pytest

from advisor.errors import HardwareFileError
from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory, Nvcc, load_hardware_file


def _machine() -> Hardware:
    return Hardware(
        cpu=Cpu(name="AMD Ryzen 9 7950X", physical_cores=16, logical_cores=32, features=("avx2", "avx512f")),
        memory=Memory(
            total_bytes=128 * 2**30,
            available_bytes=120 * 2**30,
            bandwidth_gbps=71.5,
            bandwidth_source="measured",
        ),
        gpus=(
            Gpu(
                vendor="nvidia",
                name="NVIDIA GeForce RTX 4090",
                vram_total_bytes=24 * 2**30,
                compute_capability="8.9",
            ),
        ),
        disk=Disk(path="/models", free_bytes=2 * 10**12),
        llama_cpp=LlamaCpp(build="b8746", backend="cuda", cuda_version="13.2.1"),
        nvcc=Nvcc(version="13.2.1"),
        os="linux",
        notes=("a note",),
    )


def test_round_trip_is_exact() -> None:
    hw = _machine()
    text = hw.to_json()
    assert json.loads(text)["schema"] == "rigfit.hardware/1"
    assert Hardware.from_json(text) == hw


def test_minimal_hand_written_file_loads() -> None:
    hw = Hardware.from_json('{"cpu": {}, "memory": {"total_bytes": 17179869184}, "gpus": []}')
    assert hw.memory.total_bytes == 16 * 2**30
    assert hw.gpus == () and hw.llama_cpp is None


def test_report_json_is_accepted_as_hardware() -> None:
    hw = _machine()
    report = {"schema": "rigfit.report/1", "hardware": hw.to_dict()}
    assert Hardware.from_dict(report) == hw


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"schema": "other/2", "cpu": {}, "memory": {"total_bytes": 1}}', "other/2"),
        ('{"cpu": {}, "memory": {}}', "memory.total_bytes"),
        ('{"cpu": {}, "memory": {"total_bytes": "lots"}}', "expected an integer"),
    ],
)
def test_bad_files_raise_one_clear_error(text: str, fragment: str) -> None:
    with pytest.raises(HardwareFileError, match=fragment):
        Hardware.from_json(text)


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(HardwareFileError, match="Cannot read"):
        load_hardware_file(str(tmp_path / "nope.json"))
