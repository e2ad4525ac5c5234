"""The real pieces together: the loopback Hub, a generated GGUF, the real resolver, planner and downloader.

A fixed fake machine stands in for the probe (the only thing this test machine cannot provide as asked).
"""

from __future__ import annotations

import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWizard

from advisor import settings as st
from advisor.format import file_size
from advisor.model.types import RepoFile
from advisor.wizard import Page
from tests.ui.conftest import rig_24gb

job = pytest.importorskip("advisor.download.job", reason="the downloader has not landed on main yet")
pytest.importorskip("advisor.plan.planner", reason="the planner has not landed on main yet")
pytest.importorskip("advisor.model.resolve", reason="the model reader has not landed on main yet")
ggufs = pytest.importorskip("tests.fixtures.ggufs", reason="the GGUF fixtures have not landed on main yet")

from tests.fixtures.hubserver import Fault  # noqa: E402
from ui.backend import Backend  # noqa: E402
from ui.downloads import DownloadRow, DownloadSpec  # noqa: E402
from ui.wizard import SetupWizard  # noqa: E402


def _throttled_files(hub, size: int, rate: float, *, shards: int = 1) -> DownloadSpec:
    """Files the loopback Hub sends slowly (it sleeps after each 256 KiB chunk, so use several chunks)."""
    repo = hub.add_repo("org/Slow-GGUF")
    files = []
    for n in range(1, shards + 1):
        data = bytes((i * n) % 251 for i in range(256)) * (size // 256)
        entry = repo.add_file(f"Q8_0/Slow-Q8_0-0000{n}-of-0000{shards}.gguf", data)
        hub.faults[entry.path] = Fault(bytes_per_second=rate)
        files.append(RepoFile(entry.path, len(data), entry.sha256))
    return DownloadSpec("org/Slow-GGUF", "Slow", "org/Slow-GGUF", None, "Q8_0", tuple(files), "")


def _served(hub, path: str) -> bytes:
    f = hub.repos["org/Slow-GGUF"].files[path]
    return f.read(0, f.size)


def test_gui_keeps_painting_during_a_slow_download(hub, qtbot, tmp_path: Path) -> None:
    spec = replace(_throttled_files(hub, 1024 * 1024, 300_000), dest=str(tmp_path))  # about 3.5 s on the wire
    row = DownloadRow(spec)
    qtbot.addWidget(row)
    row.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(25)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    updates: list[int] = []
    began = time.monotonic()
    row.start()
    row.task.progressed.connect(lambda p: updates.append(p.done))
    qtbot.waitUntil(lambda: row.state == "done", timeout=30_000)
    ended = time.monotonic()
    timer.stop()
    during = [t for t in ticks if began <= t <= ended]
    assert ended - began > 2.0  # it really was slow
    # The event loop kept running all along: about one tick per 25 ms is expected; a frozen GUI would give
    # none while bytes arrive. Loose bounds, since this machine's cores are shared.
    assert len(during) >= (ended - began) / 0.025 / 4
    assert max(b - a for a, b in pairwise([began, *during, ended])) < 2.0
    assert len(updates) >= 3 and updates == sorted(updates)  # progress arrived as it went
    final = tmp_path / spec.files[0].path
    assert final.read_bytes() == _served(hub, spec.files[0].path)
    assert "Done" in row.status.text() and row.open_button.isVisibleTo(row)


def test_pause_stops_and_resume_finishes(hub, qtbot, tmp_path: Path) -> None:
    spec = replace(_throttled_files(hub, 1024 * 1024, 1_000_000, shards=3), dest=str(tmp_path))
    row = DownloadRow(spec)
    qtbot.addWidget(row)
    row.start()
    qtbot.waitUntil(lambda: row.last_progress is not None and row.last_progress.done > 0, timeout=10_000)
    row.pause_button.click()
    qtbot.waitUntil(lambda: row.state != "downloading", timeout=20_000)
    assert row.state == "paused", row.status.text()
    assert row.pause_button.text() == "&Resume" and "paused" in row.status.text()
    last = tmp_path / spec.files[-1].path
    assert not last.exists()  # it stopped before the end
    hub.faults.clear()
    row.pause_button.click()
    qtbot.waitUntil(lambda: row.state == "done", timeout=20_000)
    for f in spec.files:
        assert (tmp_path / f.path).read_bytes() == _served(hub, f.path)


def test_cancel_deletes_the_partial_files(hub, qtbot, tmp_path: Path) -> None:
    spec = replace(_throttled_files(hub, 1024 * 1024, 700_000, shards=3), dest=str(tmp_path))
    row = DownloadRow(spec)
    qtbot.addWidget(row)
    row.start()
    qtbot.waitUntil(lambda: row.last_progress is not None and row.last_progress.done > 0, timeout=10_000)
    row.cancel_button.click()
    qtbot.waitUntil(lambda: "deleted" in row.status.text(), timeout=10_000)
    assert row.state == "cancelled"
    served = {str(tmp_path / f.path): _served(hub, f.path) for f in spec.files}
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(left) < len(spec.files)  # it stopped before the end
    for path in left:  # only complete, verified shards stay; partial files and their state are gone
        assert path.read_bytes() == served[str(path)]


def test_walk_the_whole_wizard_through_a_real_download(hub, qtbot, tmp_path: Path) -> None:
    spec = ggufs.GGUFSpec(arch="llama", name="Tiny Walk", n_layers=2, n_vocab=256, license="apache-2.0")
    repo = hub.add_repo("org/Tiny-Walk-GGUF", card_data={"license": "apache-2.0"})
    (tmp_path / "src").mkdir()
    for quant in ("Q8_0", "F16"):
        (path,) = ggufs.write_gguf(tmp_path / "src" / f"Tiny-Walk-{quant}.gguf", spec)
        entry = repo.add_file(path.name, disk_path=path)
        hub.faults[entry.path] = Fault(bytes_per_second=400_000)  # slow enough to see progress
    downloads = tmp_path / "models"
    settings = st.Settings().with_preferences(download_dir=str(downloads))
    machine = rig_24gb()
    wizard = SetupWizard(settings, Backend(probe=lambda: machine))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.state.hardware is not None, timeout=10_000)
    assert "RTX 4090" in wizard.pages[Page.HARDWARE].found.text()
    wizard.next()
    picker = wizard.pages[Page.MODEL].picker
    picker.repo.setText("org/Tiny-Walk-GGUF")
    picker.use_repo.click()
    qtbot.waitUntil(lambda: wizard.state.plan is not None, timeout=30_000)
    plan = wizard.state.plan
    assert {o.quant for o in plan.options} == {"Q8_0", "F16"}
    wizard.next()
    assert wizard.current_page_id() is Page.QUANT
    assert wizard.state.quant == plan.recommended
    assert wizard.pages[Page.QUANT].why.text().startswith(f"Rigfit recommends {plan.recommended}")
    wizard.next()
    assert wizard.current_page_id() is Page.RISKS
    if wizard.pages[Page.RISKS].tick.isVisibleTo(wizard):
        wizard.pages[Page.RISKS].tick.setChecked(True)
    wizard.next()
    assert wizard.current_page_id() is Page.DOWNLOAD
    page = wizard.pages[Page.DOWNLOAD]
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    qtbot.waitUntil(page.start_button.isEnabled, timeout=10_000)  # once the free space is known (a worker)
    assert page.space_line.text().startswith(f"Needs {file_size(wizard.state.option.size_bytes)} more")
    assert not page.optional.isVisibleTo(wizard)  # this repo has no optional files
    page.start_button.click()
    qtbot.waitUntil(lambda: page.row is not None and page.row.last_progress is not None, timeout=10_000)
    qtbot.waitUntil(lambda: wizard.state.download_finished, timeout=60_000)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    assert wizard.current_page_id() is Page.DONE
    option = wizard.state.option
    final = downloads / option.files[0].path
    assert final.stat().st_size == option.files[0].size_bytes
    assert wizard.pages[Page.DONE].command.toPlainText() == option.llama_cpp_command
    assert str(final) in option.llama_cpp_command


