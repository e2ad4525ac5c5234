"""File > Export report and the wizard's Done-page export: one function, ``export_report``, for both.

A save dialog with the format taken from the file filter or the name's extension, and one checkbox for the
identifying details (off by default). The report is built on a worker with the Hub token passed as a secret to
scrub; JSON, Markdown and HTML are written there too, the PDF on the GUI thread (Qt paints there).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QFileDialog, QGridLayout, QWidget

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware
from advisor.plan.types import Plan
from ui import workers
from ui.errors import show_error

#: File filter per report format, in the order the dialog lists them.
FILTERS = {
    "html": "HTML report (*.html)",
    "md": "Markdown (*.md)",
    "json": "JSON (*.json)",
    "pdf": "PDF (*.pdf)",
}
IDENTIFYING_TEXT = "Include hostname, user name and folder paths"


def report_secrets() -> tuple[str, ...]:
    """The Hub token in use (the app's stored one, else ``HF_TOKEN`` or the Hub's login), to scrub from reports."""
    from advisor import settings as st
    from advisor.model import hub

    return tuple(t for t in (hub.token(st.stored_token()),) if t)


def format_for(path: str, selected_filter: str = "") -> tuple[str, str]:
    """(path, format): the name's extension decides; without one, the chosen filter does (and names the file)."""
    from advisor.report.render import format_for_path

    fmt = format_for_path(path)
    if fmt in FILTERS:
        return path, fmt
    fmt = next((f for f, text in FILTERS.items() if text == selected_filter), "html")
    return f"{path}.{fmt}", fmt


class ExportDialog(QFileDialog):
    """The save dialog with the identifying-details checkbox (Qt's own dialog: a native one cannot hold it)."""

    def __init__(self, parent: QWidget | None, default_path: str) -> None:
        super().__init__(parent, "Export report")
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.setNameFilters(list(FILTERS.values()))
        self.selectFile(default_path)
        self.identifying = QCheckBox(IDENTIFYING_TEXT)
        self.identifying.setToolTip("Off: the report names no host, user or folder, so it is safe to share.")
        layout = self.layout()
        if isinstance(layout, QGridLayout):
            layout.addWidget(self.identifying, layout.rowCount(), 0, 1, layout.columnCount())
        self.task: workers.Task | None = None


def export_report(
    parent: QWidget | None, hardware: Hardware | None, plan: Plan | None, quant: str | None
) -> ExportDialog | None:
    """Ask where (and whether to include identifying details), then write the report. Opens without blocking."""
    if hardware is None:
        show_error(parent, RigfitError("There is no machine to report on yet.", hint="Wait for the hardware check."))
        return None
    dialog = ExportDialog(parent, default_report_name(plan))

    def chosen(path: str) -> None:
        path, fmt = format_for(path, dialog.selectedNameFilter())
        dialog.task = write_report_file(
            parent, hardware, plan, quant, path, fmt=fmt, include_identifying=dialog.identifying.isChecked()
        )

    dialog.fileSelected.connect(chosen)
    dialog.open()
    if parent is not None:
        parent._export_dialog = dialog  # keep it alive while open
    return dialog


def default_report_name(plan: Plan | None) -> str:
    stem = f"rigfit-{plan.model.id.replace('/', '-')}" if plan else "rigfit-hardware"
    return str(Path.home() / f"{Path(stem).name}.html")


def write_report_file(
    parent: QWidget | None,
    hardware: Hardware,
    plan: Plan | None,
    quant: str | None,
    path: str,
    *,
    fmt: str | None = None,
    include_identifying: bool = False,
) -> workers.Task:
    """Build (and, but for PDF, write) the report on a worker; the PDF is painted on the GUI thread."""
    from advisor.report.build import build_report
    from advisor.report.render import format_for_path, write_report

    fmt = fmt or format_for_path(path) or "html"

    def work(_ctx):
        report = build_report(
            hardware, plan, quant=quant, include_identifying=include_identifying, secrets=report_secrets()
        )
        return report if fmt == "pdf" else write_report(report, path, fmt)

    def done(result) -> None:
        if fmt == "pdf":
            try:
                write_report(result, path, fmt)
            except Exception as exc:
                show_error(parent, exc)

    return workers.run_task(work, on_done=done, on_error=lambda exc: show_error(parent, exc), name="report")
