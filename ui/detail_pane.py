"""The selected option in full: verdict, memory chart, context slider, speed, risks with remedies, command."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from advisor.format import context_tokens, context_tokens_exact, file_size, speed_range, verdict_label, verdict_sentence
from advisor.plan.types import MachineCommand, OptionPlan, Plan, Risk
from advisor.wizard import risks_by_severity
from ui.style import SEVERITY_COLOURS, SEVERITY_WORDS, VERDICT_COLOURS, text_on
from ui.widgets.memory_chart import MemoryChart


def context_steps(model_context: int, current: int) -> list[int]:
    """Slider stops: powers of two from 2K up to the model's trained context, plus the model's own length."""
    stops = []
    n = 2048
    while n < model_context:
        stops.append(n)
        n *= 2
    stops.append(model_context)
    if current and current not in stops:
        stops.append(current)
    return sorted(set(stops))


def sentence(text: str | None) -> str:
    """The planner's lower-case reason as a sentence."""
    text = (text or "").strip()
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def risk_html(risk: Risk) -> str:
    colour = SEVERITY_COLOURS[risk.severity].name()
    parts = [
        f'<p style="margin-top:6px"><span style="color:{colour}; font-weight:600">'
        f"{SEVERITY_WORDS[risk.severity]}:</span> <b>{html.escape(risk.title)}</b><br>{html.escape(risk.explanation)}"
    ]
    if risk.remedy:
        parts.append(f"<br><i>What to do:</i> {html.escape(risk.remedy)}")
    if risk.source and risk.source.startswith("http"):
        parts.append(f' <a href="{html.escape(risk.source)}">Source</a>')
    return "".join(parts) + "</p>"


def command_box() -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setTabChangesFocus(True)  # Tab moves on to the copy button instead of being swallowed
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    box.setFixedHeight(box.fontMetrics().lineSpacing() * 4 + 12)
    box.setAccessibleName("llama.cpp command")
    return box


ROLE_WORDS = {"head": "runs the model (start it last)", "rpc-worker": "lends its memory (start it first)"}


class MachineCommandView(QWidget):
    """One machine's command in a cluster: who runs it, the command with a Copy button, and the note."""

    def __init__(self, command: MachineCommand, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.machine_command = command
        title = QLabel(f"<b>{html.escape(command.machine)}</b> — {ROLE_WORDS.get(command.role, command.role)}")
        self.command = command_box()
        self.command.setAccessibleName(f"Command for {command.machine}")
        self.command.setPlainText(command.command)
        self.copy_button = QPushButton(f"Copy {command.machine}'s command")
        self.copy_button.clicked.connect(self.copy)
        self.note = QLabel(command.note or "")
        self.note.setWordWrap(True)
        self.note.setVisible(bool(command.note))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(title)
        layout.addWidget(self.command)
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.note)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.machine_command.command)
        self.copy_button.setText("Copied")


