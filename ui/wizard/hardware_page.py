"""The wizard's hardware page: what the probe found, in plain words, with corrections the user can make."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
)

from advisor import settings as st
from advisor.hardware.types import Hardware, load_hardware_file
from advisor.wizard import Page
from ui import workers
from ui.corrections import CorrectionsForm
from ui.errors import show_error
from ui.hardware_view import hardware_lines
from ui.wizard.pages import WizardPage, _paragraph

if TYPE_CHECKING:
    from ui.wizard.wizard import SetupWizard


class HardwarePage(WizardPage):
    PAGE = Page.HARDWARE

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("What Rigfit found. Correct anything that looks wrong; your corrections are saved.")
        self.found = _paragraph("Checking your hardware…")
        found_box = QGroupBox("Found")
        QVBoxLayout(found_box).addWidget(self.found)
        self.corrections = CorrectionsForm()
        self.ram, self.ram_bw = self.corrections.ram, self.corrections.ram_bw
        fix_box = QGroupBox("Corrections (leave as found if unsure)")
        QVBoxLayout(fix_box).addWidget(self.corrections)
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
        self.corrections.set_hardware(self.setup.probed, hw)

    @property
    def gpu_spins(self):  # the per-GPU (index, memory, speed) fields
        return self.corrections.gpu_spins

    def overrides(self) -> st.HardwareOverrides:
        return self.corrections.overrides()

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