def test_a_download_started_in_the_wizard_goes_on_in_the_main_window(hub, qtbot, tmp_path: Path) -> None:
    from ui.main_window import MainWindow

    spec = ggufs.GGUFSpec(
        arch="llama", name="Tiny Handover", n_layers=2, n_embd=128, n_ff=512, n_vocab=256, license="apache-2.0"
    )
    repo = hub.add_repo("org/Tiny-Handover-GGUF", card_data={"license": "apache-2.0"})
    (tmp_path / "src").mkdir()
    (path,) = ggufs.write_gguf(tmp_path / "src" / "Tiny-Handover-Q8_0.gguf", spec)
    entry = repo.add_file(path.name, disk_path=path)
    hub.faults[entry.path] = Fault(bytes_per_second=400_000)  # still running when the wizard closes
    dest = tmp_path / "models"
    settings = st.Settings().with_ui(first_run_done=True).with_preferences(download_dir=str(dest))
    window = MainWindow(settings, Backend(probe=rig_24gb), probe_on_show=False, save_settings=False)
    qtbot.addWidget(window)
    window.show()
    wizard = window.open_wizard()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.state.hardware is not None, timeout=10_000)
    wizard.next()
    picker = wizard.pages[Page.MODEL].picker
    picker.repo.setText("org/Tiny-Handover-GGUF")
    picker.use_repo.click()
    qtbot.waitUntil(lambda: wizard.state.plan is not None, timeout=30_000)
    wizard.next()
    wizard.next()
    if wizard.pages[Page.RISKS].tick.isVisibleTo(wizard):
        wizard.pages[Page.RISKS].tick.setChecked(True)
    wizard.next()
    page = wizard.pages[Page.DOWNLOAD]
    assert wizard.current_page_id() is Page.DOWNLOAD
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    qtbot.waitUntil(page.start_button.isEnabled, timeout=10_000)
    page.start_button.click()
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # no need to wait for the whole file
    row = page.row
    qtbot.waitUntil(lambda: row.last_progress is not None and row.last_progress.done > 0, timeout=10_000)
    wizard.next()
    assert wizard.current_page_id() is Page.DONE
    assert "is downloading into" in wizard.pages[Page.DONE].intro.text()
    assert row.state == "downloading"
    wizard.button(QWizard.WizardButton.FinishButton).click()

    assert window.downloads.rows == [row] and row.parent() is not None and row.window() is window
    assert window.downloads_dock.isVisible()
    hub.faults.pop(entry.path)  # the rest comes at full speed (a new connection only after a drop; keep waiting)
    qtbot.waitUntil(lambda: row.state == "done", timeout=60_000)
    assert (dest / path.name).read_bytes() == path.read_bytes()


