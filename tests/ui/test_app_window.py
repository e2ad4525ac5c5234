"""``make run`` must open a real window."""

from __future__ import annotations

from ui.app import MainWindow


def test_main_window_shows(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Rigfit"
    assert not window.grab().isNull()
