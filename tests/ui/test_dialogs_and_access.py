"""Settings dialog, remembered downloads, keyboard reach and high-DPI rendering."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QSlider, QTableView

from advisor import settings as st
from tests.fixtures.plans import minimax_plan, two_gpu_machine
from tests.ui.conftest import minimax_model
from ui.downloads import DownloadsPanel, spec_for
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog

ROOT = Path(__file__).resolve().parents[2]


def test_settings_dialog_without_keyring_points_to_hf_login(qtbot, monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    dialog = SettingsDialog(st.Settings())
    qtbot.addWidget(dialog)
    assert not dialog.token.isEnabled() and "hf auth login" in dialog.token_note.text()
    dialog.folder.setText(str(tmp_path))
    dialog.flash.setCurrentIndex(1)
    result = dialog.result_settings()
    assert result.preferences.download_dir == str(tmp_path) and result.preferences.flash_attention is True
    dialog.folder.setText(str(st.default_download_dir()))
    assert dialog.result_settings().preferences.download_dir is None  # the default is not pinned


def test_settings_dialog_saves_the_token_in_the_keyring(qtbot, monkeypatch) -> None:
    store: dict = {}
    module = types.ModuleType("keyring")
    module.get_keyring = lambda: types.SimpleNamespace(priority=1)
    module.get_password = lambda s, u: store.get((s, u))
    module.set_password = lambda s, u, p: store.__setitem__((s, u), p)
    module.delete_password = lambda s, u: store.pop((s, u))
    monkeypatch.setitem(sys.modules, "keyring", module)
    dialog = SettingsDialog(st.Settings())
    qtbot.addWidget(dialog)
    assert dialog.token.isEnabled() and dialog.token.echoMode() == dialog.token.EchoMode.Password
    dialog.token.setText(" hf_ExampleToken123 ")
    dialog.apply_token()
    assert st.stored_token() == "hf_ExampleToken123"
    st.save(dialog.result_settings())
    assert "hf_Example" not in st.settings_path().read_text()


def test_paused_downloads_are_remembered_and_offered_again(qtbot, tmp_path) -> None:
    panel = DownloadsPanel()
    qtbot.addWidget(panel)
    plan = minimax_plan(two_gpu_machine())
    row = panel.add(spec_for(minimax_model(), plan.options[0], tmp_path))
    row.state = "paused"
    saved = panel.remember_pending(st.Settings())
    assert saved.ui.pending_downloads == (st.PendingDownload("minimax-m2.7", "UD-Q4_K_M", str(tmp_path)),)
    later = DownloadsPanel()
    qtbot.addWidget(later)
    later.show()
    later.offer_pending(saved)
    resume = [b for b in later.findChildren(QPushButton) if b.text() == "&Resume"]
    assert len(resume) == 1 and not later.empty.isVisible()
    # still listed if the user quits again without resuming
    assert later.remember_pending(st.Settings()).ui.pending_downloads == saved.ui.pending_downloads
    later.offer_pending(saved)  # offering the same download twice shows it once
    assert len([b for b in later.findChildren(QPushButton) if b.text() == "&Resume"]) == 1


def test_keyboard_reaches_every_control_of_the_main_window(qtbot, fake) -> None:
    window = MainWindow(
        st.Settings().with_ui(first_run_done=True).with_preferences(last_model="minimax-m2.7"), fake.as_backend()
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.plan is not None, timeout=10_000)
    window.activateWindow()
    window.picker.catalog.setFocus()
    reached = set()
    for _ in range(60):  # real Tab presses: a widget that swallowed Tab would trap the user here
        widget = window.focusWidget()
        if isinstance(widget, QTableView | QSlider) or (isinstance(widget, QPushButton) and "Cop&y" in widget.text()):
            reached.add(widget.accessibleName() or widget.text())
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    assert {"Quantization options", "Context length", "Cop&y command"} <= reached
    for action in ("&File", "&Settings", "&Help"):
        assert action in [a.text() for a in window.menuBar().actions()]  # Alt+letter opens each menu


@pytest.mark.parametrize("scale", ["2"])
def test_renders_at_high_dpi(scale: str) -> None:
    script = textwrap.dedent(
        """
        import os
        from ui.app import make_app
        from ui.widgets.memory_chart import MemoryChart
        from tests.fixtures.plans import minimax_plan, two_gpu_machine
        app = make_app([])
        chart = MemoryChart()
        chart.set_option(minimax_plan(two_gpu_machine()).options[0])
        chart.resize(400, chart.sizeHint().height())
        pixmap = chart.grab()
        print(pixmap.devicePixelRatio(), pixmap.width(), chart.width())
        """
    )
    env = {**__import__("os").environ, "QT_SCALE_FACTOR": scale, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ratio, pixels, width = out.stdout.split()
    assert float(ratio) == 2.0 and int(pixels) == 2 * int(width)  # crisp: drawn at device pixels, not scaled up


def test_every_settings_label_has_a_working_shortcut(qtbot) -> None:
    from PySide6.QtWidgets import QLabel

    dialog = SettingsDialog(st.Settings())
    qtbot.addWidget(dialog)
    for label in dialog.findChildren(QLabel):
        if "&" in label.text():
            assert label.buddy() is not None, label.text()  # otherwise the "&" shows up literally
