"""Other machines for an RPC cluster (issue 11): add another machine's hardware file, name it, pick the link.

The panel only collects choices; the window loads each file on a worker and re-plans with
``plan(model, [head, *workers], PlanOptions(link=..., link_gbps=..., link_latency_ms=...))``. The window also
keeps the machines (file, name, address) and the link in the settings, and loads them again at the next launch.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from advisor import settings as st
from advisor.format import mem_size
from advisor.hardware.types import Hardware

#: What the user typed in the Add machine dialog: exactly what the settings keep of a cluster machine.
MachineRequest = st.SavedMachine
#: The link between the machines (a preset name, optional measured figures): exactly what the settings keep.
LinkChoice = st.SavedLink


def link_presets() -> list[tuple[str, str]]:
    """(name, label) of every link in ``resources/specs/network.toml``, the file's default first."""
    from advisor.plan.cluster import link_names, network_spec

    spec = network_spec()
    names = sorted(link_names(), key=lambda n: n != spec.default_link)
    return [(name, spec.links[name].label) for name in names]


def machine_summary(hw: Hardware) -> str:
    gpus = ", ".join(f"{g.name} ({mem_size(g.vram_total_bytes)})" if g.vram_total_bytes else g.name for g in hw.gpus)
    where = f" at {hw.hostname}" if hw.hostname else ""
    return f"{hw.label}{where}: {mem_size(hw.memory.total_bytes)} RAM" + (f", {gpus}" if gpus else "")


