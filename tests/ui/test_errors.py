"""One error dialog for the user's problems, silence for cancels, a crash dialog with a copyable report for bugs."""

from __future__ import annotations

import threading

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from advisor.errors import CancelledError, RigfitError
from ui import errors


def test_rigfit_error_shows_message_and_hint(qtbot) -> None:
    box = errors.show_error(None, RigfitError("The Hub has no repository 'a/b'.", hint="Check the spelling."))
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "The Hub has no repository 'a/b'."
    assert box.informativeText() == "Check the spelling."
    box.close()


def test_cancel_is_silent() -> None:
    assert errors.show_error(None, CancelledError("paused")) is None


def test_bug_gets_crash_dialog_with_copyable_report(qtbot) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        dialog = errors.show_error(None, exc)
    assert isinstance(dialog, errors.CrashDialog)
    assert "KeyError" in dialog.report and "Rigfit" in dialog.report and "Traceback" in dialog.report
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == dialog.report
    dialog.close()


def test_no_dialog_mode_prints_instead(monkeypatch, capsys) -> None:
    monkeypatch.setenv(errors.NO_DIALOGS_ENV, "1")
    assert errors.show_error(None, RigfitError("Disk full.", hint="Free some space.")) is None
    assert "Disk full." in capsys.readouterr().err


def test_uncaught_exceptions_in_threads_reach_the_crash_dialog(qtbot) -> None:
    errors.install_crash_handler()
    try:
        thread = threading.Thread(target=lambda: [][1])
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: any(isinstance(d, errors.CrashDialog) for d in errors.open_dialogs()), timeout=3000)
        dialog = next(d for d in errors.open_dialogs() if isinstance(d, errors.CrashDialog))
        assert "IndexError" in dialog.report
    finally:
        errors.uninstall_crash_handler()
