"""The download dialog: what will be written, the optional files to tick, the folder, the free space."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QGroupBox, QLabel

from advisor import settings as st
from advisor.format import file_size
from advisor.model.resolve import resolve_model
from advisor.model.types import RepoFile
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions
from tests.ui.conftest import rig_24gb
from ui import workers
from ui.download_dialog import DownloadDialog
from ui.downloads import pending_for, spec_for


@pytest.fixture(scope="module")
def gemma():
    """The bundled catalog's Gemma 3 27B (its quants come with a vision projector), planned for a 24 GB GPU."""
    model = resolve_model("gemma-3-27b-it")
    result = plan(model, rig_24gb(), PlanOptions(context=8192))
    return model, result.options[0]


@pytest.fixture
def gemma_on_hub(hub, gemma):
    """The (loopback) Hub's copy of Gemma's repo: the catalog's file names with small, exact files."""
    model, option = gemma
    repo = hub.add_repo(model.repo)
    live = {}
    for n, f in enumerate((*model.option(option.quant).files, *companions_of(model, option)), start=1):
        live[f.path] = repo.add_file(f.path, bytes([n]) * (10_000 * n))
    return model, option, live


def companions_of(model, option):
    return model.option(option.quant).companions


def _dialog(qtbot, model, option, dest: Path) -> DownloadDialog:
    dialog = DownloadDialog(model, option, dest)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_optional_files_are_offered_unticked_and_ticking_one_adds_it(qtbot, gemma_on_hub, tmp_path: Path) -> None:
    model, option, live = gemma_on_hub
    dialog = _dialog(qtbot, model, option, tmp_path)
    companions = companions_of(model, option)
    assert companions, "the catalog lists a projector for this quant"
    assert [file.path for _box, file in dialog.companion_boxes] == [f.path for f in companions]
    assert dialog.findChild(QGroupBox).isVisible()
    assert not dialog.chosen_companions()
    qtbot.waitUntil(lambda: dialog.live.confirmed is not None and dialog.space is not None, timeout=10_000)
    shards = dialog.shards()
    assert [f.path for f in shards] == [f.path for f in option.files]
    assert [f.size_bytes for f in shards] == [live[f.path].size for f in option.files]  # the Hub's, not the catalog's
    assert all(f.sha256 == live[f.path].sha256 for f in shards)
    before = dialog.space.remaining_bytes
    assert before == sum(f.size_bytes for f in shards)
    assert "an estimate from the bundled catalog" in dialog.list_note.text()

    box, projector = dialog.companion_boxes[0]
    box.setChecked(True)
    assert dialog.files() == (*shards, projector) and projector.size_bytes == live[projector.path].size
    total = file_size(sum(f.size_bytes for f in dialog.files()))
    assert dialog.total.text() == f"{total} in {len(shards) + 1} file(s)."
    qtbot.waitUntil(lambda: dialog.space is not None and dialog.download_button.isEnabled(), timeout=10_000)
    assert dialog.space.remaining_bytes == before + projector.size_bytes


def test_a_catalog_quant_cannot_start_while_the_hub_cannot_confirm_it(qtbot, gemma, hub, tmp_path: Path) -> None:
    model, option = gemma  # the loopback Hub has no such repo: the check fails and says why
    dialog = _dialog(qtbot, model, option, tmp_path)
    assert not dialog.download_button.isEnabled()
    assert f"Checking {option.quant}'s files on the Hub" in dialog.list_note.text()
    qtbot.waitUntil(lambda: dialog.live.error is not None, timeout=10_000)
    qtbot.waitUntil(lambda: dialog.space is not None, timeout=10_000)
    assert not dialog.download_button.isEnabled()
    assert "Could not check the files on the Hub" in dialog.list_note.text()
    assert model.repo in dialog.list_note.text()


def test_a_set_that_does_not_fit_cannot_be_started(qtbot, gemma, tmp_path: Path) -> None:
    model, option = gemma
    listed = replace(model, source="hub")  # a list read from the Hub, with hashes: exact, nothing to confirm
    huge = RepoFile("huge-Q8_0.gguf", 10**18, "0" * 64)  # 1 EB: fits nowhere
    dialog = _dialog(qtbot, listed, replace(option, files=(huge,), size_bytes=10**18), tmp_path)
    assert not dialog.live.needed
    assert not dialog.download_button.isEnabled()  # not before the worker has answered
    qtbot.waitUntil(lambda: dialog.space is not None, timeout=10_000)
    assert not dialog.space.fits and not dialog.download_button.isEnabled()
    assert "It does not fit" in dialog.space_line.text() and "choose another folder" in dialog.space_line.text()


def test_changing_the_folder_checks_that_folder(qtbot, gemma_on_hub, tmp_path: Path) -> None:
    model, option, live = gemma_on_hub
    first, second = tmp_path / "a", tmp_path / "b"
    second.mkdir()
    done = option.files[0]
    (second / done.path).parent.mkdir(parents=True, exist_ok=True)
    with open(second / done.path, "wb") as fh:
        fh.truncate(live[done.path].size)  # a complete-looking file there: only the rest is still to fetch
    dialog = _dialog(qtbot, model, option, first)
    qtbot.waitUntil(lambda: dialog.live.confirmed is not None, timeout=10_000)
    chooser = dialog.choose_folder()
    assert chooser.isVisible()  # opened without blocking: the test goes on while it shows
    chooser.fileSelected.emit(str(second))
    chooser.close()
    assert dialog.dest == second and dialog.folder.text() == str(second)
    qtbot.waitUntil(lambda: dialog.space is not None, timeout=10_000)
    assert dialog.space.dest_dir == second
    assert dialog.space.remaining_bytes == sum(f.size_bytes for f in dialog.shards()) - live[done.path].size


def test_cancel_starts_nothing(qtbot, gemma_on_hub, tmp_path: Path) -> None:
    model, option, _live = gemma_on_hub
    dialog = _dialog(qtbot, model, option, tmp_path)
    accepted = []
    dialog.accepted.connect(lambda: accepted.append(True))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert accepted == [] and not dialog.isVisible()
    workers.wait_for_all()


def test_ticked_optional_files_are_remembered_for_the_next_launch(gemma, tmp_path: Path) -> None:
    model, option = gemma
    projector = model.option(option.quant).companions[0]
    spec = spec_for(model, option, tmp_path, (projector,))
    assert spec.files == (*option.files, projector) and spec.companions == (projector.path,)
    settings = st.Settings().with_ui(pending_downloads=(pending_for(spec),))
    path = st.save(settings, tmp_path / "settings.json")
    (pending,) = st.load(path).ui.pending_downloads
    assert pending == st.PendingDownload(model.id, option.quant, str(tmp_path), (projector.path,))


def test_the_projector_note_names_the_flag_and_the_local_path(qtbot, gemma_on_hub, tmp_path: Path) -> None:
    model, option, _live = gemma_on_hub
    dialog = _dialog(qtbot, model, option, tmp_path)
    qtbot.waitUntil(lambda: dialog.live.confirmed is not None, timeout=10_000)
    _box, projector = dialog.companion_boxes[0]
    notes = [label.text() for label in dialog.findChildren(QLabel)]
    assert any(f"--mmproj {tmp_path / projector.path}" in text for text in notes)
