"""Table models that adapt the core's plain data to Qt's item protocol; nothing here computes a number."""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from advisor.format import context_tokens, context_tokens_exact, file_size, speed_range, verdict_label, verdict_sentence
from advisor.plan.types import OptionPlan, Plan
from ui.style import SEVERITY_COLOURS, VERDICT_COLOURS

_Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    QUANT = 0
    SIZE = 1
    VERDICT = 2
    SPEED = 3
    MAX_CONTEXT = 4
    RISK = 5


HEADERS = {
    Column.QUANT: "Quantization",
    Column.SIZE: "Size",
    Column.VERDICT: "Verdict",
    Column.SPEED: "Speed",
    Column.MAX_CONTEXT: "Max context",
    Column.RISK: "Worst risk",
}

HEADER_TIPS = {
    Column.SIZE: "Total size of the files to download",
    Column.SPEED: "Estimated tokens per second while writing an answer, as a low–high range",
    Column.MAX_CONTEXT: (
        "The longest context that fits in memory with the KV cache type from Settings, keeping this option's "
        "placement (its -ngl and --n-cpu-moe). A longer context set with the slider is planned afresh and may "
        "move more of the model to RAM; the detail pane says how far that goes."
    ),
    Column.RISK: "The most serious thing that could go wrong with this option",
}


class Role(enum.IntEnum):
    OPTION = Qt.ItemDataRole.UserRole + 1  # the OptionPlan of the row
    SORT = Qt.ItemDataRole.UserRole + 2  # a number to sort by
    VERDICT = Qt.ItemDataRole.UserRole + 3  # the Verdict enum (the badge delegate paints it)


class OptionsTableModel(QAbstractTableModel):
    """One row per quantization of a ``Plan``, in the planner's order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._plan: Plan | None = None
        self._options: tuple[OptionPlan, ...] = ()

    @property
    def plan(self) -> Plan | None:
        return self._plan

    def set_plan(self, plan: Plan | None) -> None:
        """Show another plan; a re-plan of the same quantizations updates cells without resetting selection."""
        new = plan.options if plan else ()
        if plan is not None and self._plan is not None and [o.quant for o in new] == [o.quant for o in self._options]:
            self._plan, self._options = plan, new
            if new:
                self.dataChanged.emit(self.index(0, 0), self.index(len(new) - 1, len(Column) - 1))
            return
        self.beginResetModel()
        self._plan, self._options = plan, new
        self.endResetModel()

    def option_at(self, row: int) -> OptionPlan | None:
        return self._options[row] if 0 <= row < len(self._options) else None

    def row_of(self, quant: str | None) -> int:
        for row, opt in enumerate(self._options):
            if quant is not None and opt.quant.lower() == quant.lower():
                return row
        return -1

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._options)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(Column(section))
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def _recommended(self, opt: OptionPlan) -> bool:
        return self._plan is not None and (self._plan.recommended or "").lower() == opt.quant.lower()

    def _max_context(self, opt: OptionPlan) -> int | None:
        kv = self._plan.request.kv_type_k if self._plan else "f16"
        return opt.max_context.get(kv)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._options):
            return None
        opt = self._options[index.row()]
        column = Column(index.column())
        if role == Role.OPTION:
            return opt
        if role == Role.VERDICT:
            return opt.verdict
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(opt, column)
        if role == Role.SORT:
            return self._sort_key(opt, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.VERDICT:
                return f"{verdict_sentence(opt.verdict)}\n{opt.verdict_reason}".strip()
            if column is Column.QUANT and self._recommended(opt):
                return self._plan.recommended_reason if self._plan else None
            if column is Column.MAX_CONTEXT and self._max_context(opt):
                kv = self._plan.request.kv_type_k if self._plan else "f16"
                return f"Up to {context_tokens_exact(self._max_context(opt))} fit with a {kv} KV cache."
            if column is Column.RISK and opt.risks:
                return "\n".join(f"• {r.title}" for r in sorted(opt.risks, key=lambda r: -r.severity.rank))
            return None
        if role == Qt.ItemDataRole.FontRole and column is Column.QUANT and self._recommended(opt):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.DecorationRole and column is Column.RISK:
            worst = opt.worst_severity
            return SEVERITY_COLOURS[worst] if worst is not None else None
        if role == Qt.ItemDataRole.BackgroundRole and column is Column.VERDICT:
            return VERDICT_COLOURS[opt.verdict]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.SIZE, Column.MAX_CONTEXT):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{HEADERS[column]}: {self._display(opt, column)}"
        return None

    def _display(self, opt: OptionPlan, column: Column) -> str:
        if column is Column.QUANT:
            return f"{opt.quant} (recommended)" if self._recommended(opt) else opt.quant
        if column is Column.SIZE:
            return file_size(opt.size_bytes)
        if column is Column.VERDICT:
            return verdict_label(opt.verdict)
        if column is Column.SPEED:
            return speed_range(opt.decode_tps)
        if column is Column.MAX_CONTEXT:
            return context_tokens(self._max_context(opt))
        worst = opt.worst_severity
        if worst is None:
            return "None"
        title = next(r.title for r in opt.risks if r.severity is worst)
        return title.split(": ", 1)[0]  # "Not for commercial use without permission: <licence>": the tooltip has it all

    def _sort_key(self, opt: OptionPlan, column: Column) -> Any:
        if column is Column.SIZE:
            return opt.size_bytes
        if column is Column.SPEED:
            return opt.decode_tps.mid if opt.decode_tps else -1.0
        if column is Column.MAX_CONTEXT:
            return self._max_context(opt) or 0
        if column is Column.RISK:
            return opt.worst_severity.rank if opt.worst_severity else -1
        return self._display(opt, column)
