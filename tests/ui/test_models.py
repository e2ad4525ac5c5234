"""The options table model: Qt's model rules (qtmodeltester) and that it only shows the plan's own words."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from advisor.format import context_tokens, file_size, speed_range, verdict_label
from tests.fixtures.plans import minimax_plan, two_gpu_machine
from ui.models import Column, OptionsTableModel, Role


def _plan():
    return minimax_plan(two_gpu_machine())


def test_model_passes_qt_model_tester_empty_and_filled(qtmodeltester) -> None:
    model = OptionsTableModel()
    qtmodeltester.check(model)
    model.set_plan(_plan())
    qtmodeltester.check(model)
    model.set_plan(None)
    qtmodeltester.check(model)


def test_cells_are_the_plans_numbers_formatted_once(qtmodeltester) -> None:
    plan = _plan()
    model = OptionsTableModel()
    model.set_plan(plan)
    q4 = plan.options[0]

    def cell(row: int, column: Column, role=Qt.ItemDataRole.DisplayRole):
        return model.data(model.index(row, column), role)

    assert model.rowCount() == 2 and model.columnCount() == len(Column)
    assert cell(0, Column.QUANT) == "UD-Q4_K_M (recommended)"
    assert cell(1, Column.QUANT) == "BF16"
    assert cell(0, Column.SIZE) == file_size(q4.size_bytes) == "140.0 GB"
    assert cell(0, Column.VERDICT) == verdict_label(q4.verdict) == "Experts in RAM"
    assert cell(0, Column.SPEED) == speed_range(q4.decode_tps)
    assert cell(0, Column.MAX_CONTEXT) == context_tokens(q4.max_context["f16"]) == "96K"
    assert cell(0, Column.RISK) == "Non-commercial licence"
    assert cell(1, Column.RISK) == "Streams from disk"
    assert cell(0, Column.QUANT, Role.OPTION) is q4
    assert cell(0, Column.VERDICT, Qt.ItemDataRole.BackgroundRole) is not None
    assert cell(1, Column.SIZE, Role.SORT) == 457 * 10**9
    # the max-context column follows the KV cache type the plan was made with
    q8 = replace(plan, request=replace(plan.request, kv_type_k="q8_0", kv_type_v="q8_0"))
    model.set_plan(q8)
    assert cell(0, Column.MAX_CONTEXT) == "176K"
    qtmodeltester.check(model)


def test_max_context_column_reads_one_way_and_the_tooltip_has_the_exact_figure() -> None:
    """Planner maxima are rarely whole multiples of 1,024: they must not show as '34,048' beside '96K'."""
    plan = _plan()
    odd = replace(plan.options[1], max_context={"f16": 34048, "q8_0": 60000})
    model = OptionsTableModel()
    model.set_plan(replace(plan, options=(plan.options[0], odd)))
    texts = [model.data(model.index(row, Column.MAX_CONTEXT)) for row in range(2)]
    assert texts == ["96K", "33K"]  # 34,048 is 33.25K: rounded down, never up
    assert model.data(model.index(1, Column.MAX_CONTEXT), Qt.ItemDataRole.ToolTipRole) == (
        "Up to 34,048 tokens fit with a f16 KV cache."
    )
    assert model.data(model.index(1, Column.MAX_CONTEXT), Role.SORT) == 34048


def test_replan_of_same_options_updates_cells_without_reset(qtbot) -> None:
    plan = _plan()
    model = OptionsTableModel()
    model.set_plan(plan)
    faster = replace(plan, options=(replace(plan.options[0], decode_tps=None), plan.options[1]))
    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.dataChanged, timeout=1000):
        model.set_plan(faster)
    assert model.data(model.index(0, Column.SPEED)) == "—"
    with qtbot.waitSignal(model.modelReset, timeout=1000):
        model.set_plan(replace(plan, options=plan.options[:1]))
    assert model.rowCount() == 1
