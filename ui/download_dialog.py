"""The last look before a download: exactly which files, the optional ones to tick, the folder, the free space.

Files, sizes and the optional files come from the plan and the model (never from here); the free-space figures
come from the core's ``space_check`` on a worker, because the folder may sit on a slow or network disk.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from advisor import settings as st
from advisor.format import file_size
from advisor.model.companions import companion_kind, companions_for, usage_text
from advisor.model.types import Model, RepoFile
from advisor.plan.types import OptionPlan
from ui import workers

WARNING_STYLE = "color: #b3261e"


def choose_folder(parent: QWidget, start: Path, on_chosen) -> QFileDialog:
    """A folder chooser that opens without blocking; ``on_chosen(Path)`` runs when the user picks one."""
    dialog = QFileDialog(parent, "Download into", str(start))
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.fileSelected.connect(lambda path: on_chosen(Path(path)))
    dialog.open()
    return dialog


class OptionalFiles(QGroupBox):
    """A tick box per optional file (vision projector ...), unticked, each with what it is for and how to use it.

    Hidden when there is none. ``changed`` fires when a box is ticked or cleared.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Optional files", parent)
        self.boxes: list[tuple[QCheckBox, RepoFile]] = []
        self._notes: list[tuple[QLabel, object, RepoFile]] = []
        QVBoxLayout(self)
        self.setVisible(False)

    def set_files(self, files: tuple[RepoFile, ...], dest: Path) -> None:
        layout = self.layout()
        while layout.count():
            item = layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.boxes, self._notes = [], []
        for file in files:
            kind = companion_kind(file.path)
            box = QCheckBox(f"{kind.title if kind else 'Optional file'}: {file.path} ({file_size(file.size_bytes)})")
            box.toggled.connect(lambda _checked: self.changed.emit())
            layout.addWidget(box)
            self.boxes.append((box, file))
            if kind is not None:
                note = QLabel()
                note.setWordWrap(True)
                note.setContentsMargins(24, 0, 0, 4)
                layout.addWidget(note)
                self._notes.append((note, kind, file))
        self.set_dest(dest)
        self.setVisible(bool(self.boxes))

    def set_dest(self, dest: Path) -> None:
        """The usage notes name each file where it will be."""
        for note, kind, file in self._notes:
            note.setText(f"{kind.purpose} {usage_text(kind, str(Path(dest) / file.path))}")

    def chosen(self) -> tuple[RepoFile, ...]:
        return tuple(file for box, file in self.boxes if box.isChecked())

    def replace_files(self, files: tuple[RepoFile, ...], dest: Path) -> None:
        """New versions of the files (the Hub's list), keeping what the user ticked, by path."""
        ticked = {f.path for f in self.chosen()}
        self.set_files(files, dest)
        for box, file in self.boxes:
            box.setChecked(file.path in ticked)


class FreeSpaceLine(QLabel):
    """What a file set still needs against what is free in its folder, from the core's ``space_check`` on a worker.

    ``checked(bool)`` reports whether it fits (True too when the check itself failed: the download checks again
    and says why). Only the answer to the newest request is shown.
    """

    checked = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.space = None  # the latest advisor.download.job.SpaceCheck
        self._generation = 0

    def check(self, repo_id: str, revision: str, files: tuple[RepoFile, ...], dest: Path) -> None:
        import advisor.download.job as job

        self._generation += 1
        generation = self._generation
        self.space = None
        self.setStyleSheet("")
        self.setText("Checking the free space there…")
        request = job.DownloadRequest(repo_id, revision, files, Path(dest))

        def done(check) -> None:
            if isValid(self) and generation == self._generation:  # the dialog may have closed meanwhile
                self._show(check)

        def failed(exc: BaseException) -> None:
            if isValid(self) and generation == self._generation:
                self.setText(f"Could not check the free space there: {exc}")
                self.checked.emit(True)

        workers.run_task(lambda _ctx: job.space_check(request), on_done=done, on_error=failed, name="free space")

    def _show(self, check) -> None:
        self.space = check
        if check.fits:
            self.setStyleSheet("")
            self.setText(check.summary)
        else:
            self.setStyleSheet(WARNING_STYLE)
            self.setText(
                f"{check.summary} It does not fit: free {file_size(check.shortfall_bytes)} there or choose another "
                "folder."
            )
        self.checked.emit(check.fits)


class LiveFileList(QObject):
    """The Hub's own file list for a quant from the bundled catalog (exact sizes, sha256), fetched on a worker.

    Catalog sizes are estimates or rounded figures, and a transfer checks every size and hash against the server,
    so a catalog quant is confirmed before anything starts. ``ready`` carries the core's ``ConfirmedFiles``;
    ``failed`` a sentence (offline, gated, the quant gone ...).
    """

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.confirmed = None  # advisor.download.job.ConfirmedFiles once ready
        self.error: str | None = None
        self.needed = False

    @property
    def settled(self) -> bool:
        """Nothing to wait for: no check needed, or the check answered."""
        return not self.needed or self.confirmed is not None

    def start(self, model: Model, quant: str, planned: tuple[RepoFile, ...], companions: tuple[RepoFile, ...]) -> None:
        import advisor.download.job as job

        self.needed = bool(model.repo) and job.needs_confirmation(model.source, planned)
        self.confirmed, self.error = None, None
        if not self.needed:
            return
        repo, revision = model.repo or "", model.revision
        wanted = tuple(f.path for f in companions)
        token = st.stored_token()

        def failed(exc: BaseException) -> None:
            if not isValid(self):
                return
            self.error = str(exc)  # a RigfitError's message, then its hint on the next line
            self.failed.emit(self.error)

        def ready(confirmed) -> None:
            if not isValid(self):
                return
            self.confirmed = confirmed
            self.ready.emit(confirmed)

        workers.run_task(
            lambda _ctx: job.confirm_files(repo, revision, quant, planned, companions=wanted, token=token),
            on_done=ready,
            on_error=failed,
            name="file list",
        )

    def shards(self, planned: tuple[RepoFile, ...]) -> tuple[RepoFile, ...]:
        if self.confirmed is None:
            return planned
        return tuple(f for f in self.confirmed.files if not _is_optional(f))

    def companions(self, planned: tuple[RepoFile, ...]) -> tuple[RepoFile, ...]:
        if self.confirmed is None:
            return planned
        return tuple(f for f in self.confirmed.files if _is_optional(f))


