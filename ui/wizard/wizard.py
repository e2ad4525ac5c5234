"""``SetupWizard``: a QWizard whose navigation and 'may I continue' answers come from ``advisor.wizard``.

Settings are written when the wizard ends: on Finish with everything chosen, on Cancel only the fact that
the wizard ran (so it never nags) and any download left paused (so the next launch offers to resume it).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from advisor import settings as st
from advisor.hardware.types import Hardware
from advisor.wizard import Page, WizardState, next_page
from ui.backend import Backend, default_backend
from ui.wizard.hardware_page import HardwarePage
from ui.wizard.pages import (
    DonePage,
    DownloadPage,
    ModelPage,
    QuantPage,
    RisksPage,
    WelcomePage,
    WizardPage,
)

PAGES: tuple[type[WizardPage], ...] = (
    WelcomePage,
    HardwarePage,
    ModelPage,
    QuantPage,
    RisksPage,
    DownloadPage,
    DonePage,
)


class SetupWizard(QWizard):
    """Signals:
    finished_setup(object, object, object, object): settings, hardware, model, plan after Finish.
    closed(object): the settings after Cancel (first run marked done, paused download remembered).
    state_changed(object): the ``WizardState`` after every change.
    hardware_found(object): the probe (or a loaded hardware file) produced this ``Hardware``.
    """

    finished_setup = Signal(object, object, object, object)
    hardware_found = Signal(object)
    closed = Signal(object)
    state_changed = Signal(object)

    def __init__(
        self,
        settings: st.Settings,
        backend: Backend | None = None,
        *,
        parent: QWidget | None = None,
        hardware: Hardware | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rigfit setup")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.settings = settings
        self.backend = backend or default_backend()
        self.probed = hardware
        self.model = None
        self.state = WizardState(
            hardware=st.apply_overrides(hardware, settings.preferences.overrides) if hardware else None,
            download_dir=str(st.download_dir(settings)),
        )
        self.pages: dict[Page, WizardPage] = {}
        for page_id, cls in zip(Page, PAGES, strict=True):
            page = cls(self)
            self.pages[page_id] = page
            self.setPage(int(page_id), page)
        self.setStartId(int(Page.WELCOME))
        self.resize(860, 660)

    def set_state(self, state: WizardState) -> None:
        self.state = state
        current = self.currentPage()
        if isinstance(current, WizardPage):
            current.refresh_blocker()
        self.state_changed.emit(state)

    def update_state(self, **changes) -> None:
        self.set_state(self.state.update(**changes))

    def set_settings(self, settings: st.Settings) -> None:
        self.settings = settings

    def check_missing_files(self) -> None:
        """Find which files of the chosen option are not yet in the folder, on a worker (the folder may be slow).

        The answer is kept only while the option and the folder are still the ones asked about; until it comes,
        the Download page is not skipped.
        """
        from advisor.wizard import missing_files
        from ui import workers

        option, folder = self.state.option, self.state.download_dir
        if option is None or not folder:
            return

        def found(missing) -> None:
            if self.state.option == option and self.state.download_dir == folder:
                self.update_state(missing_files=missing)

        workers.run_task(
            lambda _ctx: missing_files(option, folder), on_done=found, on_error=lambda _exc: None, name="local files"
        )

    def nextId(self) -> int:
        following = next_page(Page(self.currentId()), self.state)
        return -1 if following is None else int(following)

    def current_page_id(self) -> Page:
        return Page(self.currentId())

    def accept(self) -> None:
        settings = self.pages[Page.DOWNLOAD].remember_pending(self.settings.with_ui(first_run_done=True))
        if self.state.model_name:
            settings = settings.with_preferences(last_model=self.model.id if self.model else self.state.model_name)
        self.settings = settings
        super().accept()
        self.finished_setup.emit(settings, self.probed, self.model, self.state.plan)

    def reject(self) -> None:
        self.pages[Page.DOWNLOAD].pause()
        self.settings = self.pages[Page.DOWNLOAD].remember_pending(self.settings.with_ui(first_run_done=True))
        super().reject()
        self.closed.emit(self.settings)
