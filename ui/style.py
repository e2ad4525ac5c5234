"""Colours that carry meaning (verdicts, severities, memory parts), readable on light and dark palettes.

Each colour is a strong hue that keeps contrast on both a white and a near-black window; text drawn on top
picks black or white by the colour's luminance, so nothing depends on the theme.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from advisor.plan.types import Severity, Verdict

GOOD = QColor("#2e9d4f")
FAIR = QColor("#2f7fc1")
SLOW = QColor("#d9822b")
BAD = QColor("#d0423a")

VERDICT_COLOURS: dict[Verdict, QColor] = {
    Verdict.GPU: GOOD,
    Verdict.MULTI_GPU: GOOD,
    Verdict.UNIFIED: GOOD,
    Verdict.EXPERTS_ON_CPU: FAIR,
    Verdict.PARTIAL_OFFLOAD: FAIR,
    Verdict.CPU: SLOW,
    Verdict.RPC_CLUSTER: SLOW,
    Verdict.DISK_STREAM: BAD,
    Verdict.IMPOSSIBLE: BAD,
}

SEVERITY_COLOURS: dict[Severity, QColor] = {
    Severity.INFO: FAIR,
    Severity.WARNING: SLOW,
    Severity.CRITICAL: BAD,
}

SEVERITY_WORDS: dict[Severity, str] = {
    Severity.INFO: "Note",
    Severity.WARNING: "Warning",
    Severity.CRITICAL: "Serious",
}

#: Memory chart parts, in stacking order.
PART_COLOURS: dict[str, QColor] = {
    "weights": QColor("#4a78c2"),
    "kv": QColor("#e0a030"),
    "compute": QColor("#9a5fc4"),
    "reserve": QColor("#8a8f98"),
}


def text_on(colour: QColor) -> QColor:
    """Black or white, whichever reads better on ``colour``."""
    r, g, b = colour.redF(), colour.greenF(), colour.blueF()
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor("#000000") if luminance > 0.55 else QColor("#ffffff")


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128