def test_main_window_plans_a_hub_repo_and_downloads_it(hub, qtbot, tmp_path: Path) -> None:
    from ui.main_window import MainWindow

    spec = ggufs.GGUFSpec(arch="llama", name="Tiny Main", n_layers=2, n_vocab=256, license="apache-2.0")
    repo = hub.add_repo("org/Tiny-Main-GGUF", card_data={"license": "apache-2.0"})
    (tmp_path / "src").mkdir()
    (path,) = ggufs.write_gguf(tmp_path / "src" / "Tiny-Main-Q8_0.gguf", spec)
    repo.add_file(path.name, disk_path=path)
    settings = st.Settings().with_ui(first_run_done=True).with_preferences(download_dir=str(tmp_path / "models"))
    machine = rig_24gb()
    window = MainWindow(settings, Backend(probe=lambda: machine))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.hardware is not None, timeout=10_000)
    window.picker.repo.setText("org/Tiny-Main-GGUF")
    window.picker.use_repo.click()
    qtbot.waitUntil(lambda: window.plan is not None, timeout=30_000)
    assert window.selected_option().quant == "Q8_0"
    assert window.detail.chart.devices()  # the real planner's memory rows are drawn
    dialog = window.download_selected()
    qtbot.waitUntil(lambda: dialog.download_button.isEnabled(), timeout=10_000)  # free space checked on a worker
    assert dialog.space.fits and dialog.space.remaining_bytes == path.stat().st_size
    dialog.download_button.click()
    qtbot.waitUntil(lambda: bool(window.downloads.rows) and window.downloads.rows[0].state == "done", timeout=30_000)
    assert (tmp_path / "models" / "Tiny-Main-Q8_0.gguf").read_bytes() == path.read_bytes()


