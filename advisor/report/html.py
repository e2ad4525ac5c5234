"""One self-contained HTML file: inline CSS, the memory chart as inline SVG, nothing fetched."""

from __future__ import annotations

from html import escape

from advisor.plan.types import Severity
from advisor.report import tables
from advisor.report.build import Report
from advisor.report.svg import memory_chart_svg

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:980px;margin:2em auto;padding:0 1em;
color:#1d1d1f;background:#fff;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666} table{border-collapse:collapse;margin:.6em 0;width:100%}
th,td{border:1px solid #d0d0d0;padding:.3em .5em;text-align:left;vertical-align:top} th{background:#f3f3f3}
table.kv td:first-child{width:14em;font-weight:600} pre{background:#f6f8fa;padding:.8em;overflow-x:auto;
white-space:pre-wrap;word-break:break-all} .risk{margin:.5em 0;padding:.5em .8em;border-left:4px solid #999}
.risk.critical{border-color:#c0392b;background:#fdecea} .risk.warning{border-color:#e67e22;background:#fef5e7}
.risk.info{border-color:#2e86c1;background:#ebf5fb} .star{color:#b8860b}
@media (prefers-color-scheme: dark){body{background:#1e1e1e;color:#e6e6e6} th{background:#2c2c2c}
th,td{border-color:#444} pre{background:#2a2a2a} .risk.critical{background:#3b1f1c} .risk.warning{background:#3a2c17}
.risk.info{background:#1b2b38} svg text{fill:#e6e6e6}}
"""


def _table(t: tables.Table, *, heading: str = "h2") -> str:
    kv = not any(t.header)
    out = [f"<{heading}>{escape(t.title)}</{heading}>"]
    if not t.rows:
        return out[0] + "<p><em>none</em></p>"
    out.append(f'<table class="{"kv" if kv else "grid"}">')
    if not kv:
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in t.header) + "</tr>")
    for row in t.rows:
        out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render_html(report: Report, *, chart_image: str | None = None) -> str:
    """The report as HTML with the chart as inline SVG, or as ``<img src=chart_image>`` for Qt's PDF writer
    (whose HTML engine cannot draw SVG)."""
    hw = report.hardware
    body = [
        "<h1>Rigfit hardware report</h1>",
        f'<p class="meta">Rigfit {escape(report.app_version)} · {escape(report.generated_at)} · '
        "schema <code>rigfit.report/1</code></p>",
        _table(tables.machine_facts(hw)),
        _table(tables.gpus(hw)),
    ]
    for other in report.plan.hardware[1:] if report.plan else ():
        body += [_table(tables.machine_facts(other)), _table(tables.gpus(other))]
    if hw.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in hw.notes) + "</ul>")
    plan = report.plan
    if plan is not None:
        body.append(_table(tables.model_facts(plan)))
        body.append(_table(tables.options(plan)))
        if plan.recommended:
            body.append(
                f'<p><span class="star">★</span> Recommended: <strong>{escape(plan.recommended)}</strong>. '
                f"{escape(plan.recommended_reason or '')}</p>"
            )
        chosen = report.chosen
        if chosen is not None:
            body.append(_table(tables.option_summary(chosen)))
            if chosen.memory:
                picture = f'<img src="{escape(chart_image)}">' if chart_image else memory_chart_svg(chosen)
                body.append("<h3>Memory chart</h3>" + picture)
            body.append(_table(tables.memory(chosen), heading="h3"))
            if chosen.risks:
                body.append("<h3>Risks</h3>")
                for r in sorted(chosen.risks, key=lambda r: -Severity(r.severity).rank):
                    remedy = f"<br><strong>What to do:</strong> {escape(r.remedy)}" if r.remedy else ""
                    src = (
                        f'<br><small>Source: <a href="{escape(r.source)}">{escape(r.source)}</a></small>'
                        if r.source
                        else ""
                    )
                    body.append(
                        f'<div class="risk {escape(r.severity.value)}"><strong>{escape(r.severity.value.upper())}: '
                        f"{escape(r.title)}.</strong> {escape(r.explanation)}{remedy}{src}</div>"
                    )
            if chosen.llama_cpp_command:
                body.append(f"<h3>llama.cpp command</h3><pre>{escape(chosen.llama_cpp_command)}</pre>")
            for mc in chosen.machine_commands:
                note = f"<p>{escape(mc.note)}</p>" if mc.note else ""
                body.append(
                    f"<h4>On {escape(mc.machine)} ({escape(mc.role)})</h4><pre>{escape(mc.command)}</pre>{note}"
                )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Rigfit report</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
