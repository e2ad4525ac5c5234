"""Render resources/icons/rigfit.svg to the PNG sizes, the Windows .ico and the macOS .icns (through Qt).

Run after editing the SVG: ``python packaging/make_icons.py``. The outputs are committed so a build needs no
extra tools.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "rigfit.svg"))
    if not renderer.isValid():
        print("rigfit.svg is not a valid SVG", file=sys.stderr)
        return 1
    images = {}
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"rigfit-{size}.png"))
        images[size] = image
    if not images[256].save(str(ICONS / "rigfit.ico"), "ico"):
        print("could not write rigfit.ico", file=sys.stderr)
        return 1
    if not images[512].save(str(ICONS / "rigfit.icns"), "icns"):
        print("could not write rigfit.icns", file=sys.stderr)
        return 1
    print(f"wrote {len(PNG_SIZES)} PNGs, rigfit.ico and rigfit.icns to {ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
