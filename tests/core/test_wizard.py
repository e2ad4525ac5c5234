"""The setup wizard's navigation, tested without Qt."""

from __future__ import annotations

from dataclasses import replace

from advisor.plan.types import Risk, Severity, Verdict
from advisor.wizard import (
    Page,
    WizardState,
    blocker,
    can_continue,
    licence_summary,
    local_path,
    missing_files,
    needs_licence_acknowledgement,
    next_page,
    recommendation_sentence,
)
from tests.fixtures.plans import minimax_plan, two_gpu_machine


def _planned() -> WizardState:
    hw = two_gpu_machine()
    return WizardState(hardware=hw).update(model_name="minimax-m2.7", plan=minimax_plan(hw))


def test_pages_follow_in_order_until_done() -> None:
    state = WizardState()
    walk = [Page.WELCOME]
    while (page := next_page(walk[-1], state)) is not None:
        walk.append(page)
    assert walk == list(Page)


def test_hardware_and_model_are_required() -> None:
    assert can_continue(Page.WELCOME, WizardState())
    assert "hardware" in blocker(Page.HARDWARE, WizardState())
    assert can_continue(Page.HARDWARE, WizardState(hardware=two_gpu_machine()))
    assert "model" in blocker(Page.MODEL, WizardState(hardware=two_gpu_machine()))
    assert can_continue(Page.MODEL, _planned())


def test_new_plan_preselects_the_recommended_quant() -> None:
    state = _planned()
    assert state.quant == "UD-Q4_K_M" and state.option.quant == "UD-Q4_K_M"
    assert can_continue(Page.QUANT, state)
    # a re-plan (other context) keeps the user's own choice
    chosen = state.update(quant="BF16")
    again = chosen.update(plan=replace(chosen.plan, context=8192))
    assert again.quant == "BF16"


def test_impossible_option_blocks_the_quant_page() -> None:
    state = _planned()
    plan = state.plan
    dead = replace(plan.options[1], verdict=Verdict.IMPOSSIBLE)
    state = state.update(plan=replace(plan, options=(plan.options[0], dead)), quant="BF16")
    assert "cannot run" in blocker(Page.QUANT, state)


def test_non_commercial_licence_needs_an_explicit_tick() -> None:
    state = _planned()
    assert needs_licence_acknowledgement(state.plan)
    assert "Tick the box" in blocker(Page.RISKS, state)
    ticked = state.update(licence_acknowledged=True)
    assert can_continue(Page.RISKS, ticked)
    # choosing another quantization asks again: the tick belongs to one choice
    assert not ticked.update(quant="BF16").licence_acknowledged
    permissive = replace(state.plan, model=replace(state.plan.model, licence_commercial="allowed"))
    assert can_continue(Page.RISKS, state.update(plan=permissive))
    assert "does not allow commercial use" in licence_summary(state.plan)
    assert "allows commercial use" in licence_summary(permissive)


def test_download_can_be_skipped_when_files_exist(tmp_path) -> None:
    state = _planned()
    option = state.option
    assert missing_files(option, tmp_path) == option.files
    for f in option.files[:-1]:
        p = local_path(tmp_path, f)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as fh:
            fh.truncate(f.size_bytes)  # sparse: the right size without writing 35 GB
    assert missing_files(option, tmp_path) == option.files[-1:]
    state = state.update(missing_files=missing_files(option, tmp_path))
    assert next_page(Page.RISKS, state) is Page.DOWNLOAD
    assert not can_continue(Page.DOWNLOAD, state)
    started = state.update(download_started=True)
    assert can_continue(Page.DOWNLOAD, started)  # the download goes on in the main window
    assert not started.update(quant="BF16").download_started  # another choice: its own download
    last = option.files[-1]
    with open(local_path(tmp_path, last), "wb") as fh:
        fh.truncate(last.size_bytes)
    state = state.update(missing_files=missing_files(option, tmp_path))
    assert next_page(Page.RISKS, state) is Page.DONE
    assert can_continue(Page.DOWNLOAD, state.update(download_finished=True))


def test_recommendation_sentence_names_the_quant_and_reason() -> None:
    plan = _planned().plan
    assert recommendation_sentence(plan) == (
        "Rigfit recommends UD-Q4_K_M: the best quality that runs at a usable speed here."
    )
    assert "None of the quantizations" in recommendation_sentence(replace(plan, recommended=None))


def test_licence_verdict_is_the_planners_alone() -> None:
    plan = _planned().plan
    bare = replace(plan, model=replace(plan.model, licence_commercial=None))
    # a licence risk is not read as a verdict: the planner's summary is the one source
    risk = Risk("licence.not-commercial", Severity.WARNING, "Not for commercial use: MiniMax M2.7 Licence", "...")
    flagged = replace(bare, options=tuple(replace(o, risks=(risk,)) for o in bare.options))
    assert not needs_licence_acknowledgement(flagged)
    assert "could not work out" in licence_summary(flagged)
    cond = replace(plan, model=replace(plan.model, licence="llama3.1", licence_commercial="conditional"))
    assert licence_summary(cond).startswith("MiniMax M2.7 is published under Llama 3.1 Community License.")
    assert "only under conditions" in licence_summary(cond)
    odd = replace(plan, model=replace(plan.model, licence="my-own-terms"))
    assert licence_summary(odd).startswith("MiniMax M2.7 is published under my-own-terms.")


def test_recommendation_sentence_does_not_repeat_the_quant() -> None:
    plan = replace(_planned().plan, recommended_reason="UD-Q4_K_M is the largest quant that runs well.")
    assert recommendation_sentence(plan) == "Rigfit recommends UD-Q4_K_M: it is the largest quant that runs well."
