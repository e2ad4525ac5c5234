"""Start-up measurement hook: with ``RIGFIT_EXIT_AFTER_FIRST_PAINT=1`` the app prints a marker when its main
window first paints, then quits. ``benchmarks/startup.py`` times launch to that marker."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

MARKER = "rigfit-first-paint"


class _FirstPaint(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not getattr(self, "_seen", False):
            self._seen = True
            # After this paint completes: print, then quit.
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        print(MARKER, flush=True)
        sys.stdout.flush()
        QApplication.quit()


def install_if_requested(window: QWidget) -> None:
    if os.environ.get("RIGFIT_EXIT_AFTER_FIRST_PAINT") == "1":
        probe = _FirstPaint(window)
        window.installEventFilter(probe)
