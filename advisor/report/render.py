"""Render a report in any format; the CLI, the GUI's File > Export and the wizard all call this."""

from __future__ import annotations

import importlib
from pathlib import Path

from advisor.errors import RigfitError
from advisor.report.build import FORMATS, Report
from advisor.report.html import render_html
from advisor.report.markdown import render_markdown


def render(report: Report, fmt: str) -> bytes:
    """The report's bytes in ``fmt`` (json, md, html or pdf)."""
    if fmt == "json":
        return (report.to_json() + "\n").encode()
    if fmt == "md":
        return render_markdown(report).encode()
    if fmt == "html":
        return render_html(report).encode()
    if fmt == "pdf":
        # PDF goes through Qt's own writer, which lives in ``ui``; the core only looks it up, so it still runs
        # (for every other format) where PySide6 is not installed.
        try:
            pdf = importlib.import_module("ui.pdf")
        except ImportError as exc:
            raise RigfitError(
                "PDF export needs the desktop app's Qt libraries, which are not available here.",
                hint="Install Rigfit with PySide6, or export HTML and print it to PDF.",
            ) from exc
        return pdf.render_pdf(report)
    raise RigfitError(f"Unknown report format {fmt!r}.", hint=f"Use one of: {', '.join(FORMATS)}.")


def format_for_path(path: str | Path) -> str | None:
    """The format a file name asks for by its extension (``report.md`` -> md)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"markdown": "md", "htm": "html"}.get(suffix, suffix) if suffix else None


def write_report(report: Report, path: str | Path, fmt: str | None = None) -> Path:
    """Write atomically, so a failed export never leaves half a file where the user expects a report."""
    path = Path(path)
    data = render(report, fmt or format_for_path(path) or "md")
    tmp = path.with_name(path.name + ".partial")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RigfitError(f"Cannot write the report to {path}: {exc.strerror or exc}") from exc
    return path
