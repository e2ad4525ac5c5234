"""The hardware correction form (RAM, RAM speed, each GPU's memory and speed), shared by the wizard's hardware
page and the main window's Correct… dialog, so both save the same ``HardwareOverrides`` in the settings."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from advisor import settings as st
from advisor.hardware.types import Hardware

GiB = 2**30


def _spin(suffix: str, low: float, high: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setMaximumWidth(180)
    spin.setRange(low, high)
    spin.setDecimals(1)
    spin.setSuffix(suffix)
    spin.setSpecialValueText("unknown")
    return spin


class CorrectionsForm(QWidget):
    """Shows the machine as corrected so far; ``overrides()`` keeps only what differs from the probe's finding."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.probed: Hardware | None = None
        self.ram = _spin(" GiB", 0, 65536)
        self.ram_bw = _spin(" GB/s", 0, 20000)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.addRow("System &RAM:", self.ram)
        self.form.addRow("RAM &speed:", self.ram_bw)
        self.gpu_spins: list[tuple[int, QDoubleSpinBox, QDoubleSpinBox]] = []

    def set_hardware(self, probed: Hardware | None, shown: Hardware | None) -> None:
        """``probed``: what the probe or file said; ``shown``: that with the saved corrections (the values shown)."""
        self.probed = probed
        for _index, vram, bw in self.gpu_spins:
            self.form.removeRow(vram)
            self.form.removeRow(bw)
        self.gpu_spins = []
        if shown is None:
            return
        self.ram.setValue(shown.memory.total_bytes / GiB)
        self.ram_bw.setValue(shown.memory.bandwidth_gbps or 0)
        for gpu in shown.gpus:
            vram = _spin(" GiB", 0, 4096)
            vram.setValue((gpu.vram_total_bytes or 0) / GiB)
            bw = _spin(" GB/s", 0, 20000)
            bw.setValue(gpu.bandwidth_gbps or 0)
            self.form.addRow(f"GPU {gpu.index} &memory:", vram)
            self.form.addRow(f"GPU {gpu.index} speed:", bw)
            self.gpu_spins.append((gpu.index, vram, bw))

    def overrides(self) -> st.HardwareOverrides:
        """Only values the user changed from what was found become corrections."""
        probed = self.probed
        if probed is None:
            return st.HardwareOverrides()

        def changed(value: float, found: float | None, scale: float) -> float | None:
            return None if value == 0 or (found is not None and abs(value - found / scale) < 0.05) else value

        ram = changed(self.ram.value(), probed.memory.total_bytes, GiB)
        ram_bw = changed(self.ram_bw.value(), probed.memory.bandwidth_gbps, 1)
        gpus = []
        by_index = {g.index: g for g in probed.gpus}
        for index, vram, bw in self.gpu_spins:
            gpu = by_index.get(index)
            v = changed(vram.value(), gpu.vram_total_bytes if gpu else None, GiB)
            b = changed(bw.value(), gpu.bandwidth_gbps if gpu else None, 1)
            if v is not None or b is not None:
                gpus.append(st.GpuOverride(index, int(v * GiB) if v is not None else None, b))
        return st.HardwareOverrides(int(ram * GiB) if ram is not None else None, ram_bw, tuple(gpus))


class CorrectionsDialog(QDialog):
    """The main window's Correct…: the same form as the wizard's, OK saves and re-plans."""

    def __init__(self, probed: Hardware, shown: Hardware, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Correct the hardware")
        explain = QLabel(
            "Change anything the check got wrong (for example memory the system reserves, or a measured speed). "
            "Your corrections are saved and used for every plan; set a value back to what was found to undo it."
        )
        explain.setWordWrap(True)
        self.form = CorrectionsForm()
        self.form.set_hardware(probed, shown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.form)
        layout.addWidget(buttons)
