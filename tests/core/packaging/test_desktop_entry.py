"""The Linux desktop entry: valid keys, a working Exec line, icons in the hicolor theme, clean uninstall."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from advisor import cli
from advisor.desktop_entry import APP_ID, install_desktop_entry, uninstall_desktop_entry
from advisor.resources import resource_path


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_writes_a_valid_entry(tmp_path: Path) -> None:
    entry = install_desktop_entry(tmp_path, command=[sys.executable, "-m", "ui.app"])
    section = _entry(entry.desktop_file)
    assert entry.desktop_file.name == f"{APP_ID}.desktop"
    assert section["Type"] == "Application" and section["Terminal"] == "false"
    assert section["Icon"] == APP_ID
    assert "Utility" in section["Categories"].split(";")
    assert "@" not in section["Exec"] and section["Exec"].startswith(sys.executable)
    assert (tmp_path / "icons/hicolor/256x256/apps" / f"{APP_ID}.png").stat().st_size > 1000
    assert (tmp_path / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").exists()
    assert ET.parse(entry.metainfo).getroot().findtext("id") == APP_ID


def test_exec_line_really_starts_this_python(tmp_path: Path) -> None:
    """The Exec line is run as the launcher would (minus the %F field code), with a harmless argument."""
    entry = install_desktop_entry(tmp_path, command=[sys.executable, "-c", "import advisor; print('started')"])
    argv = [a for a in shlex.split(_entry(entry.desktop_file)["Exec"]) if a != "%F"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "started"


def test_uninstall_removes_everything(tmp_path: Path) -> None:
    install_desktop_entry(tmp_path, command=["/usr/bin/rigfit-gui"])
    removed = uninstall_desktop_entry(tmp_path)
    assert len(removed) == 11
    assert not any(p.is_file() for p in tmp_path.rglob(f"{APP_ID}*"))


def test_cli_installs_under_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli.main(["install-desktop-entry"]) == 0
    assert (tmp_path / "applications" / f"{APP_ID}.desktop").exists()
    assert "application launcher" in capsys.readouterr().out


def test_icons_exist_in_every_format() -> None:
    for name in ("rigfit.svg", "rigfit.ico", "rigfit.icns", *(f"rigfit-{s}.png" for s in (16, 32, 256, 512))):
        assert resource_path("icons", name).stat().st_size > 0, name
    assert resource_path("icons", "rigfit.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert resource_path("icons", "rigfit.icns").read_bytes()[:4] == b"icns"
