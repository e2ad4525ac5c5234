"""The main window with a fake machine and hand-built plans: off-thread work, live re-plan, settings kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from advisor import settings as st
from ui.main_window import MainWindow
from ui.models import Column

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot, fake):
    settings = st.Settings().with_ui(first_run_done=True).with_preferences(last_model="minimax-m2.7")
    w = MainWindow(settings, fake.as_backend())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.plan is not None, timeout=10_000)
    return w


def test_probe_and_plan_run_on_workers_and_fill_the_window(window, fake) -> None:
    main = threading.main_thread().name
    kinds = [kind for kind, _thread, _ in fake.calls]
    assert kinds[:3] == ["probe", "resolve", "plan"]
    assert all(thread != main for _kind, thread, _ in fake.calls)
    assert "NVIDIA GeForce RTX 4090" in window.hardware_label.text()
    assert window.options_model.rowCount() == 2
    assert window.selected_option().quant == "UD-Q4_K_M"  # the recommended one is selected
    assert "Rigfit recommends UD-Q4_K_M" in window.recommendation.text()
    assert window.detail.command.toPlainText().startswith("llama-server -m ")
    assert "Non-commercial licence" in window.detail.risks.text()
    assert window.picker.current_catalog_id() == "minimax-m2.7"
    assert window.picker.catalog.itemText(0) == "MiniMax M2.7"


def test_selecting_a_row_updates_the_detail_pane(window, qtbot) -> None:
    window.table.setCurrentIndex(window.options_model.index(1, Column.QUANT))
    assert window.detail.heading.text() == "MiniMax M2.7 · BF16"
    assert window.detail.badge.text() == "Streams from disk"
    assert "cannot run here" in window.detail.command.toPlainText()
    assert not window.detail.copy_button.isEnabled()


def test_context_slider_replans_once_after_the_user_stops(window, fake, qtbot) -> None:
    plans_before = sum(1 for kind, *_ in fake.calls if kind == "plan")
    slider = window.detail.context_slider
    window.table.setCurrentIndex(window.options_model.index(1, Column.QUANT))  # the user's choice survives
    for step in range(slider.value() - 1, slider.value() - 4, -1):
        slider.setValue(step)
    target = window.detail.context_value()
    qtbot.waitUntil(lambda: window.plan.context == target, timeout=5000)
    plans = [opts for kind, _t, opts in fake.calls if kind == "plan"]
    assert len(plans) == plans_before + 1  # debounced: three moves, one plan
    assert plans[-1].context == target
    assert window.selected_option().quant == "BF16"
    assert window.detail.context_label.text() == f"{target // 1024}K tokens"


def test_stale_plan_results_are_dropped(window, fake, qtbot) -> None:
    fake.gate = threading.Event()
    window._replan(4096)  # slow: waits on the gate
    window._replan(8192)  # newer
    fake.gate.set()
    qtbot.waitUntil(lambda: window.plan.context == 8192, timeout=5000)
    from ui import workers

    workers.wait_for_all(5000)
    qtbot.wait(50)
    assert window.plan.context == 8192


def test_geometry_and_choices_persist(qtbot, fake) -> None:
    w = MainWindow(st.Settings().with_ui(first_run_done=True), fake.as_backend())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.hardware is not None, timeout=5000)
    w.resize(720, 540)
    w.picker.model_chosen.emit("minimax-m2.7")
    qtbot.waitUntil(lambda: w.plan is not None, timeout=5000)
    w.close()
    saved = st.load()
    assert saved.preferences.last_model == "minimax-m2.7"
    assert saved.ui.window_geometry and saved.ui.window_state
    again = MainWindow(saved, fake.as_backend(), probe_on_show=False)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (720, 540)


def test_settings_dialog_changes_kv_type_and_replans(window, fake, qtbot) -> None:
    window.open_settings()
    dialog = window._settings_dialog
    dialog.kv_type.setCurrentIndex(dialog.kv_type.findData("q8_0"))
    dialog.accept()
    qtbot.waitUntil(lambda: window.plan.request.kv_type_k == "q8_0", timeout=5000)
    assert st.load().preferences.kv_type == "q8_0"
    assert "176K" in window.options_model.data(window.options_model.index(0, Column.MAX_CONTEXT))


def test_first_launch_opens_the_wizard(qtbot, fake) -> None:
    w = MainWindow(st.Settings(), fake.as_backend())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "wizard", None) is not None and w.wizard.isVisible(), timeout=5000)
    w.wizard.next()  # the hardware page probes once, for the wizard and the window alike
    qtbot.waitUntil(lambda: w.hardware is not None, timeout=5000)
    w.wizard.reject()
    assert st.load().ui.first_run_done  # closing it once means it does not come back uninvited
    assert [kind for kind, *_ in fake.calls].count("probe") == 1


def test_menus_hold_the_promised_entries(window) -> None:
    titles = {a.text().replace("&", "") for m in window.menuBar().actions() for a in m.menu().actions()}
    for entry in ("Open hardware file…", "Export report…", "Preferences…", "Setup wizard…", "About Rigfit"):
        assert entry in titles


@pytest.mark.parametrize("name, fmt", [("r.html", "html"), ("r.md", "md"), ("r.json", "json"), ("r.pdf", "pdf")])
def test_export_report_in_every_format_scrubs_the_hub_token(window, qtbot, tmp_path, monkeypatch, name, fmt) -> None:
    from dataclasses import replace

    from tests.ui.conftest import wait_task
    from ui.report_actions import IDENTIFYING_TEXT

    token = "MySecretToken0042"  # not shaped like hf_...: only the secrets list can scrub it
    monkeypatch.setenv("HF_TOKEN", token)
    hardware = replace(window.plan.hardware[0], notes=(f"logged in with {token}",))
    window.plan = replace(window.plan, hardware=(hardware,))  # the report describes the plan's machine
    dialog = window.export_action.trigger() or window._export_dialog
    assert dialog.identifying.text() == IDENTIFYING_TEXT and not dialog.identifying.isChecked()
    path = tmp_path / name
    dialog.selectFile(str(path))
    dialog.accept()
    wait_task(qtbot, dialog.task)
    data = path.read_bytes()
    if fmt == "pdf":
        import io

        from pypdf import PdfReader

        assert data.startswith(b"%PDF-")
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    else:
        text = data.decode()
    assert "MiniMax M2.7" in text and "RTX 4090" in text
    assert "logged in with" in text  # the note is there, the token is not
    assert token not in text and token.encode() not in data
    assert "alices-workstation" not in text  # identifying details only when ticked


def test_export_format_follows_the_filter_and_the_checkbox_keeps_the_hostname(window, qtbot, tmp_path) -> None:
    import json

    from tests.ui.conftest import wait_task
    from ui.report_actions import FILTERS

    dialog = window.export_report()
    dialog.selectNameFilter(FILTERS["json"])
    dialog.identifying.setChecked(True)
    dialog.selectFile(str(tmp_path / "no-extension"))
    dialog.accept()
    wait_task(qtbot, dialog.task)
    data = json.loads((tmp_path / "no-extension.json").read_text())
    assert "alices-workstation" in json.dumps(data)


def test_window_start_does_not_load_heavy_modules() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from ui.app import make_app, MainWindow
        from advisor import settings as st
        app = make_app([])
        w = MainWindow(st.Settings().with_ui(first_run_done=True), probe_on_show=False, save_settings=False)
        w.show()
        w.grab()  # painted once; the catalog, probe and planner load on workers only after this
        heavy = [m for m in ("huggingface_hub", "numpy", "pynvml", "gguf", "httpx2") if m in sys.modules]
        print(",".join(heavy) or "none")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "none"


def test_download_button_shows_the_files_before_anything_starts(window, qtbot, hub) -> None:
    from PySide6.QtWidgets import QDialogButtonBox, QLabel

    dialog = window.download_selected()
    shown = "\n".join(label.text() for label in dialog.findChildren(QLabel))
    assert "MiniMax-M2.7-UD-Q4_K_M-00004-of-00004.gguf" in shown
    assert "140.0 GB in 4 file(s)." in shown
    qtbot.waitUntil(lambda: dialog.live.error is not None, timeout=10_000)  # the loopback Hub has no such repo
    assert not dialog.download_button.isEnabled()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert window.downloads.rows == []  # cancelled: nothing started


def test_hardware_file_loads_and_a_broken_one_falls_back_to_probing(qtbot, fake, tmp_path) -> None:
    from tests.fixtures.plans import two_gpu_machine
    from ui import errors

    good = tmp_path / "other.json"
    good.write_text(two_gpu_machine().to_json())
    w = MainWindow(st.Settings().with_ui(first_run_done=True), fake.as_backend())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.hardware is not None, timeout=5000)
    w.load_hardware(str(good))
    qtbot.waitUntil(lambda: st.load().preferences.hardware_file == str(good), timeout=5000)
    assert "RTX 3090" in w.hardware_label.text()

    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    fake.calls.clear()
    w2 = MainWindow(
        st.Settings().with_ui(first_run_done=True).with_preferences(hardware_file=str(bad)), fake.as_backend()
    )
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitUntil(lambda: w2.hardware is not None, timeout=5000)
    assert [k for k, *_ in fake.calls][:1] == ["probe"]
    assert any("not valid JSON" in getattr(d, "text", lambda: "")() for d in errors.open_dialogs())
    assert st.load().preferences.hardware_file is None


def test_help_setup_wizard_reopens_it_with_the_known_machine(window, fake, qtbot) -> None:
    probes = [k for k, *_ in fake.calls].count("probe")
    window.wizard_action.trigger()
    wizard = window.wizard
    assert wizard.isVisible() and wizard.state.hardware is not None
    wizard.next()
    assert "RTX 4090" in wizard.pages[wizard.current_page_id()].found.text()
    assert [k for k, *_ in fake.calls].count("probe") == probes  # no second probe
    wizard.reject()


def test_correct_button_saves_the_corrections_and_replans(window, fake, qtbot) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    assert window.correct_button.isEnabled() and window.correct_button.isVisible()
    plans_before = sum(1 for kind, *_ in fake.calls if kind == "plan")
    dialog = window.open_corrections()
    form = dialog.form
    assert form.ram.value() == 256.0 and len(form.gpu_spins) == 2  # the same form as the wizard's
    form.ram.setValue(192.0)
    _index, vram, bw = form.gpu_spins[1]
    vram.setValue(20.0)
    bw.setValue(900.0)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    overrides = window.settings.preferences.overrides
    assert overrides.ram_total_bytes == 192 * 2**30
    assert overrides.gpus == (st.GpuOverride(1, 20 * 2**30, 900.0),)
    assert st.load().preferences.overrides == overrides  # saved in the settings file
    assert window.hardware.memory.total_bytes == 192 * 2**30
    assert window.hardware.gpus[1].vram_total_bytes == 20 * 2**30 and window.hardware.gpus[1].bandwidth_source == "user"
    assert "192.0 GiB RAM" in window.hardware_label.text()
    qtbot.waitUntil(lambda: sum(1 for kind, *_ in fake.calls if kind == "plan") > plans_before, timeout=5000)
    qtbot.waitUntil(lambda: window.plan.hardware[0].memory.total_bytes == 192 * 2**30, timeout=5000)
    # opened again, it shows the corrected values; cancel changes nothing
    again = window.open_corrections()
    assert again.form.ram.value() == 192.0
    again.reject()
    assert window.settings.preferences.overrides == overrides


def test_the_detail_names_a_longer_context_that_another_placement_holds(window) -> None:
    from dataclasses import replace

    plan = window.plan
    chosen = plan.option("UD-Q4_K_M")
    assert "with more of the model in RAM" not in window.detail.summary.text()  # the fixture plan knows none
    longer = replace(chosen, longest_context=196608)
    window.show_plan(replace(plan, options=tuple(longer if o is chosen else o for o in plan.options)))
    window.select_quant("UD-Q4_K_M")
    assert "up to 192K with more of the model in RAM" in window.detail.summary.text()
