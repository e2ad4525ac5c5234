"""Application entry point: ``rigfit`` with no arguments, ``rigfit-gui``, or a double-click.

Start-up stays light: only Qt and the core's small type modules load before the window shows; the probe,
the Hub client and the planner load on workers afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from ui.main_window import MainWindow

__all__ = ["MainWindow", "main"]


def make_app(argv: Sequence[str] | None = None) -> QApplication:
    """The one QApplication, set up for high-DPI screens and the system's own palette."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("Rigfit")
    app.setOrganizationName("Rigfit")
    app.setApplicationDisplayName("Rigfit")
    app.setDesktopFileName("org.rigfit.Rigfit")  # matches resources/desktop/org.rigfit.Rigfit.desktop
    from advisor.resources import resource_path

    icon = resource_path("icons", "rigfit-256.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def main(argv: Sequence[str] | None = None) -> int:
    from ui import workers
    from ui.errors import install_crash_handler

    app = make_app(argv)
    install_crash_handler()
    window = MainWindow()
    from ui.startup_probe import install_if_requested

    install_if_requested(window)
    window.show()
    code = app.exec()
    workers.cancel_all()
    workers.wait_for_all(5000)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
