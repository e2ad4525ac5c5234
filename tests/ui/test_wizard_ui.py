"""The setup wizard's thin pages over ``advisor.wizard``: walked with a fake machine and hand-built plans."""

from __future__ import annotations

import html
import threading

import pytest
from PySide6.QtWidgets import QLabel, QWizard

from advisor import settings as st
from advisor.wizard import Page, local_path
from ui.wizard import SetupWizard


@pytest.fixture
def wizard(qtbot, fake, tmp_path):
    settings = st.Settings().with_preferences(download_dir=str(tmp_path / "models"), last_model="minimax-m2.7")
    w = SetupWizard(settings, fake.as_backend())
    qtbot.addWidget(w)
    w.show()
    return w


def _next(wizard: SetupWizard, expected: Page) -> None:
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled(), wizard.currentPage().blocker_label.text()
    wizard.next()
    assert wizard.current_page_id() is expected


def _to_quant_page(wizard: SetupWizard, qtbot) -> None:
    _next(wizard, Page.HARDWARE)
    qtbot.waitUntil(lambda: wizard.state.hardware is not None, timeout=5000)
    assert "RTX 4090" in wizard.pages[Page.HARDWARE].found.text()
    _next(wizard, Page.MODEL)
    model_page = wizard.pages[Page.MODEL]
    qtbot.waitUntil(lambda: model_page.picker.current_catalog_id() == "minimax-m2.7", timeout=5000)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # no model planned yet
    model_page.picker.use_catalog.click()
    qtbot.waitUntil(lambda: wizard.state.plan is not None, timeout=5000)
    _next(wizard, Page.QUANT)


def test_walk_with_files_already_on_disk_skips_the_download(wizard, fake, qtbot, tmp_path) -> None:
    _to_quant_page(wizard, qtbot)
    quant_page = wizard.pages[Page.QUANT]
    assert quant_page.why.text() == "Rigfit recommends UD-Q4_K_M: the best quality that runs at a usable speed here."
    assert quant_page.table.currentIndex().row() == 0  # the recommended option is preselected
    option = wizard.state.option
    for f in option.files:  # the files are already there: the download page is skipped
        p = local_path(tmp_path / "models", f)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as fh:
            fh.truncate(f.size_bytes)
    _next(wizard, Page.RISKS)
    qtbot.waitUntil(lambda: wizard.state.missing_files == (), timeout=5000)  # looked up on a worker
    risks = wizard.pages[Page.RISKS]
    assert "does not allow commercial use" in risks.licence.text()
    assert risks.tick.isVisible() and "Non-commercial licence" in risks.risks.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "Tick the box" in risks.blocker_label.text()
    risks.tick.setChecked(True)
    _next(wizard, Page.DONE)
    done = wizard.pages[Page.DONE]
    # the plan's command, with -m where the files are (this setup's folder, not the plan's)
    expected = option.llama_cpp_command.replace("/home/alice/models", str(tmp_path / "models"))
    assert expected != option.llama_cpp_command and done.command.toPlainText() == expected
    # Export report here is the same dialog and writer as File > Export report
    from tests.ui.conftest import wait_task
    from ui.report_actions import ExportDialog

    done.report_button.click()
    dialog = done._export_dialog
    assert isinstance(dialog, ExportDialog) and not dialog.identifying.isChecked()
    dialog.selectFile(str(tmp_path / "done.md"))
    dialog.accept()
    wait_task(qtbot, dialog.task)
    assert "UD-Q4_K_M" in (tmp_path / "done.md").read_text()
    finished = []
    wizard.finished_setup.connect(lambda *args: finished.append(args))
    wizard.button(QWizard.WizardButton.FinishButton).click()
    settings, hardware, model, plan = finished[0]
    assert model.id == "minimax-m2.7"
    assert settings.ui.first_run_done and settings.preferences.last_model == "minimax-m2.7"
    assert hardware.gpus[0].name == "NVIDIA GeForce RTX 4090" and plan.recommended == "UD-Q4_K_M"
    assert all(t != threading.main_thread().name for _k, t, _ in fake.calls)


def test_missing_files_lead_to_the_download_page_which_waits(wizard, qtbot, hub) -> None:
    _to_quant_page(wizard, qtbot)
    _next(wizard, Page.RISKS)
    wizard.pages[Page.RISKS].tick.setChecked(True)
    _next(wizard, Page.DOWNLOAD)
    page = wizard.pages[Page.DOWNLOAD]
    qtbot.waitUntil(lambda: "4 still to download" in page.summary.text(), timeout=5000)
    # a catalog quant is checked with the Hub before it can start; this (loopback) Hub has no such repo
    qtbot.waitUntil(lambda: page.live.error is not None, timeout=10_000)
    assert "Could not check the files on the Hub" in page.list_note.text() and not page.start_button.isEnabled()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert page.start_button.isVisible()


