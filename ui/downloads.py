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
    files: tuple[RepoFile, ...]
    dest: str

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def spec_for(model: Model, option: OptionPlan, dest: Path | str) -> DownloadSpec:
    return DownloadSpec(model.id, model.name, model.repo, model.revision, option.quant, option.files, str(dest))


def _job() -> Any:
    try:
        import advisor.download.job as job
    except ImportError as exc:
        raise RigfitError(
            "This build of Rigfit cannot download yet.", hint="Download the files shown with `hf download`."
        ) from exc
    return job


def run_download(spec: DownloadSpec, ctx: workers.TaskContext, token: str | None) -> Any:
    """The worker side: the core's download with its progress and cancel token wired to the task."""
    job = _job()
    if spec.repo is None:
        raise RigfitError(f"{spec.model_name} is a local file: there is nothing to download.")
    request = job.DownloadRequest(
        repo_id=spec.repo, files=spec.files, dest_dir=Path(spec.dest), revision=spec.revision or "main", token=token
    )
    cancel = job.CancelToken()
    ctx.on_cancel(cancel.cancel)
    return job.download(request, progress=ctx.progress, cancel=cancel)


def progress_words(p: Any, total_hint: int) -> tuple[int, str]:
    """(percent, 'x of y · rate · about N min left') from the core's ``DownloadProgress``."""
    done = int(getattr(p, "bytes_done", 0) or 0)
    total = int(getattr(p, "bytes_total", 0) or total_hint or 0)
    rate = getattr(p, "rate_bps", None)
    eta = getattr(p, "eta_s", None)
    state = getattr(getattr(p, "state", None), "value", getattr(p, "state", None))
    parts = [f"{file_size(done)} of {file_size(total)}"]
    if rate:
        parts.append(f"{file_size(int(rate))}/s")
    if eta is not None:
        parts.append(f"about {_duration(eta)} left")
    elif state == "downloading":
        parts.append("waiting for data…")
    if state and state not in ("downloading",):
        parts.append(str(state))
    percent = int(done * 100 / total) if total else 0
    return percent, " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {round(seconds % 3600 / 60)} min"


class DownloadRow(QFrame):
    """Signals:
    state_changed(str): "downloading", "paused", "done", "failed" or "cancelled".
    """

    state_changed = Signal(str)

    def __init__(self, spec: DownloadSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.state = "paused"
        self.task: workers.Task | None = None
        self.last_progress: Any = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{spec.model_name} · {spec.quant}</b> → {spec.dest}")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
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
        self._set_state("downloading")
        self.pause_button.setText("&Pause")
        token = st.stored_token()
        spec = self.spec
        self.task = workers.run_task(
            lambda ctx: run_download(spec, ctx, token),
            on_progress=self._on_progress,
            on_done=self._on_done,
            on_error=self._on_failed,
            on_cancelled=self._on_stopped,
            name=f"download {spec.quant}",
        )

    def _on_progress(self, p: Any) -> None:
        self.last_progress = p
        percent, words = progress_words(p, self.spec.total_bytes)
        self.bar.setValue(percent)
        self.status.setText(words)

    def _on_done(self, _result: Any) -> None:
        self.bar.setValue(100)
        self.status.setText(f"Done: {file_size(self.spec.total_bytes)} downloaded and verified.")
        self.pause_button.hide()
        self.cancel_button.hide()
        self.open_button.show()
        self._set_state("done")

    def _on_failed(self, exc: BaseException) -> None:
        self.status.setText(f"Stopped: {getattr(exc, 'message', exc)}")
        self.pause_button.setText("&Retry")
        self._set_state("failed")
        show_error(self.window(), exc)

    def _on_stopped(self) -> None:
        if self.state == "cancelled":
            self.status.setText("Cancelled. The part already downloaded is kept, so you can resume later.")
            return
        self.pause_button.setText("&Resume")
        self.status.setText(self.status.text() + " · paused")
        self._set_state("paused")

    def toggle_pause(self) -> None:
        if self.state == "downloading" and self.task is not None:
            self.task.cancel()  # the core keeps the partial file; resume continues from it
        else:
            self.start()

    def cancel(self) -> None:
        was_running = self.state == "downloading"
        self._set_state("cancelled")
        self.pause_button.setText("&Resume")
        if was_running and self.task is not None:
            self.task.cancel()
        else:
            self._on_stopped()

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

    def start(self, model: Model, plan: Plan, option: OptionPlan, dest: Path) -> DownloadRow:
        row = self.add(spec_for(model, option, dest))
        row.start()
        return row

    def offer_pending(self, settings: st.Settings) -> None:
        """Rows for downloads left paused last time; pressing Resume reads the model again, then continues."""
        self._pending = settings.ui.pending_downloads
        for pending in self._pending:
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

        def resolved(model: Model) -> None:
            line.hide()
            opt = model.option(pending.quant)
            row = self.add(
                DownloadSpec(
                    model.id, model.name, model.repo, model.revision, opt.quant, opt.files, pending.download_dir
                )
            )
            row.start()

        workers.run_task(
            lambda ctx: backend.resolve(pending.model, token, ctx.progress),
            on_done=resolved,
            on_error=lambda exc: show_error(self.window(), exc),
        )

    def remember_pending(self, settings: st.Settings) -> st.Settings:
        """Settings that list every unfinished download, so the next launch can resume it."""
        unfinished = [
            st.PendingDownload(r.spec.model_id, r.spec.quant, r.spec.dest)
            for r in self.rows
            if r.state in ("downloading", "paused", "failed")
        ]
        started = {(r.spec.model_id, r.spec.quant, r.spec.dest) for r in self.rows}
        kept = [p for p in self._pending if (p.model, p.quant, p.download_dir) not in started]
        return settings.with_ui(pending_downloads=tuple(kept + unfinished))

    def pause_all(self) -> None:
        for row in self.rows:
            if row.state == "downloading" and row.task is not None:
                row.task.cancel()