class AddMachineDialog(QDialog):
    """Choose a hardware file (or JSON report) from another machine and name it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a machine")
        self.path = QLineEdit()
        self.path.setPlaceholderText("rigfit-hardware.json from the other machine")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.label = QLineEdit()
        self.label.setPlaceholderText("e.g. worker1")
        self.address = QLineEdit()
        self.address.setPlaceholderText("optional, e.g. 192.168.1.21")
        form = QFormLayout()
        form.addRow("Hardware &file:", row)
        form.addRow("&Name:", self.label)
        form.addRow("&Address on your network:", self.address)
        explain = QLabel(
            "On the other machine, run <tt>rigfit probe -o FILE</tt> (or export a JSON report) and copy the file "
            "here. Rigfit plans the model over both machines with llama.cpp's RPC server."
        )
        explain.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.path.textChanged.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update_ok()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Another machine's hardware file", "", "Hardware files and reports (*.json);;All files (*)"
        )
        if path:
            self.path.setText(path)

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.path.text().strip()))

    def request(self) -> MachineRequest:
        from pathlib import Path

        path = self.path.text().strip()
        return MachineRequest(
            path=path,
            label=self.label.text().strip() or Path(path).stem,
            address=self.address.text().strip() or None,
        )


class ClusterPanel(QGroupBox):
    """Signals:
    add_requested(): the user pressed Add machine (the window opens the dialog).
    changed(): a machine was added, restored or removed, or the link changed (the window saves and re-plans).
    """

    add_requested = Signal()
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Other machines sharing the model", parent)
        self._machines: list[Hardware] = []
        self._sources: list[MachineRequest | None] = []  # where each machine came from, to save it
        #: lives in the window's "This machine" box; the panel itself shows only once a machine is added
        self.add_button = QPushButton("&Add machine…")
        self.add_button.setToolTip("Too big for this machine? Add other machines on your network to share the model.")
        self.add_button.clicked.connect(self.add_requested)
        self.rows = QVBoxLayout()
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.link = QComboBox()
        self.link.setAccessibleName("Network link between the machines")  # filled with the first machine
        self.gbps = QDoubleSpinBox()
        self.gbps.setRange(0, 1000)
        self.gbps.setDecimals(1)
        self.gbps.setSuffix(" Gbit/s")
        self.gbps.setSpecialValueText("as the link type")
        self.gbps.setToolTip("A speed you measured (e.g. with iperf3); leave at the start to use the link type's.")
        self.latency = QDoubleSpinBox()
        self.latency.setRange(0, 100)
        self.latency.setDecimals(2)
        self.latency.setSingleStep(0.05)
        self.latency.setSuffix(" ms")
        self.latency.setSpecialValueText("as the link type")
        self.latency.setToolTip("A round-trip time you measured (ping); leave at the start to use the link type's.")
        for signal in (self.link.currentIndexChanged, self.gbps.valueChanged, self.latency.valueChanged):
            signal.connect(lambda *_: self.changed.emit() if self._machines else None)
        link_row = QHBoxLayout()
        link_caption = QLabel("&Link:")
        link_caption.setBuddy(self.link)
        link_row.addWidget(link_caption)
        link_row.addWidget(self.link, 1)
        link_row.addWidget(QLabel("Speed:"))
        link_row.addWidget(self.gbps)
        link_row.addWidget(QLabel("Latency:"))
        link_row.addWidget(self.latency)
        self.link_widget = QWidget()
        self.link_widget.setLayout(link_row)
        link_row.setContentsMargins(0, 0, 0, 0)
        # a message about the saved machines (e.g. a file that is gone): shown until the user dismisses it
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # it quotes file paths, which may contain '<'
        self.note.setAccessibleName("Note about the other machines")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_note_button = QPushButton("Dismiss")
        self.dismiss_note_button.setAccessibleName("Dismiss the note about the other machines")
        self.dismiss_note_button.clicked.connect(self.clear_note)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(16, 16))
        note_row = QHBoxLayout()
        note_row.setContentsMargins(0, 0, 0, 0)
        note_row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        note_row.addWidget(self.note, 1)
        note_row.addWidget(self.dismiss_note_button, 0, Qt.AlignmentFlag.AlignTop)
        self.note_widget = QWidget()
        self.note_widget.setLayout(note_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note_widget)
        layout.addLayout(self.rows)
        layout.addWidget(self.link_widget)
        self._refresh()

    def machines(self) -> tuple[Hardware, ...]:
        return tuple(self._machines)

    def sources(self) -> tuple[MachineRequest, ...]:
        """The file, name and address of each machine that came from a file, in order (what the settings keep)."""
        return tuple(source for source in self._sources if source is not None)

    def add_machine(self, hardware: Hardware, source: MachineRequest | None = None) -> None:
        self._machines.append(hardware)
        self._sources.append(source)
        self._refresh()
        self.changed.emit()

    def restore(self, machines: list[tuple[Hardware, MachineRequest]], link: LinkChoice) -> None:
        """The machines saved last time, and their link, with one ``changed`` at the end."""
        for hardware, source in machines:
            self._machines.append(hardware)
            self._sources.append(source)
        self._refresh()
        self.set_link(link)
        self.changed.emit()

    def remove_machine(self, index: int) -> None:
        del self._machines[index]
        del self._sources[index]
        self._refresh()
        self.changed.emit()

    def set_link(self, link: LinkChoice) -> None:
        """Show ``link`` without a ``changed`` per field; an unknown preset name falls back to the default."""
        widgets = (self.link, self.gbps, self.latency)
        for widget in widgets:
            widget.blockSignals(True)
        index = self.link.findData(link.name) if link.name else -1
        self.link.setCurrentIndex(max(index, 0) if self.link.count() else -1)
        self.gbps.setValue(link.gbps or 0)
        self.latency.setValue(link.latency_ms or 0)
        for widget in widgets:
            widget.blockSignals(False)

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self._refresh()

    def clear_note(self) -> None:
        self.note.clear()
        self._refresh()

    def link_choice(self) -> LinkChoice:
        return LinkChoice(
            name=self.link.currentData(),
            gbps=self.gbps.value() or None,
            latency_ms=self.latency.value() or None,
        )

    def remove_buttons(self) -> list[QPushButton]:
        return [self.rows.itemAt(i).widget().findChild(QPushButton) for i in range(self.rows.count())]

    def _refresh(self) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            widget.hide()  # deleteLater waits for the event loop: until then it would still paint
            widget.deleteLater()
        for index, hw in enumerate(self._machines):
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(QLabel(machine_summary(hw)), 1)
            remove = QPushButton("Remove")
            remove.setAccessibleName(f"Remove {hw.label}")
            remove.clicked.connect(lambda _checked=False, i=index: self.remove_machine(i))
            lay.addWidget(remove)
            self.rows.addWidget(row)
        if self._machines and not self.link.count():
            # the presets load with the first machine: the planner's modules stay off the window's start-up
            self.link.blockSignals(True)
            for name, label in link_presets():
                self.link.addItem(label, name)
            self.link.blockSignals(False)
        has_note = bool(self.note.text())
        self.note_widget.setVisible(has_note)
        self.link_widget.setVisible(bool(self._machines))
        self.setVisible(bool(self._machines) or has_note)