class DetailPane(QWidget):
    """Signals:
    context_changed(int): the user moved the context slider (the window re-plans, debounced).
    download_requested(): the user pressed Download.
    """

    context_changed = Signal(int)
    download_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._option: OptionPlan | None = None
        self._steps: list[int] = []
        self.heading = QLabel("Choose a model to see how it would run here.")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.heading.setFont(font)
        self.badge = QLabel()
        self.badge.setContentsMargins(8, 2, 8, 2)
        self.badge.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.chart = MemoryChart()
        self.context_slider = QSlider(Qt.Orientation.Horizontal)
        self.context_slider.setAccessibleName("Context length")
        self.context_slider.setPageStep(1)
        self.context_label = QLabel()
        self.context_slider.valueChanged.connect(self._on_slider_moved)
        memory_box = QGroupBox("Memory")
        mem_layout = QVBoxLayout(memory_box)
        mem_layout.addWidget(self.chart)
        row = QHBoxLayout()
        ctx_caption = QLabel("&Context:")
        ctx_caption.setBuddy(self.context_slider)
        row.addWidget(ctx_caption)
        row.addWidget(self.context_slider, 1)
        row.addWidget(self.context_label)
        mem_layout.addLayout(row)

        self.risks = QLabel()
        self.risks.setWordWrap(True)
        self.risks.setOpenExternalLinks(True)
        self.risks.setTextFormat(Qt.TextFormat.RichText)
        self.risks.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        risks_box = QGroupBox("Risks")
        QVBoxLayout(risks_box).addWidget(self.risks)

        self.command = command_box()
        self.copy_button = QPushButton("Cop&y command")
        self.copy_button.clicked.connect(self.copy_command)
        self.download_button = QPushButton("&Download…")
        self.download_button.clicked.connect(self.download_requested)
        command_group = QGroupBox("Run it with llama.cpp")
        cmd_layout = QVBoxLayout(command_group)
        cmd_layout.addWidget(self.command)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        cmd_layout.addLayout(buttons)
        self.command_group = command_group

        self.machines_group = QGroupBox("Run it on several machines")
        self.machines_layout = QVBoxLayout(self.machines_group)
        self.machines_group.hide()

        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addWidget(memory_box)
        layout.addWidget(command_group)  # the command before the (long) risks: it is what the user came for
        layout.addWidget(self.machines_group)
        layout.addWidget(risks_box)
        layout.addStretch(1)
        self.show_option(None, None)

    def show_option(self, plan: Plan | None, option: OptionPlan | None, titles: dict[str, str] | None = None) -> None:
        self._option = option
        self._show_machine_commands(option.machine_commands if option else ())
        enabled = option is not None
        for w in (self.context_slider, self.copy_button, self.download_button):
            w.setEnabled(enabled)
        if plan is None or option is None:
            self.heading.setText("Choose a model, then an option in the table, to see how it would run here.")
            self.badge.hide()
            self.summary.clear()
            self.chart.set_option(None)
            self.risks.setText("—")
            self.command.setPlainText("")
            self.context_label.setText("")
            return
        self.heading.setText(f"{plan.model.name} · {option.quant}")
        colour = VERDICT_COLOURS[option.verdict]
        self.badge.setText(verdict_label(option.verdict))
        self.badge.setStyleSheet(
            f"background:{colour.name()}; color:{text_on(colour).name()}; border-radius:9px; font-weight:600"
        )
        self.badge.show()
        kv = plan.request.kv_type_k
        lines = [
            sentence(option.verdict_reason) or verdict_sentence(option.verdict),
            f"Download: {file_size(option.size_bytes)} in {len(option.files)} file(s).",
            f"Speed while answering: {speed_range(option.decode_tps)} with an empty context, "
            f"{speed_range(option.decode_tps_at_context)} at {context_tokens(option.context)} tokens; "
            f"reading the prompt: {speed_range(option.prefill_tps)}.",
            _longest_words(option, kv),
        ]
        if option.estimate_basis:
            lines.append(f"Speed estimate based on {option.estimate_basis}.")
        self.summary.setText("\n".join(lines))
        head = plan.hardware[0].label if plan.hardware else None
        self.chart.set_option(option, titles, head=head)
        self._set_steps(plan.model.context_length, option.context or plan.context)
        risks = risks_by_severity(option)
        self.risks.setText("".join(risk_html(r) for r in risks) if risks else "No risks found for this option.")
        self.command.setPlainText(option.llama_cpp_command or "No command: this option cannot run here.")
        self.copy_button.setEnabled(bool(option.llama_cpp_command))

    def machine_views(self) -> list[MachineCommandView]:
        return [
            self.machines_layout.itemAt(i).widget()
            for i in range(self.machines_layout.count())
            if isinstance(self.machines_layout.itemAt(i).widget(), MachineCommandView)
        ]

    def _show_machine_commands(self, commands: tuple[MachineCommand, ...]) -> None:
        """A cluster option: one command per machine instead of the single command (the head's is among them)."""
        for view in self.machine_views():
            self.machines_layout.removeWidget(view)
            view.hide()  # deleteLater waits for the event loop: until then it would still paint
            view.deleteLater()
        for command in commands:
            self.machines_layout.addWidget(MachineCommandView(command))
        self.machines_group.setVisible(bool(commands))
        self.command.setVisible(not commands)
        self.copy_button.setVisible(not commands)
        self.command_group.setTitle("Download" if commands else "Run it with llama.cpp")

    def _set_steps(self, model_context: int, current: int) -> None:
        self._steps = context_steps(model_context, current)
        self.context_slider.blockSignals(True)
        self.context_slider.setRange(0, len(self._steps) - 1)
        self.context_slider.setValue(self._steps.index(current) if current in self._steps else 0)
        self.context_slider.blockSignals(False)
        self.context_label.setText(f"{context_tokens(current)} tokens")
        self.context_label.setToolTip(context_tokens_exact(current))

    def context_value(self) -> int | None:
        if not self._steps:
            return None
        return self._steps[self.context_slider.value()]

    def _on_slider_moved(self, index: int) -> None:
        if 0 <= index < len(self._steps):
            self.context_label.setText(f"{context_tokens(self._steps[index])} tokens")
            self.context_label.setToolTip(context_tokens_exact(self._steps[index]))
            self.context_changed.emit(self._steps[index])

    def copy_command(self) -> None:
        if self._option is not None and self._option.llama_cpp_command:
            QGuiApplication.clipboard().setText(self._option.llama_cpp_command)
            self.copy_button.setText("Copied")


def _longest_words(option, kv: str) -> str:
    """The longest context for this placement, and how far a placement with more in RAM would go."""
    here = option.max_context.get(kv)
    words = f"Longest context that fits ({kv} KV cache): {context_tokens(here)}"
    if option.longest_context > (here or 0):
        words += (
            f" with this placement; up to {context_tokens(option.longest_context)} with more of the model in RAM "
            "(slower: set the context slider to plan it)"
        )
    return words + "."
