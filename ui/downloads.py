"""The downloads panel: one row per file set, with bytes, rate and ETA from the core, pause, cancel, resume.

The transfer itself is ``advisor.download.job.download`` on a worker; this module only builds its request
from the plan (files, sizes and hashes come from the plan, never from here) and shows its progress. Paused or
interrupted downloads are remembered in the settings and offered again on the next launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from advisor import settings as st
from advisor.errors import RigfitError
from advisor.format import file_size
from advisor.model.types import Model, RepoFile
from advisor.plan.types import OptionPlan, Plan
from ui import workers
from ui.errors import show_error


@dataclass(frozen=True)
class DownloadSpec:
    """What to fetch, taken from the plan's chosen option."""

    model_id: str
    model_name: str
    repo: str | None
    revision: str | None
    quant: str
    files: tuple[RepoFile, ...]  # the option's shards, then the ticked optional files
    dest: str
    companions: tuple[str, ...] = ()  # repo paths of the ticked optional files (also in ``files``)

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def spec_for(
    model: Model,
    option: OptionPlan,
    dest: Path | str,
    companions: tuple[RepoFile, ...] = (),
    shards: tuple[RepoFile, ...] | None = None,
) -> DownloadSpec:
    """The plan option's files (or the Hub's confirmed list of them) plus the ticked optional files, into ``dest``."""
    files = tuple(option.files if shards is None else shards) + tuple(companions)
    paths = tuple(f.path for f in companions)
    return DownloadSpec(model.id, model.name, model.repo, model.revision, option.quant, files, str(dest), paths)


def pending_for(spec: DownloadSpec) -> st.PendingDownload:
    """What the settings keep of an unfinished download, to offer it again at the next launch."""
    return st.PendingDownload(spec.model_id, spec.quant, spec.dest, spec.companions)


def _job() -> Any:
    try:
        import advisor.download.job as job
    except ImportError as exc:
        raise RigfitError(
            "This build of Rigfit cannot download yet.", hint="Download the files shown with `hf download`."
        ) from exc
    return job


def run_download(spec: DownloadSpec, token: Any, hub_token: str | None, ctx: workers.TaskContext) -> Any:
    """The worker side: the core's download, its progress callback wired to the task."""
    job = _job()
    if spec.repo is None:
        raise RigfitError(f"{spec.model_name} is a local file: there is nothing to download.")
    request = job.DownloadRequest(spec.repo, spec.revision or "main", spec.files, Path(spec.dest), hub_token)
    ctx.on_cancel(token.pause)  # closing the app pauses; the partial files stay for the next launch
    return job.download(request, progress=ctx.progress, cancel=token)


def progress_words(p: Any) -> tuple[int, str]:
    """(per mille, 'x of y · rate · about N min left · file i of n') from the core's ``DownloadProgress``."""
    state = str(getattr(p.state, "value", p.state))
    parts = [f"{file_size(p.done)} of {file_size(p.total)}"]
    if p.rate_bps:
        parts.append(f"{file_size(int(p.rate_bps))}/s")
    if p.eta_s is not None and state == "downloading":
        parts.append(f"about {_duration(p.eta_s)} left")
    elif state == "downloading" and p.rate_bps == 0.0:
        parts.append("waiting for data…")
    if p.file_count > 1 and p.file_index:
        parts.append(f"file {p.file_index} of {p.file_count}")
    if state not in ("downloading", "queued"):
        parts.append(_STATE_WORDS.get(state, state))
    permille = int(p.done * 1000 / p.total) if p.total else 0
    return permille, " · ".join(parts)


_STATE_WORDS = {"verifying": "checking the file", "paused": "paused", "done": "done", "failed": "failed"}


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {round(seconds % 3600 / 60)} min"


