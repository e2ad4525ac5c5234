"""The setup wizard's logic, without Qt: which page comes next and what stops the user from going on.

The Qt pages in ``ui/wizard`` only show the state and report what the user did; every decision (may the
user continue, is the licence acknowledged, can the download be skipped) is made here, so it is tested
without a display and reads the same ``Plan`` the CLI prints.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from advisor.hardware.types import Hardware
from advisor.model.types import RepoFile
from advisor.plan.types import OptionPlan, Plan, Severity, Verdict


class Page(enum.IntEnum):
    WELCOME = 0
    HARDWARE = 1
    MODEL = 2
    QUANT = 3
    RISKS = 4
    DOWNLOAD = 5
    DONE = 6


PAGE_TITLES: dict[Page, str] = {
    Page.WELCOME: "Welcome",
    Page.HARDWARE: "Your hardware",
    Page.MODEL: "Choose a model",
    Page.QUANT: "Choose a quantization",
    Page.RISKS: "Review the risks",
    Page.DOWNLOAD: "Download",
    Page.DONE: "Done",
}


@dataclass(frozen=True)
class WizardState:
    """Everything the wizard knows so far; pages replace it, never mutate it."""

    hardware: Hardware | None = None
    model_name: str | None = None
    plan: Plan | None = None
    quant: str | None = None
    licence_acknowledged: bool = False
    download_dir: str | None = None
    #: Files of the chosen option still missing from ``download_dir`` (None: not checked yet).
    missing_files: tuple[RepoFile, ...] | None = None
    #: The download was started here; it may go on in the main window after the wizard closes.
    download_started: bool = False
    download_finished: bool = False
    #: The user fetches the files another way (the Done page says how).
    download_skipped: bool = False

    def update(self, **changes: Any) -> WizardState:
        """A new state; choosing another model or quantization forgets what depended on the old one."""
        state = replace(self, **changes)
        if "plan" in changes and changes["plan"] is not self.plan:
            keep = state.quant if state.plan is not None and _has_option(state.plan, state.quant) else None
            state = replace(state, quant=keep or (state.plan.recommended if state.plan else None))
        if ("quant" in changes or "plan" in changes) and (state.quant, state.plan) != (self.quant, self.plan):
            state = replace(
                state,
                licence_acknowledged=False,
                missing_files=None,
                download_started=False,
                download_finished=False,
                download_skipped=False,
            )
        return state

    @property
    def option(self) -> OptionPlan | None:
        if self.plan is None or self.quant is None:
            return None
        return self.plan.option(self.quant) if _has_option(self.plan, self.quant) else None


def _has_option(plan: Plan, quant: str | None) -> bool:
    return quant is not None and any(o.quant.lower() == quant.lower() for o in plan.options)


def commercial_use(plan: Plan) -> str:
    """'allowed', 'conditional', 'not_allowed' or 'unknown': the planner's licence verdict (one source of truth)."""
    return plan.model.licence_commercial or "unknown"


def licence_name(plan: Plan) -> str:
    """The licence's full name from the knowledge base (``resources/licences/licences.toml``), else its id."""
    if not plan.model.licence:
        return "an unnamed licence"
    from advisor.risks.licences import load_licence_base

    known = load_licence_base().licences.get(plan.model.licence)
    return known.name if known else plan.model.licence


def needs_licence_acknowledgement(plan: Plan | None) -> bool:
    """A licence that forbids commercial use must be acknowledged with an explicit tick."""
    return plan is not None and commercial_use(plan) == "not_allowed"


def files_already_present(state: WizardState) -> bool:
    return state.missing_files is not None and not state.missing_files


def next_page(page: Page, state: WizardState) -> Page | None:
    """The page after ``page``; the download page is skipped when every file is already on disk."""
    if page is Page.DONE:
        return None
    following = Page(page + 1)
    if following is Page.DOWNLOAD and files_already_present(state):
        return Page.DONE
    return following


def blocker(page: Page, state: WizardState) -> str | None:
    """Why the user cannot continue from ``page`` yet (a sentence for them), or None when they can."""
    if page is Page.HARDWARE and state.hardware is None:
        return "Wait for the hardware check to finish, or load a hardware file."
    if page is Page.MODEL and state.plan is None:
        return "Choose a model and wait until Rigfit has planned it."
    if page is Page.QUANT:
        option = state.option
        if option is None:
            return "Choose a quantization from the table."
        if option.verdict is Verdict.IMPOSSIBLE:
            return f"{option.quant} cannot run on this machine: choose another quantization."
    if page is Page.RISKS and needs_licence_acknowledgement(state.plan) and not state.licence_acknowledged:
        name = state.plan.model.name if state.plan else "this model"
        return f"Tick the box to confirm you will use {name} only as its licence allows (no commercial use)."
    started = state.download_started or state.download_finished or state.download_skipped
    if page is Page.DOWNLOAD and not (started or files_already_present(state)):
        return (
            "Start the download to continue (it goes on in the main window while you finish here), "
            "or skip it to download the files yourself."
        )
    return None


def can_continue(page: Page, state: WizardState) -> bool:
    return blocker(page, state) is None


# --- words the pages show -----------------------------------------------------------------------------------

_LICENCE_WORDS = {
    "allowed": "The licence allows commercial use.",
    "conditional": "Commercial use is allowed, but only under conditions: read them below before you ship anything.",
    "not_allowed": (
        "This licence does not allow commercial use. You may use the model for personal, research or other "
        "non-commercial work; anything you sell or offer as a paid service needs the owner's written permission."
    ),
    "unknown": "Rigfit could not work out what this licence allows. Read it on the model's page before relying on it.",
}


def licence_summary(plan: Plan) -> str:
    """The licence in plain words, from the planner's verdict on it."""
    name = licence_name(plan)
    words = _LICENCE_WORDS.get(commercial_use(plan), _LICENCE_WORDS["unknown"])
    return f"{plan.model.name} is published under {name}. {words}"


def recommendation_sentence(plan: Plan) -> str:
    if not plan.recommended:
        return "None of the quantizations runs well here; the table shows why."
    reason = (plan.recommended_reason or "it is the best balance of quality and speed on this machine").strip()
    if reason.startswith(plan.recommended + " "):
        reason = "it" + reason[len(plan.recommended) :]  # "Q4 is the largest..." -> "it is the largest..."
    return f"Rigfit recommends {plan.recommended}: {reason.rstrip('.')}."


def risks_by_severity(option: OptionPlan) -> list[Any]:
    """The option's risks, most serious first."""
    return sorted(option.risks, key=lambda r: -r.severity.rank)


def worst_risk_title(option: OptionPlan) -> str:
    worst = option.worst_severity
    if worst is None:
        return ""
    first = next(r for r in option.risks if r.severity is worst)
    return first.title if worst is not Severity.INFO else ""


# --- files on disk --------------------------------------------------------------------------------------------


def local_path(download_dir: str | Path, file: RepoFile) -> Path:
    """Where a repo file lands in the download folder (the repo's own sub-folders are kept)."""
    return Path(download_dir).expanduser() / Path(*file.path.split("/"))


def missing_files(option: OptionPlan, download_dir: str | Path) -> tuple[RepoFile, ...]:
    """Files of ``option`` not yet in ``download_dir`` at their full size."""
    missing = []
    for file in option.files:
        path = local_path(download_dir, file)
        try:
            complete = path.stat().st_size == file.size_bytes
        except OSError:
            complete = False
        if not complete:
            missing.append(file)
    return tuple(missing)
