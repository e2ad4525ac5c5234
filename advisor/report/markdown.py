"""Markdown that reads well pasted into a GitHub issue or a forum post."""

from __future__ import annotations

from advisor.report import tables
from advisor.report.build import Report


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def _table(t: tables.Table, level: str = "###") -> list[str]:
    lines = [f"{level} {t.title}", ""]
    if not t.rows:
        return [*lines, "_none_", ""]
    header = t.header if any(t.header) else ("Item", "Value")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in t.rows]
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    hw = report.hardware
    out = [
        "## Rigfit hardware report",
        "",
        f"Rigfit {report.app_version} · {report.generated_at} · schema `rigfit.report/1`",
        "",
    ]
    out += _table(tables.machine_facts(hw))
    out += _table(tables.gpus(hw))
    for other in report.plan.hardware[1:] if report.plan else ():
        out += _table(tables.machine_facts(other))
        out += _table(tables.gpus(other))
    if hw.notes:
        out += ["### Notes", "", *[f"- {n}" for n in hw.notes], ""]
    plan = report.plan
    if plan is not None:
        out += _table(tables.model_facts(plan))
        out += _table(tables.options(plan))
        if plan.recommended:
            out += [f"★ Recommended: **{plan.recommended}**. {plan.recommended_reason or ''}".rstrip(), ""]
        chosen = report.chosen
        if chosen is not None:
            out += _table(tables.option_summary(chosen))
            out += _table(tables.memory(chosen), "####")
            if chosen.risks:
                out += ["#### Risks", ""]
                for r in chosen.risks:
                    out.append(f"- **{r.severity.value.upper()}: {r.title}.** {r.explanation}")
                    if r.remedy:
                        out.append(f"  *What to do:* {r.remedy}")
                    if r.source:
                        out.append(f"  Source: <{r.source}>")
                out.append("")
            if chosen.llama_cpp_command:
                out += ["#### llama.cpp command", "", "```sh", chosen.llama_cpp_command, "```", ""]
            for mc in chosen.machine_commands:
                out += [f"On **{mc.machine}** ({mc.role}):", "", "```sh", mc.command, "```", ""]
                if mc.note:
                    out += [mc.note, ""]
    return "\n".join(out).rstrip() + "\n"
