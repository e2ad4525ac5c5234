"""File > Export report and the wizard's export button: one entry point for both.

The report developer's ``ui/report_export.py`` is used when present (it owns the dialog); until then the
core's ``advisor.report`` writes the file on a worker, so the menu entry already works.
"""

from __future__ import annotations

import importlib

from PySide6.QtWidgets import QFileDialog, QWidget

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware
from advisor.plan.types import Plan
from ui import workers
from ui.errors import show_error

FILTERS = "HTML report (*.html);;Markdown (*.md);;JSON (*.json);;PDF (*.pdf)"


def export_report(parent: QWidget | None, hardware: Hardware | None, plan: Plan | None, quant: str | None) -> None:
    if hardware is None:
        show_error(parent, RigfitError("There is no machine to report on yet.", hint="Wait for the hardware check."))
        return
    try:
        custom = importlib.import_module("ui.report_export")
    except ImportError:
        custom = None
    if custom is not None and hasattr(custom, "export_report"):
        custom.export_report(parent, hardware, plan, quant)
        return
    from ui.main_window import default_report_name

    path, _ = QFileDialog.getSaveFileName(parent, "Export report", default_report_name(plan), FILTERS)
    if path:
        write_report_file(parent, hardware, plan, quant, path)


def write_report_file(
    parent: QWidget | None, hardware: Hardware, plan: Plan | None, quant: str | None, path: str
) -> workers.Task:
    """Build and write the report on a worker (PDF rendering stays on the GUI thread: Qt paints there)."""
    from advisor.report.build import build_report
    from advisor.report.render import format_for_path, write_report

    fmt = format_for_path(path) or "html"
    report = build_report(hardware, plan, quant=quant)
    on_error = lambda exc: show_error(parent, exc)  # noqa: E731
    if fmt == "pdf":
        try:
            write_report(report, path, fmt)
        except Exception as exc:
            on_error(exc)
        return workers.run_task(lambda _ctx: path, on_error=on_error, name="report")
    return workers.run_task(lambda _ctx: write_report(report, path, fmt), on_error=on_error, name="report")
