"""The one error dialog and the crash dialog.

``show_error`` is the single place an exception reaches the user: a ``RigfitError`` becomes a plain message
with what to do next, a cancellation is silent, and anything else is a bug, shown in a crash dialog with a
report the user can copy into an issue. ``install_crash_handler`` routes uncaught exceptions (GUI thread and
worker threads) to it. Dialogs open without blocking (``open()``, not ``exec()``), so tests and the
self-test never hang on a modal.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import advisor
from advisor.errors import CancelledError, RigfitError

_open_dialogs: list[QDialog] = []
#: Set (e.g. by ``--self-test`` or a smoke run) to print errors instead of opening dialogs.
NO_DIALOGS_ENV = "RIGFIT_NO_ERROR_DIALOGS"


def _keep_open(dialog: QDialog) -> QDialog:
    _open_dialogs.append(dialog)
    dialog.finished.connect(lambda _result: _open_dialogs.remove(dialog) if dialog in _open_dialogs else None)
    dialog.open()
    return dialog


def open_dialogs() -> tuple[QDialog, ...]:
    return tuple(_open_dialogs)


def crash_report(exc: BaseException) -> str:
    """Text to paste into a bug report: versions and the traceback, nothing about the user."""
    from PySide6 import __version__ as pyside_version

    lines = [
        f"Rigfit {advisor.__version__}",
        f"Python {platform.python_version()} on {platform.system()} {platform.release()} ({platform.machine()})",
        f"PySide6 {pyside_version}",
        "",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    home = os.path.expanduser("~")
    return text.replace(home, "~") if home and home != "/" else text


class CrashDialog(QDialog):
    """An unexpected error: say so plainly, and offer the report to copy."""

    def __init__(self, exc: BaseException, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rigfit ran into a problem")
        self.report = crash_report(exc)
        intro = QLabel(
            "Something went wrong inside Rigfit. This is a bug, not something you did.\n"
            "Your files and settings are safe. Please copy the report below into a bug report."
        )
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(self.report)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setMinimumSize(560, 240)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_report)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report)
        self.copy_button.setText("Copied")


def show_error(parent: QWidget | None, exc: BaseException) -> QDialog | None:
    """Show ``exc`` to the user the one way errors are shown; returns the dialog (None when silent)."""
    if isinstance(exc, CancelledError):
        return None
    if os.environ.get(NO_DIALOGS_ENV):
        print(f"rigfit: {exc}" if isinstance(exc, RigfitError) else crash_report(exc), file=sys.stderr)
        return None
    if isinstance(exc, RigfitError):
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Rigfit")
        box.setText(exc.message)
        if exc.hint:
            box.setInformativeText(exc.hint)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        return _keep_open(box)
    return _keep_open(CrashDialog(exc, parent))


class _CrashBridge(QObject):
    """Carries exceptions from any thread to the GUI thread, where dialogs may be shown."""

    raised = Signal(object)


_bridge: _CrashBridge | None = None
_previous: tuple[Callable[..., object], Callable[..., object]] | None = None


def install_crash_handler() -> None:
    """Route uncaught exceptions to the crash dialog (GUI thread directly, other threads via a signal)."""
    global _bridge, _previous
    if _previous is not None:
        return
    _bridge = _CrashBridge()
    _bridge.raised.connect(lambda exc: show_error(None, exc))
    _previous = (sys.excepthook, threading.excepthook)

    def gui_hook(tp: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(tp, KeyboardInterrupt):
            _previous[0](tp, exc, tb)
            return
        _bridge.raised.emit(exc.with_traceback(tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            _bridge.raised.emit(args.exc_value)

    sys.excepthook = gui_hook
    threading.excepthook = thread_hook


def uninstall_crash_handler() -> None:
    global _previous
    if _previous is not None:
        sys.excepthook, threading.excepthook = _previous
        _previous = None