def test_a_ticked_vision_projector_is_downloaded_with_the_quant(hub, qtbot, tmp_path: Path) -> None:
    from ui.main_window import MainWindow

    spec = ggufs.GGUFSpec(arch="llama", name="Tiny Vision", n_layers=2, n_vocab=256, license="apache-2.0")
    repo = hub.add_repo("org/Tiny-Vision-GGUF", card_data={"license": "apache-2.0"})
    (tmp_path / "src").mkdir()
    (model_path,) = ggufs.write_gguf(tmp_path / "src" / "Tiny-Vision-Q8_0.gguf", spec)
    repo.add_file(model_path.name, disk_path=model_path)
    projector = bytes(range(256)) * 300
    repo.add_file("mmproj-Tiny-Vision-f16.gguf", projector)
    dest = tmp_path / "models"
    settings = st.Settings().with_ui(first_run_done=True).with_preferences(download_dir=str(dest))
    window = MainWindow(settings, Backend(probe=rig_24gb))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.hardware is not None, timeout=10_000)
    window.picker.repo.setText("org/Tiny-Vision-GGUF")
    window.picker.use_repo.click()
    qtbot.waitUntil(lambda: window.plan is not None, timeout=30_000)
    assert [o.quant for o in window.plan.options] == ["Q8_0"]  # the projector is not offered as a quant

    dialog = window.download_selected()
    ((box, file),) = dialog.companion_boxes
    assert file.path == "mmproj-Tiny-Vision-f16.gguf" and not box.isChecked()  # optional: unticked at first
    assert "Vision projector" in box.text()
    notes = [label.text() for label in dialog.findChildren(QLabel)]
    assert any(f"--mmproj {dest / file.path}" in text for text in notes)  # how to use it, with its local path
    box.setChecked(True)
    qtbot.waitUntil(lambda: dialog.download_button.isEnabled(), timeout=10_000)
    assert dialog.space.remaining_bytes == model_path.stat().st_size + len(projector)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: bool(window.downloads.rows) and window.downloads.rows[0].state == "done", timeout=30_000)
    assert (dest / "mmproj-Tiny-Vision-f16.gguf").read_bytes() == projector
    assert (dest / model_path.name).read_bytes() == model_path.read_bytes()
    assert window.downloads.rows[0].spec.companions == ("mmproj-Tiny-Vision-f16.gguf",)