def show_list_checking(note: QLabel, quant: str, needed: bool) -> None:
    """While the Hub is asked for a catalog quant's real list (shown only when it is asked)."""
    note.setStyleSheet("")
    note.setText(f"Checking {quant}'s files on the Hub (the catalog's sizes are estimates)…")
    note.setVisible(needed)


def show_list_confirmed(note: QLabel, confirmed) -> None:
    """What the Hub's answer changed in the list shown (or that it was exact)."""
    note.setStyleSheet("")
    note.setText(" ".join(confirmed.changes) or "Checked with the Hub: the sizes above are exact.")


def show_list_failed(note: QLabel, message: str) -> None:
    note.setStyleSheet(WARNING_STYLE)
    note.setText(f"Could not check the files on the Hub, so nothing can be downloaded now: {message}")


def _is_optional(file: RepoFile) -> bool:
    return companion_kind(file.path) is not None


def files_text(files: tuple[RepoFile, ...]) -> str:
    return "\n".join(f"{file_size(f.size_bytes):>9}  {f.path}" for f in files)


class DownloadDialog(QDialog):
    """Opens without blocking (``open()``); on Download, read ``dest`` and ``chosen_companions()``."""

    def __init__(self, model: Model, option: OptionPlan, dest: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download")
        self.model, self.option, self.dest = model, option, Path(dest)

        heading = QLabel(f"<b>{model.name} · {option.quant}</b>")
        self.files_label = QLabel(files_text(tuple(option.files)))
        self.files_label.setStyleSheet("font-family: monospace")
        self.files_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.list_note = QLabel()
        self.list_note.setWordWrap(True)
        self.list_note.hide()

        self._planned_companions = companions_for(model, option.quant)
        self.optional = OptionalFiles()
        self.optional.set_files(self._planned_companions, self.dest)
        self.optional.changed.connect(self._selection_changed)
        self.live = LiveFileList(self)
        self.live.ready.connect(self._list_confirmed)
        self.live.failed.connect(self._list_failed)

        self.folder = QLabel()
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder.setWordWrap(True)
        self.change_folder = QPushButton("C&hange…")
        self.change_folder.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Into:"))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.change_folder)

        self.total = QLabel()
        self.space_line = FreeSpaceLine()
        self.space_line.checked.connect(self._space_checked)

        self.buttons = QDialogButtonBox()
        self.download_button = self.buttons.addButton("&Download", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.files_label)
        layout.addWidget(self.list_note)
        layout.addWidget(self.optional)
        layout.addLayout(folder_row)
        layout.addWidget(self.total)
        layout.addWidget(self.space_line)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)
        self._folder_dialog: QFileDialog | None = None
        self.live.start(model, option.quant, tuple(option.files), self._planned_companions)
        show_list_checking(self.list_note, option.quant, self.live.needed)
        self._selection_changed()

    # --- what the caller reads ------------------------------------------------------------------------------

    @property
    def companion_boxes(self) -> list[tuple[QCheckBox, RepoFile]]:
        return self.optional.boxes

    @property
    def space(self):  # -> advisor.download.job.SpaceCheck | None
        return self.space_line.space

    def chosen_companions(self) -> tuple[RepoFile, ...]:
        return self.optional.chosen()

    def shards(self) -> tuple[RepoFile, ...]:
        """The option's files: the Hub's own list once confirmed, else the plan's."""
        return self.live.shards(tuple(self.option.files))

    def files(self) -> tuple[RepoFile, ...]:
        """Every file the download will write: the option's shards, then the ticked optional files."""
        return self.shards() + self.chosen_companions()

    def _list_confirmed(self, confirmed) -> None:
        self.files_label.setText(files_text(self.shards()))
        self.optional.replace_files(self.live.companions(self._planned_companions), self.dest)
        show_list_confirmed(self.list_note, confirmed)
        self._selection_changed()

    def _list_failed(self, message: str) -> None:
        show_list_failed(self.list_note, message)
        self.download_button.setEnabled(False)

    def _space_checked(self, fits: bool) -> None:
        self.download_button.setEnabled(fits and self.live.settled)

    # --- folder and space -----------------------------------------------------------------------------------

    def choose_folder(self) -> QFileDialog:
        self._folder_dialog = choose_folder(self, self.dest, self.set_dest)
        return self._folder_dialog

    def set_dest(self, dest: Path) -> None:
        self.dest = Path(dest)
        self.optional.set_dest(self.dest)
        self._selection_changed()

    def _selection_changed(self, *_: object) -> None:
        files = self.files()
        self.folder.setText(str(self.dest))
        self.total.setText(f"{file_size(sum(f.size_bytes for f in files))} in {len(files)} file(s).")
        self.download_button.setEnabled(False)  # until the free space is known
        self.space_line.check(self.model.repo or "", self.model.revision or "main", files, self.dest)
