"""``rigfit report`` on a hardware file: formats, output file, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor import cli
from tests.fixtures.plans import two_gpu_machine


@pytest.fixture
def hw_file(tmp_path: Path) -> Path:
    path = tmp_path / "hw.json"
    path.write_text(two_gpu_machine().to_json())
    return path


def test_markdown_to_stdout(hw_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--hardware", str(hw_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Rigfit hardware report") and "RTX 3090" in out


def test_json_file_loads_back_as_hardware(hw_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert cli.main(["report", "--hardware", str(hw_file), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["schema"] == "rigfit.report/1" and len(data["hardware"]["gpus"]) == 2
    # and a report is accepted wherever a hardware file is
    assert cli.main(["report", "--hardware", str(out), "--format", "md", "-o", str(tmp_path / "again.md")]) == 0
    assert "RTX 4090" in (tmp_path / "again.md").read_text()


def test_pdf_needs_a_file(hw_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--hardware", str(hw_file), "--format", "pdf"]) == 2
    assert "needs an output file" in capsys.readouterr().err


def test_bad_hardware_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert cli.main(["report", "--hardware", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