def test_a_paused_download_resumes_at_the_next_launch(hub, qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QPushButton

    from ui.downloads import DownloadsPanel

    # big enough (about 2 MB) that the throttled Hub is still sending when the app "closes"
    spec = ggufs.GGUFSpec(
        arch="llama", name="Tiny Resume", n_layers=2, n_embd=128, n_ff=512, n_vocab=256, license="apache-2.0"
    )
    repo = hub.add_repo("org/Tiny-Resume-GGUF", card_data={"license": "apache-2.0"})
    (tmp_path / "src").mkdir()
    sources = ggufs.write_gguf(tmp_path / "src" / "Tiny-Resume-Q8_0.gguf", spec, split_max_tensors=4)
    for p in sources:
        entry = repo.add_file(p.name, disk_path=p)
        hub.faults[entry.path] = Fault(bytes_per_second=500_000)
    from advisor.model.resolve import resolve_model

    model = resolve_model("org/Tiny-Resume-GGUF")
    option = model.option("Q8_0")
    assert len(option.files) >= 2
    dest = tmp_path / "models"
    first = DownloadsPanel()
    qtbot.addWidget(first)
    row = first.add(DownloadSpec(model.id, model.name, model.repo, None, "Q8_0", option.files, str(dest)))
    row.start()
    qtbot.waitUntil(lambda: row.last_progress is not None and row.last_progress.done > 0, timeout=10_000)
    first.pause_all()  # what closing the window does
    qtbot.waitUntil(lambda: row.state == "paused", timeout=20_000)
    assert not all((dest / f.path).exists() for f in option.files)  # really interrupted
    saved = first.remember_pending(st.Settings())
    st.save(saved)
    hub.faults.clear()

    second = DownloadsPanel()  # the next launch
    qtbot.addWidget(second)
    second.offer_pending(st.load())
    next(b for b in second.findChildren(QPushButton) if b.text() == "&Resume").click()
    qtbot.waitUntil(lambda: bool(second.rows) and second.rows[0].state == "done", timeout=30_000)
    for f, p in zip(option.files, sources, strict=True):
        assert (dest / f.path).read_bytes() == p.read_bytes()


def test_a_paused_catalog_download_resumes_with_the_hubs_own_file_list(hub, qtbot, tmp_path: Path) -> None:
    """The catalog's shard sizes are estimates: the resume at the next launch asks the Hub for the exact list."""
    from PySide6.QtWidgets import QPushButton

    from advisor.model.resolve import resolve_model
    from ui.downloads import DownloadsPanel

    model = resolve_model("minimax-m2.7")
    planned = model.option("UD-IQ1_M").files
    repo = hub.add_repo(model.repo)
    served = {f.path: bytes([n]) * (30_000 * n) for n, f in enumerate(planned, start=1)}
    for path, data in served.items():
        repo.add_file(path, data)
    dest = tmp_path / "models"
    st.save(st.Settings().with_ui(pending_downloads=(st.PendingDownload("minimax-m2.7", "UD-IQ1_M", str(dest)),)))

    panel = DownloadsPanel()  # the next launch
    qtbot.addWidget(panel)
    panel.offer_pending(st.load())
    next(b for b in panel.findChildren(QPushButton) if b.text() == "&Resume").click()
    qtbot.waitUntil(lambda: bool(panel.rows) and panel.rows[0].state == "done", timeout=30_000)
    assert [f.size_bytes for f in panel.rows[0].spec.files] == [len(d) for d in served.values()]
    for path, data in served.items():
        assert (dest / path).read_bytes() == data


def test_a_catalog_quant_downloads_the_files_the_hub_lists(hub, qtbot, tmp_path: Path) -> None:
    """Plan Gemma from the bundled catalog, then download a quant: the dialog shows and fetches the Hub's list."""
    from advisor.model.resolve import resolve_model
    from ui.main_window import MainWindow

    model = resolve_model("gemma-3-27b-it")
    quant = model.options[0].quant
    repo = hub.add_repo(model.repo)
    served = {f.path: bytes([n]) * (25_000 * n) for n, f in enumerate(model.option(quant).files, start=1)}
    for path, data in served.items():
        repo.add_file(path, data)
    dest = tmp_path / "models"
    settings = st.Settings().with_ui(first_run_done=True).with_preferences(download_dir=str(dest))
    window = MainWindow(settings, Backend(probe=rig_24gb), probe_on_show=False, save_settings=False)
    qtbot.addWidget(window)
    window.show()
    window.set_hardware(rig_24gb())
    qtbot.waitUntil(lambda: window.picker.catalog.findData("gemma-3-27b-it") >= 0, timeout=10_000)  # on a worker
    window.picker.select("gemma-3-27b-it")
    window.picker.use_catalog.click()
    qtbot.waitUntil(lambda: window.plan is not None and window.plan.model.name == model.name, timeout=30_000)
    window.select_quant(quant)
    dialog = window.download_selected()
    elsewhere = tmp_path / "elsewhere"
    dialog.set_dest(elsewhere)  # what choosing a folder with Change… does
    qtbot.waitUntil(dialog.download_button.isEnabled, timeout=10_000)  # after the Hub's list and the free space
    assert [f.size_bytes for f in dialog.shards()] == [len(d) for d in served.values()]
    dialog.download_button.click()
    qtbot.waitUntil(lambda: bool(window.downloads.rows) and window.downloads.rows[0].state == "done", timeout=30_000)
    for path, data in served.items():
        assert (elsewhere / path).read_bytes() == data
    # planned again: the exact files, and a command that names them where they landed
    assert window.settings.preferences.download_dir == str(elsewhere)
    first = next(iter(served))
    qtbot.waitUntil(lambda: str(elsewhere / first) in window.selected_option().llama_cpp_command, timeout=10_000)
    assert window.model.option(quant).size_bytes == sum(len(d) for d in served.values())