def test_the_download_page_offers_optional_files_and_another_folder(qtbot, fake, tmp_path, hub) -> None:
    from dataclasses import replace

    from advisor.model.types import QuantOption, RepoFile
    from tests.fixtures.plans import minimax_plan

    plan_files = minimax_plan(fake.hardware).option("UD-Q4_K_M").files
    projector = RepoFile("mmproj-MiniMax-F16.gguf", 900_000_000, None)
    option = QuantOption("UD-Q4_K_M", plan_files, 140 * 10**9, companions=(projector,))
    fake.model = replace(fake.model, options=(option,))
    settings = st.Settings().with_preferences(download_dir=str(tmp_path / "models"), last_model="minimax-m2.7")
    wizard = SetupWizard(settings, fake.as_backend())
    qtbot.addWidget(wizard)
    wizard.show()
    _to_quant_page(wizard, qtbot)
    _next(wizard, Page.RISKS)
    wizard.pages[Page.RISKS].tick.setChecked(True)
    _next(wizard, Page.DOWNLOAD)
    page = wizard.pages[Page.DOWNLOAD]
    ((box, offered),) = page.optional.boxes
    assert offered == projector and not box.isChecked() and page.optional.isVisible()
    qtbot.waitUntil(lambda: page.space_line.space is not None, timeout=5000)
    assert page.space_line.space.remaining_bytes == 140 * 10**9
    box.setChecked(True)
    qtbot.waitUntil(lambda: page.space_line.space is not None, timeout=5000)
    assert page.space_line.space.remaining_bytes == 140 * 10**9 + projector.size_bytes

    other = tmp_path / "elsewhere"
    for f in plan_files:  # that folder already holds the option's files (sparse, at full size)
        p = local_path(other, f)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as fh:
            fh.truncate(f.size_bytes)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    chooser = page.choose_folder()
    chooser.fileSelected.emit(str(other))
    chooser.close()
    assert wizard.state.download_dir == str(other) and str(other) in page.folder.text()
    qtbot.waitUntil(lambda: page.space_line.space is not None, timeout=5000)
    assert page.space_line.space.dest_dir == other
    assert any(f"--mmproj {other / projector.path}" in label.text() for label in page.optional.findChildren(QLabel))
    qtbot.waitUntil(lambda: "every file is already in the folder" in page.summary.text(), timeout=5000)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # nothing left to wait for
    _next(wizard, Page.DONE)
    command = wizard.pages[Page.DONE].command.toPlainText()
    assert f"-m {other / plan_files[0].path}" in command  # where this setup put the files, not Settings' folder
    assert str(tmp_path / "models") not in command


def test_choosing_another_quant_asks_for_the_licence_tick_again(wizard, qtbot) -> None:
    _to_quant_page(wizard, qtbot)
    _next(wizard, Page.RISKS)
    wizard.pages[Page.RISKS].tick.setChecked(True)
    wizard.back()
    quant_page = wizard.pages[Page.QUANT]
    quant_page.table.setCurrentIndex(quant_page.model.index(1, 0))
    assert wizard.state.quant == "BF16" and not wizard.state.licence_acknowledged
    _next(wizard, Page.RISKS)
    assert not wizard.pages[Page.RISKS].tick.isChecked()
    assert "Streams from disk" in wizard.pages[Page.RISKS].risks.text()


def test_hardware_corrections_are_saved_and_applied(wizard, qtbot) -> None:
    _next(wizard, Page.HARDWARE)
    qtbot.waitUntil(lambda: wizard.state.hardware is not None, timeout=5000)
    page = wizard.pages[Page.HARDWARE]
    page.ram.setValue(64.0)
    _index, vram, _bw = page.gpu_spins[1]
    vram.setValue(20.0)
    page.apply_button.click()
    overrides = wizard.settings.preferences.overrides
    assert overrides.ram_total_bytes == 64 * 2**30 and overrides.ram_bandwidth_gbps is None
    assert overrides.gpus == (st.GpuOverride(1, 20 * 2**30, None),)
    assert wizard.state.hardware.memory.total_bytes == 64 * 2**30
    assert "64.0 GiB RAM" in page.found.text()


def test_cancel_marks_first_run_done(wizard) -> None:
    closed = []
    wizard.closed.connect(closed.append)
    wizard.reject()
    assert closed[0].ui.first_run_done


def test_correcting_the_machine_replans_the_chosen_model(wizard, fake, qtbot) -> None:
    _to_quant_page(wizard, qtbot)
    wizard.back()
    wizard.back()
    page = wizard.pages[Page.HARDWARE]
    page.ram.setValue(64.0)
    page.apply_button.click()
    assert wizard.state.plan is None  # the old plan was for the old machine
    wizard.next()
    qtbot.waitUntil(lambda: wizard.state.plan is not None, timeout=5000)
    assert fake.calls[-1][0] == "plan"
    assert wizard.state.plan.hardware[0].memory.total_bytes == 64 * 2**30


def test_skipping_the_download_gives_the_hubs_own_command(wizard, qtbot, hub) -> None:
    _to_quant_page(wizard, qtbot)
    _next(wizard, Page.RISKS)
    wizard.pages[Page.RISKS].tick.setChecked(True)
    _next(wizard, Page.DOWNLOAD)
    page = wizard.pages[Page.DOWNLOAD]
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "or skip it" in page.blocker_label.text()
    page.skip_button.click()
    assert wizard.current_page_id() is Page.DONE
    intro = html.unescape(wizard.pages[Page.DONE].intro.text())
    folder = wizard.state.download_dir
    assert "is not downloaded yet" in intro
    assert f"hf download unsloth/MiniMax-M2.7-GGUF --include 'UD-Q4_K_M/*' --local-dir {folder}" in intro
    assert wizard.pages[Page.DONE].command.toPlainText().startswith(f"llama-server -m {folder}/UD-Q4_K_M/")
