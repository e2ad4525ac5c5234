"""The wizard's hardware page: what the probe found, in plain words, with corrections the user can make."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
)

from advisor import settings as st
from advisor.hardware.types import Hardware, load_hardware_file
from advisor.wizard import Page
from ui import workers
from ui.errors import show_error
from ui.hardware_view import hardware_lines
from ui.wizard.pages import WizardPage, _paragraph

if TYPE_CHECKING:
    from ui.wizard.wizard import SetupWizard

GiB = 2**30


class HardwarePage(WizardPage):
    PAGE = Page.HARDWARE

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("What Rigfit found. Correct anything that looks wrong; your corrections are saved.")
        self.found = _paragraph("Checking your hardware…")
        found_box = QGroupBox("Found")
        QVBoxLayout(found_box).addWidget(self.found)
        self.ram = self._spin(" GiB", 0, 65536)
        self.ram_bw = self._spin(" GB/s", 0, 20000)
        self.fix_form = QFormLayout()
        self.fix_form.addRow("System &RAM:", self.ram)
        self.fix_form.addRow("RAM &speed:", self.ram_bw)
        self.gpu_spins: list[tuple[int, QDoubleSpinBox, QDoubleSpinBox]] = []
        fix_box = QGroupBox("Corrections (leave as found if unsure)")
        fix_box.setLayout(self.fix_form)
        self.apply_button = QPushButton("&Apply corrections")
        self.apply_button.clicked.connect(self.apply_corrections)
        self.file_button = QPushButton("Load a hardware &file…")
        self.file_button.setToolTip("Plan for another machine: a file saved with `rigfit probe --json -o FILE`.")
        self.file_button.clicked.connect(self.choose_file)
        self.again_button = QPushButton("Check &again")
        self.again_button.clicked.connect(self.start_probe)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addStretch(1)
        buttons.addWidget(self.again_button)
        buttons.addWidget(self.file_button)
        self.body.addWidget(found_box)
        self.body.addWidget(fix_box)
        self.body.addLayout(buttons)
        self.body.addStretch(1)
        self._probing = False

    @staticmethod
    def _spin(suffix: str, low: float, high: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setMaximumWidth(180)
        spin.setRange(low, high)
        spin.setDecimals(1)
        spin.setSuffix(suffix)
        spin.setSpecialValueText("unknown")
        return spin

    def initializePage(self) -> None:
        super().initializePage()
        if self.setup.state.hardware is None and not self._probing:
            self.start_probe()
        elif self.setup.state.hardware is not None:
            self.show_hardware()

    def start_probe(self) -> None:
        self._probing = True
        self.found.setText("Checking your hardware… (this takes a few seconds)")
        self.again_button.setEnabled(False)
        workers.run_task(
            lambda _ctx: self.setup.backend.probe(), on_done=self.set_probed, on_error=self._failed, name="probe"
        )

    def _failed(self, exc: BaseException) -> None:
        self._probing = False
        self.again_button.setEnabled(True)
        self.found.setText("The hardware check failed. Load a hardware file, or check again.")
        show_error(self, exc)

    def set_probed(self, hardware: Hardware) -> None:
        self._probing = False
        self.again_button.setEnabled(True)
        self.setup.probed = hardware
        self.setup.hardware_found.emit(hardware)
        self.setup.update_state(hardware=st.apply_overrides(hardware, self.setup.settings.preferences.overrides))
        self.show_hardware()

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a hardware file", "", "Hardware files (*.json);;All (*)")
        if path:
            workers.run_task(lambda _ctx: load_hardware_file(path), on_done=self.set_probed, on_error=self._failed)

    def show_hardware(self) -> None:
        hw = self.setup.state.hardware
        if hw is None:
            return
        self.found.setText("\n".join(hardware_lines(hw)))
        self.ram.setValue(hw.memory.total_bytes / GiB)
        self.ram_bw.setValue(hw.memory.bandwidth_gbps or 0)
        for _index, vram, bw in self.gpu_spins:
            self.fix_form.removeRow(vram)
            self.fix_form.removeRow(bw)
        self.gpu_spins = []
        for gpu in hw.gpus:
            vram = self._spin(" GiB", 0, 4096)
            vram.setValue((gpu.vram_total_bytes or 0) / GiB)
            bw = self._spin(" GB/s", 0, 20000)
            bw.setValue(gpu.bandwidth_gbps or 0)
            self.fix_form.addRow(f"GPU {gpu.index} &memory:", vram)
            self.fix_form.addRow(f"GPU {gpu.index} speed:", bw)
            self.gpu_spins.append((gpu.index, vram, bw))

    def overrides(self) -> st.HardwareOverrides:
        """Only values the user changed from what was found become corrections."""
        probed = self.setup.probed
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

    def apply_corrections(self) -> None:
        overrides = self.overrides()
        self.setup.set_settings(self.setup.settings.with_preferences(overrides=overrides))
        if self.setup.probed is not None:
            self.setup.update_state(hardware=st.apply_overrides(self.setup.probed, overrides), plan=None)
            self.show_hardware()

    def validatePage(self) -> bool:
        if self.setup.probed is not None and self.overrides() != self.setup.settings.preferences.overrides:
            self.apply_corrections()
        return True