class DownloadRow(QFrame):
    """One file set: progress bar, words, Pause/Resume, Cancel, and Open folder when done.

    Signals:
        state_changed(str): "downloading", "paused", "done", "failed" or "cancelled".
    """

    state_changed = Signal(str)

    def __init__(self, spec: DownloadSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.state = "paused"
        self.task: workers.Task | None = None
        self.token: Any = None
        self.last_progress: Any = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{spec.model_name} · {spec.quant}</b> → {spec.dest}")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setFormat("%p%")
        self.bar.setAccessibleName(f"Download of {spec.quant}")
        self.status = QLabel(f"{file_size(spec.total_bytes)} in {len(spec.files)} file(s)")
        self.pause_button = QPushButton("&Pause")
        self.cancel_button = QPushButton("&Cancel")
        self.open_button = QPushButton("Open &folder")
        self.open_button.hide()
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_folder)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        layout.addWidget(self.status)

    def start(self) -> None:
        if self.state == "downloading":
            return
        try:
            self.token = _job().CancelToken()
        except RigfitError as exc:
            show_error(self.window(), exc)
            return
        self._set_state("downloading")
        self.pause_button.setText("&Pause")
        self.cancel_button.setEnabled(True)
        spec, token, hub_token = self.spec, self.token, st.stored_token()
        self.task = workers.run_task(
            lambda ctx: run_download(spec, token, hub_token, ctx),
            on_progress=self._on_progress,
            on_done=self._on_result,
            on_error=self._on_failed,
            on_cancelled=lambda: self._on_result(None),
            name=f"download {spec.quant}",
        )

    def _on_progress(self, p: Any) -> None:
        self.last_progress = p
        permille, words = progress_words(p)
        self.bar.setValue(permille)
        self.status.setText(words)

    def _on_result(self, result: Any) -> None:
        state = str(getattr(getattr(result, "state", None), "value", "paused"))
        if state == "done":
            self.bar.setValue(1000)
            self.status.setText(f"Done: {file_size(self.spec.total_bytes)} downloaded and checked.")
            self.pause_button.hide()
            self.cancel_button.hide()
            self.open_button.show()
            self._set_state("done")
        elif state == "cancelled" or self.state == "cancelled":
            self._discard_partials()
        else:
            self.pause_button.setText("&Resume")
            self.status.setText(self.status.text().split(" · paused")[0] + " · paused")
            self._set_state("paused")

    def _on_failed(self, exc: BaseException) -> None:
        self.status.setText(f"Stopped: {getattr(exc, 'message', exc)}")
        self.pause_button.setText("&Retry")
        self._set_state("failed")
        show_error(self.window(), exc)

    def toggle_pause(self) -> None:
        if self.state == "downloading" and self.token is not None:
            self.pause_button.setEnabled(False)
            self.token.pause()  # the core stops at the next chunk and keeps the partial file
            self.pause_button.setEnabled(True)
        else:
            self.start()

    def cancel(self) -> None:
        """Stop and delete the partial files (the user gives up on this download)."""
        running = self.state == "downloading" and self.token is not None
        self._set_state("cancelled")
        self.pause_button.setText("&Start again")
        self.cancel_button.setEnabled(False)
        if running:
            self.token.cancel()
        else:
            self._discard_partials()

    def _discard_partials(self) -> None:
        spec = self.spec

        def work(_ctx: workers.TaskContext) -> int:
            job = _job()
            request = job.DownloadRequest(spec.repo or "", spec.revision or "main", spec.files, Path(spec.dest))
            return job.discard_partials(request)

        def done(_count: int) -> None:
            self.bar.setValue(0)
            self.status.setText("Cancelled. The partly downloaded files were deleted.")
            self._set_state("cancelled")

        workers.run_task(work, on_done=done, on_error=lambda exc: show_error(self.window(), exc), name="discard")

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.spec.dest))

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)


