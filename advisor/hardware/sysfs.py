"""Small helpers to read Linux DRM sysfs (``/sys/class/drm/card*/device``) under any root, for tests."""

from __future__ import annotations

import re
from pathlib import Path


def drm_cards(root: str | Path = "/") -> list[Path]:
    """``card0``, ``card1``... (not connectors like ``card0-DP-1``), sorted by number."""
    drm = Path(root) / "sys" / "class" / "drm"
    try:
        cards = [p for p in drm.iterdir() if re.fullmatch(r"card\d+", p.name)]
    except OSError:
        return []
    return sorted(cards, key=lambda p: int(p.name[4:]))


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def read_int(path: Path) -> int | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        return None


def pcie_link(device: Path) -> tuple[int | None, int | None]:
    """PCIe generation and width from ``max_link_speed``/``max_link_width`` ("16.0 GT/s PCIe" -> gen 4)."""
    speed = read_text(device / "max_link_speed") or read_text(device / "current_link_speed")
    width = read_int(device / "max_link_width") or read_int(device / "current_link_width")
    generation = None
    if speed:
        match = re.match(r"([\d.]+)\s*GT/s", speed)
        if match:
            generation = {2.5: 1, 5.0: 2, 8.0: 3, 16.0: 4, 32.0: 5, 64.0: 6}.get(float(match.group(1)))
    return generation, width
