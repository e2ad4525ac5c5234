"""Where the bundled data files live, in a source checkout and in a PyInstaller bundle alike."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path


@cache
def resources_root() -> Path:
    """The ``resources/`` folder: ``RIGFIT_RESOURCES``, the frozen bundle's copy, or the checkout's."""
    override = os.environ.get("RIGFIT_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled data file or folder, e.g. ``resource_path("catalog", "minimax-m2.7.json")``."""
    return resources_root().joinpath(*parts)