class DownloadsPanel(QWidget):
    """All downloads of this session, plus the ones left paused last time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[DownloadRow] = []
        self.empty = QLabel("No downloads yet. Choose an option and press Download.")
        inner = QWidget()
        self._list = QVBoxLayout(inner)
        self._list.addWidget(self.empty)
        self._list.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._pending: tuple[st.PendingDownload, ...] = ()

    def add(self, spec: DownloadSpec) -> DownloadRow:
        for row in self.rows:
            if (row.spec.model_id, row.spec.quant, row.spec.dest) == (spec.model_id, spec.quant, spec.dest):
                return row
        row = DownloadRow(spec, self)
        self.rows.append(row)
        self.empty.hide()
        self._list.insertWidget(self._list.count() - 1, row)
        return row

    def adopt(self, row: DownloadRow) -> DownloadRow:
        """Keep a download another window started (the wizard's), running or paused, as one of this panel's rows."""
        key = (row.spec.model_id, row.spec.quant, row.spec.dest)
        for existing in self.rows:
            if (existing.spec.model_id, existing.spec.quant, existing.spec.dest) == key:
                return existing
        row.setParent(self)
        self.rows.append(row)
        self.empty.hide()
        self._list.insertWidget(self._list.count() - 1, row)
        row.show()
        return row

    def start(
        self,
        model: Model,
        plan: Plan,
        option: OptionPlan,
        dest: Path,
        companions: tuple[RepoFile, ...] = (),
        shards: tuple[RepoFile, ...] | None = None,
    ) -> DownloadRow:
        row = self.add(spec_for(model, option, dest, companions, shards))
        row.start()
        return row

    def offer_pending(self, settings: st.Settings) -> None:
        """Rows for downloads left paused last time; pressing Resume reads the model again, then continues."""
        fresh = [p for p in settings.ui.pending_downloads if p not in self._pending]
        self._pending = (*self._pending, *fresh)
        for pending in fresh:
            label = QLabel(f"Paused last time: <b>{pending.model} · {pending.quant}</b> → {pending.download_dir}")
            button = QPushButton("&Resume")
            line = QWidget()
            box = QHBoxLayout(line)
            box.addWidget(label, 1)
            box.addWidget(button)
            self._list.insertWidget(self._list.count() - 1, line)
            self.empty.hide()
            button.clicked.connect(lambda _=False, p=pending, w=line: self._resume_pending(p, w))

    def _resume_pending(self, pending: st.PendingDownload, line: QWidget) -> None:
        from ui.backend import default_backend

        backend = default_backend()
        token = st.stored_token()

        def work(ctx: workers.TaskContext) -> DownloadSpec:
            """Read the model again and, for a catalog entry, the Hub's exact list of the quant's files."""
            job = _job()
            model = backend.resolve(pending.model, token, ctx.progress)
            opt = model.option(pending.quant)
            ticked = tuple(f for f in opt.companions if f.path in pending.companions)
            files = tuple(opt.files) + ticked
            if model.repo and job.needs_confirmation(model.source, files):
                confirmed = job.confirm_files(
                    model.repo, model.revision, opt.quant, opt.files, companions=pending.companions, token=token
                )
                files = confirmed.files
            return DownloadSpec(
                model.id,
                model.name,
                model.repo,
                model.revision,
                opt.quant,
                files,
                pending.download_dir,
                tuple(f.path for f in ticked),
            )

        def ready(spec: DownloadSpec) -> None:
            line.hide()
            self.add(spec).start()

        workers.run_task(work, on_done=ready, on_error=lambda exc: show_error(self.window(), exc), name="resume")

    def remember_pending(self, settings: st.Settings) -> st.Settings:
        """Settings that list every unfinished download, so the next launch can resume it."""
        unfinished = [pending_for(r.spec) for r in self.rows if r.state in ("downloading", "paused", "failed")]
        started = {(r.spec.model_id, r.spec.quant, r.spec.dest) for r in self.rows}
        kept = [p for p in self._pending if (p.model, p.quant, p.download_dir) not in started]
        return settings.with_ui(pending_downloads=tuple(kept + unfinished))

    def pause_all(self) -> None:
        for row in self.rows:
            if row.state == "downloading" and row.token is not None:
                row.token.pause()
