"""Linux desktop integration for the current user: the launcher entry and icon, so a double-click opens Rigfit.

Follows the XDG specs: the entry goes to ``$XDG_DATA_HOME/applications``, icons to the hicolor theme, the
AppStream metainfo to ``$XDG_DATA_HOME/metainfo``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from advisor.errors import RigfitError
from advisor.resources import resource_path

APP_ID = "org.rigfit.Rigfit"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@dataclass(frozen=True)
class InstalledEntry:
    desktop_file: Path
    icons: tuple[Path, ...]
    metainfo: Path
    exec_command: str


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> list[str]:
    """How this installation starts the app without a console: the frozen binary, ``rigfit-gui``, or Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    gui_script = Path(sys.executable).with_name("rigfit-gui")
    if gui_script.exists():
        return [str(gui_script)]
    found = shutil.which("rigfit-gui")
    if found:
        return [found]
    return [sys.executable, "-m", "ui.app"]


def _exec_quote(arg: str) -> str:
    """Quote one argument for a desktop entry's Exec key (the spec's rules, close to the shell's)."""
    if all(c.isalnum() or c in "/._-+" for c in arg):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def install_desktop_entry(root: Path | None = None, command: list[str] | None = None) -> InstalledEntry:
    root = root or data_home()
    command = command or launch_command()
    exec_line = " ".join(_exec_quote(a) for a in command)
    template = resource_path("desktop", f"{APP_ID}.desktop").read_text(encoding="utf-8")
    text = template.replace("@EXEC@", exec_line).replace("@TRYEXEC@", command[0])
    try:
        apps = root / "applications"
        apps.mkdir(parents=True, exist_ok=True)
        desktop_file = apps / f"{APP_ID}.desktop"
        desktop_file.write_text(text, encoding="utf-8")
        icons = []
        for size in ICON_SIZES:
            target = root / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(resource_path("icons", f"rigfit-{size}.png"), target)
            icons.append(target)
        scalable = root / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
        scalable.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resource_path("icons", "rigfit.svg"), scalable)
        icons.append(scalable)
        metainfo = root / "metainfo" / f"{APP_ID}.metainfo.xml"
        metainfo.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resource_path("desktop", f"{APP_ID}.metainfo.xml"), metainfo)
    except OSError as exc:
        raise RigfitError(f"Could not install the desktop entry under {root}: {exc.strerror or exc}") from exc
    _refresh_caches(root)
    return InstalledEntry(desktop_file, tuple(icons), metainfo, shlex.join(command))


def uninstall_desktop_entry(root: Path | None = None) -> list[Path]:
    root = root or data_home()
    removed = []
    candidates = [root / "applications" / f"{APP_ID}.desktop", root / "metainfo" / f"{APP_ID}.metainfo.xml"]
    candidates += [root / "icons" / "hicolor" / f"{s}x{s}" / "apps" / f"{APP_ID}.png" for s in ICON_SIZES]
    candidates.append(root / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg")
    for path in candidates:
        if path.exists():
            path.unlink()
            removed.append(path)
    _refresh_caches(root)
    return removed


def _refresh_caches(root: Path) -> None:
    """Ask the desktop to notice the change; harmless when the tools are absent."""
    for tool, arg in (
        ("update-desktop-database", root / "applications"),
        ("gtk-update-icon-cache", root / "icons" / "hicolor"),
    ):
        exe = shutil.which(tool)
        if exe and arg.exists():
            subprocess.run([exe, "-q", str(arg)], capture_output=True, timeout=30, check=False)
