"""Application entry point: ``rigfit`` with no arguments, ``rigfit-gui``, or a double-click."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


class MainWindow(QMainWindow):
    """Placeholder until the main window lands: a real window so ``make run`` opens something."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Rigfit")
        label = QLabel("Rigfit — will this model run on my machine?")
        label.setMargin(24)
        self.setCentralWidget(label)
        self.resize(900, 600)


def main(argv: Sequence[str] | None = None) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("Rigfit")
    app.setOrganizationName("Rigfit")
    window = MainWindow()
    from ui.startup_probe import install_if_requested

    install_if_requested(window)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
