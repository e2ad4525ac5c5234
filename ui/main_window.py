"""The main window: the machine, a model picker, the options table, the chosen option in detail, downloads.

Every number shown comes from one ``Plan`` made by ``advisor.plan.planner.plan`` on a worker; moving the
context slider re-plans (debounced) rather than scaling anything here. The window appears first and probes
the machine afterwards, so start-up never waits on NVML, the Hub client or a bandwidth benchmark.
"""

from __future__ import annotations

import base64
from pathlib import Path

from PySide6.QtCore import QByteArray, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

import advisor
from advisor import settings as st
from advisor.hardware.types import Hardware, load_hardware_file
from advisor.model.types import Model, option_named
from advisor.plan.types import OptionPlan, Plan, PlanOptions
from ui import workers
from ui.backend import Backend, default_backend
from ui.cluster_panel import AddMachineDialog, ClusterPanel, MachineRequest
from ui.detail_pane import DetailPane
from ui.downloads import DownloadsPanel
from ui.errors import show_error
from ui.hardware_view import hardware_lines, hardware_one_line, plan_device_titles
from ui.model_picker import ModelPicker
from ui.models import Column, OptionsTableModel
from ui.widgets.badge import VerdictBadgeDelegate

REPLAN_DELAY_MS = 250


def check_machine_request(request: MachineRequest, taken: set[str]) -> None:
    """The CLI's rules for a machine's name and address (``NAME@ADDRESS=FILE``), and a name not used yet."""
    from advisor.errors import RigfitError
    from advisor.plan.cluster import parse_machine_spec

    where = f"@{request.address}" if request.address else ""
    parsed = parse_machine_spec(f"{request.label}{where}={request.path}")
    if parsed != (request.label, request.address, request.path):
        raise RigfitError(
            f"Cannot use the name {request.label!r}.", hint="Use letters, digits, '.', '_' or '-', e.g. worker1."
        )
    if request.label in taken:
        raise RigfitError(
            f"There is already a machine named {request.label!r}.", hint="Give each machine its own name."
        )


def dropped_machines_note(failed: list[tuple[MachineRequest, str]]) -> str:
    """What the user reads when saved machines could not be loaded: which, why, and how to get them back."""
    if len(failed) == 1:
        ((request, reason),) = failed
        return (
            f"Removed {request.label} from the saved machines: {reason.rstrip('.')}. "
            "Add it again with Add machine… once the file is back."
        )
    reasons = " ".join(f"{request.label}: {reason.rstrip('.')}." for request, reason in failed)
    return (
        f"Removed {len(failed)} saved machines whose hardware files could not be read. {reasons} "
        "Add them again with Add machine… once the files are back."
    )


class MainWindow(QMainWindow):
    """Signals:
    hardware_changed(object): the machine being planned for (after the user's corrections).
    plan_changed(object): a new ``Plan`` is shown.
    """

    hardware_changed = Signal(object)
    plan_changed = Signal(object)

    def __init__(
        self,
        settings: st.Settings | None = None,
        backend: Backend | None = None,
        *,
        probe_on_show: bool = True,
        save_settings: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else st.load()
        self.backend = backend or default_backend()
        self.probed: Hardware | None = None  # what the probe or the hardware file said
        self.hardware: Hardware | None = None  # that, with the user's corrections
        self.model: Model | None = None
        self.plan: Plan | None = None
        self._pending_model: str | None = None
        self._cluster_loading = False  # the saved other machines are being read: planning waits for them
        self._plan_generation = 0
        self._asked_machines: dict[int, Hardware | list[Hardware]] = {}  # what each plan request was for
        self._probe_on_show = probe_on_show
        self._save_settings = save_settings
        self._started = False
        self.setWindowTitle("Rigfit")
        self._init_widgets()
        self._init_menus()
        self._connect_signals()
        self._restore_geometry()

    # --- construction ----------------------------------------------------------------------------------------

    def _init_widgets(self) -> None:
        self.hardware_label = QLabel("Checking your hardware…")
        self.hardware_label.setWordWrap(True)
        self.hardware_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reprobe_button = QPushButton("Check &again")
        self.hardware_file_button = QPushButton("Open hardware &file…")
        self.correct_button = QPushButton("C&orrect…")
        self.correct_button.setToolTip("Correct RAM, GPU memory or speeds the check got wrong; saved for next time.")
        self.correct_button.setEnabled(False)
        self.cluster = ClusterPanel()
        hw_box = QGroupBox("This machine")
        hw_layout = QHBoxLayout(hw_box)
        hw_layout.addWidget(self.hardware_label, 1)
        buttons = QGridLayout()  # two by two: the box stays as short as the machine's summary
        buttons.addWidget(self.reprobe_button, 0, 0)
        buttons.addWidget(self.correct_button, 0, 1)
        buttons.addWidget(self.hardware_file_button, 1, 0)
        buttons.addWidget(self.cluster.add_button, 1, 1)
        buttons.setRowStretch(2, 1)
        hw_layout.addLayout(buttons)

        self.picker = ModelPicker()
        model_box = QGroupBox("Model")
        QVBoxLayout(model_box).addWidget(self.picker)

        self.options_model = OptionsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.options_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegateForColumn(Column.VERDICT, VerdictBadgeDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setAccessibleName("Quantization options")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setTabKeyNavigation(False)
        self.recommendation = QLabel()
        self.recommendation.setWordWrap(True)
        options_box = QGroupBox("Options")
        opt_layout = QVBoxLayout(options_box)
        opt_layout.addWidget(self.recommendation)
        opt_layout.addWidget(self.table, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(hw_box)
        left_layout.addWidget(self.cluster)
        left_layout.addWidget(model_box)
        left_layout.addWidget(options_box, 1)

        self.detail = DetailPane()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.detail)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([760, 520])
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.downloads = DownloadsPanel(self)
        dock = QDockWidget("Downloads", self)
        dock.setObjectName("downloads")
        dock.setWidget(self.downloads)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.downloads_dock = dock

        self._replan_timer = QTimer(self)
        self._replan_timer.setSingleShot(True)
        self._replan_timer.setInterval(REPLAN_DELAY_MS)
        self.statusBar().showMessage("Starting…")
        self.resize(1280, 820)

    def _init_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_hardware_action = QAction("&Open hardware file…", self, shortcut=QKeySequence.StandardKey.Open)
        self.export_action = QAction("&Export report…", self, shortcut=QKeySequence("Ctrl+E"))
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([self.open_hardware_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        settings_menu = self.menuBar().addMenu("&Settings")
        self.settings_action = QAction("&Preferences…", self, shortcut=QKeySequence.StandardKey.Preferences)
        settings_menu.addAction(self.settings_action)
        settings_menu.addAction(self.downloads_dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        self.wizard_action = QAction("&Setup wizard…", self)
        self.about_action = QAction("&About Rigfit", self)
        help_menu.addActions([self.wizard_action, self.about_action])

    def _connect_signals(self) -> None:
        self.reprobe_button.clicked.connect(self.start_probe)
        self.hardware_file_button.clicked.connect(self.choose_hardware_file)
        self.correct_button.clicked.connect(self.open_corrections)
        self.open_hardware_action.triggered.connect(self.choose_hardware_file)
        self.export_action.triggered.connect(self.export_report)
        self.settings_action.triggered.connect(self.open_settings)
        self.wizard_action.triggered.connect(lambda: self.open_wizard())
        self.about_action.triggered.connect(self.about)
        self.picker.model_chosen.connect(self.choose_model)
        self.cluster.add_requested.connect(self.open_add_machine)
        self.cluster.changed.connect(self._on_cluster_changed)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._show_row(current.row()))
        self.detail.context_changed.connect(lambda _value: self._replan_timer.start())
        self.detail.download_requested.connect(self.download_selected)
        self._replan_timer.timeout.connect(self._replan_for_slider)

    # --- start-up --------------------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self._started = True
            QTimer.singleShot(0, self._after_first_show)

    def _after_first_show(self) -> None:
        workers.run_task(lambda _ctx: self.backend.catalog(), on_done=self._on_catalog, name="catalog")
        self.downloads.offer_pending(self.settings)
        first_run = not self.settings.ui.first_run_done
        if self.settings.ui.cluster_machines:
            self.restore_cluster()  # before the probe or hardware file, so the first plan includes them
        if self.settings.preferences.hardware_file:
            self.load_hardware(self.settings.preferences.hardware_file)
        elif self._probe_on_show and not first_run:
            self.start_probe()  # on the first run the wizard probes, and hands the result over
        if first_run:
            QTimer.singleShot(0, lambda: self.open_wizard())

    def _on_catalog(self, choices: list) -> None:
        self.picker.set_choices(choices)
        self.picker.select(self.settings.preferences.last_model)

    # --- hardware ----------------------------------------------------------------------------------------------

    def start_probe(self) -> None:
        self.hardware_label.setText("Checking your hardware… (this takes a few seconds)")
        self.statusBar().showMessage("Checking your hardware…")
        self.reprobe_button.setEnabled(False)
        workers.run_task(
            lambda _ctx: self.backend.probe(), on_done=self._on_probed, on_error=self._on_probe_failed, name="probe"
        )

    def _on_probe_failed(self, exc: BaseException) -> None:
        self.reprobe_button.setEnabled(True)
        self.hardware_label.setText("The hardware check failed. Open a hardware file, or try again.")
        show_error(self, exc)

    def _on_probed(self, hardware: Hardware) -> None:
        self.reprobe_button.setEnabled(True)
        self.set_hardware(hardware)

    def set_hardware(self, hardware: Hardware) -> None:
        """Plan for ``hardware`` (probed or loaded), with the user's saved corrections applied."""
        self.probed = hardware
        self.hardware = st.apply_overrides(hardware, self.settings.preferences.overrides)
        self.correct_button.setEnabled(True)
        self.hardware_label.setText("\n".join(hardware_lines(self.hardware)))
        self.statusBar().showMessage(hardware_one_line(self.hardware))
        self.hardware_changed.emit(self.hardware)
        pending = self._pending_model or (self.model.id if self.model else self.settings.preferences.last_model)
        self._pending_model = None
        if self.model is not None:
            self._replan()
        elif pending:
            self.choose_model(pending)

    def open_corrections(self):  # -> ui.corrections.CorrectionsDialog | None
        """The wizard's correction form for the machine shown; OK saves the corrections and plans again."""
        if self.probed is None or self.hardware is None:
            return None
        from ui.corrections import CorrectionsDialog

        dialog = CorrectionsDialog(self.probed, self.hardware, self)

        def accepted() -> None:
            overrides = dialog.form.overrides()
            if overrides != self.settings.preferences.overrides:
                self._update_settings(self.settings.with_preferences(overrides=overrides))
                self.set_hardware(self.probed)

        dialog.accepted.connect(accepted)
        dialog.open()
        self._corrections_dialog = dialog
        return dialog

    def choose_hardware_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a hardware file or report", "", "Hardware files and reports (*.json);;All files (*)"
        )
        if path:
            self.load_hardware(path)

    def load_hardware(self, path: str) -> None:
        def done(hw: Hardware) -> None:
            self._update_settings(self.settings.with_preferences(hardware_file=path))
            self.set_hardware(hw)

        def failed(exc: BaseException) -> None:
            show_error(self, exc)
            if self.probed is None:  # the saved machine file is gone or broken: plan for this machine instead
                self._update_settings(self.settings.with_preferences(hardware_file=None))
                self.start_probe()

        workers.run_task(lambda _ctx: load_hardware_file(path), on_done=done, on_error=failed, name="hardware file")

    # --- model and plan ----------------------------------------------------------------------------------------

    def choose_model(self, name: str) -> None:
        if self.hardware is None:
            self._pending_model = name
            self.statusBar().showMessage(f"{name} will be planned once the hardware check is done.")
            return
        if self._cluster_loading:
            self._pending_model = name
            self.statusBar().showMessage(f"{name} will be planned once the other machines' files are read.")
            return
        self.statusBar().showMessage(f"Reading {name}…")
        token = st.stored_token()
        hardware = self.machines()
        options = self.plan_options()
        backend = self.backend
        self._plan_generation += 1
        generation = self._plan_generation
        self._asked_machines = {generation: hardware}

        def work(ctx: workers.TaskContext) -> tuple[Model, Plan]:
            model = backend.resolve(name, token, ctx.progress)
            return model, backend.plan(model, hardware, options)

        workers.run_task(
            work,
            on_done=lambda result: self._on_planned(generation, *result),
            on_progress=lambda msg: self.statusBar().showMessage(str(msg)),
            on_error=lambda exc: self._on_plan_failed(exc),
            name="resolve+plan",
        )

    def _on_plan_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage("Planning failed.")
        show_error(self, exc)

    def _replan(self, context: int | None = None) -> None:
        if self.model is None or self.hardware is None:
            return
        model, hardware, backend = self.model, self.machines(), self.backend
        options = self.plan_options(context)
        self._plan_generation += 1
        generation = self._plan_generation
        self._asked_machines = {generation: hardware}  # only the newest request's answer is shown
        self.statusBar().showMessage("Planning…")
        workers.run_task(
            lambda _ctx: (model, backend.plan(model, hardware, options)),
            on_done=lambda result: self._on_planned(generation, *result),
            on_error=self._on_plan_failed,
            name="plan",
        )

    def machines(self) -> Hardware | list[Hardware]:
        """This machine alone, or this machine first and then the machines the user added (RPC workers)."""
        workers = self.cluster.machines()
        return [self.hardware, *workers] if workers and self.hardware is not None else self.hardware

    def plan_options(self, context: int | None = None) -> PlanOptions:
        """The settings' options, with the link between the machines when there are several."""
        options = st.plan_options(self.settings, context=context)
        if not self.cluster.machines():
            return options
        from dataclasses import replace

        link = self.cluster.link_choice()
        return replace(options, link=link.name, link_gbps=link.gbps, link_latency_ms=link.latency_ms)

    # --- other machines (RPC cluster, issue 11) ----------------------------------------------------------------

    def open_add_machine(self) -> AddMachineDialog:
        dialog = AddMachineDialog(self)
        dialog.accepted.connect(lambda: self.add_machine(dialog.request()))
        dialog.open()
        self._add_machine_dialog = dialog
        return dialog

    def add_machine(self, request: MachineRequest) -> workers.Task:
        """Read the other machine's hardware file on a worker, name it, and plan over both."""
        from dataclasses import replace

        taken = {"head", *(hw.label for hw in (self.hardware, *self.cluster.machines()) if hw and hw.label)}

        def work(_ctx) -> Hardware:
            check_machine_request(request, taken)
            hw = load_hardware_file(request.path)
            return replace(hw, label=request.label, hostname=request.address or hw.hostname)

        return workers.run_task(
            work,
            on_done=lambda hw: self.cluster.add_machine(hw, request),
            on_error=lambda exc: show_error(self, exc),
            name="add machine",
        )

    def restore_cluster(self) -> workers.Task:
        """Read the saved machines' hardware files on a worker; a file that is gone or broken is dropped and named
        in a note in the cluster panel (never a dialog), and every other machine and setting is kept."""
        from dataclasses import replace

        from advisor.errors import RigfitError

        saved = self.settings.ui.cluster_machines
        self._cluster_loading = True
        self.statusBar().showMessage(f"Reading {len(saved)} other machine(s)…")

        def work(_ctx) -> tuple[list[tuple[Hardware, MachineRequest]], list[tuple[MachineRequest, str]]]:
            loaded, failed = [], []
            taken = {"head"}
            for machine in saved:
                request = machine  # a saved machine is the request that added it
                try:
                    check_machine_request(request, taken)
                    hw = load_hardware_file(request.path)
                except RigfitError as exc:
                    failed.append((request, exc.message))
                    continue
                taken.add(request.label)
                loaded.append((replace(hw, label=request.label, hostname=request.address or hw.hostname), request))
            return loaded, failed

        def done(result) -> None:
            loaded, failed = result
            self._cluster_loading = False
            link = self.settings.ui.cluster_link
            if failed:
                self.cluster.show_note(dropped_machines_note(failed))
                self.statusBar().showMessage(dropped_machines_note(failed), 15_000)
            # changed() saves the machines that loaded (dropping the others) and re-plans
            self.cluster.restore(loaded, link)
            self._resume_pending_model()

        def crashed(exc: BaseException) -> None:
            self._cluster_loading = False
            show_error(self, exc)
            self._resume_pending_model()

        return workers.run_task(work, on_done=done, on_error=crashed, name="saved machines")

    def _resume_pending_model(self) -> None:
        if self._pending_model and self.hardware is not None:
            name, self._pending_model = self._pending_model, None
            self.choose_model(name)

    def _on_cluster_changed(self) -> None:
        """Keep the machines and the link in the settings (so they come back next launch), then re-plan.

        While a model is still being read there is nothing to re-plan yet; that reading plans for the machines it
        started with, and its plan is redone when it arrives if they changed meanwhile (``_on_planned``).
        """
        machines = tuple(self.cluster.sources())
        link = self.cluster.link_choice() if self.cluster.link.count() else None
        saved_link = link if link else self.settings.ui.cluster_link
        if (machines, saved_link) != (self.settings.ui.cluster_machines, self.settings.ui.cluster_link):
            self._update_settings(self.settings.with_ui(cluster_machines=machines, cluster_link=saved_link))
        self._replan(self.detail.context_value())

    def _replan_for_slider(self) -> None:
        self._replan(self.detail.context_value())

    def _on_planned(self, generation: int, model: Model, plan: Plan) -> None:
        if generation != self._plan_generation:
            return  # an older request finished after a newer one was made: its plan is stale
        self.show_plan(plan, model)
        asked = self._asked_machines.pop(generation, None)
        if asked is not None and self.hardware is not None and asked != self.machines():
            self._replan(self.detail.context_value())  # machines were added or removed while it was planned

    def show_plan(self, plan: Plan, model: Model | None = None) -> None:
        """Show ``plan`` (and remember ``model`` for re-planning); the selected quantization is kept if it exists."""
        keep = self.selected_option().quant if self.selected_option() else None
        same_model = self.plan is not None and self.plan.model.id == plan.model.id
        if model is not None:
            self.model = model
        if self.hardware is None and plan.hardware:
            self.hardware = plan.hardware[0]
            self.hardware_label.setText("\n".join(hardware_lines(self.hardware)))
        self.plan = plan
        self.picker.select(plan.model.id)
        self.options_model.set_plan(plan)
        from advisor.wizard import recommendation_sentence

        self.recommendation.setText(recommendation_sentence(plan))
        self.select_quant(keep if same_model and keep else plan.recommended)
        self._show_row(self.table.currentIndex().row())
        if model is not None and self.settings.preferences.last_model != model.id:
            self._update_settings(self.settings.with_preferences(last_model=model.id))
        self.statusBar().showMessage(f"{plan.model.name}: {len(plan.options)} options planned.", 5000)
        self.plan_changed.emit(plan)

    def select_quant(self, quant: str | None) -> None:
        row = self.options_model.row_of(quant)
        if row < 0 and self.options_model.rowCount() > 0:
            row = 0
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.options_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )

    def selected_option(self) -> OptionPlan | None:
        return self.options_model.option_at(self.table.currentIndex().row())

    def _show_row(self, row: int) -> None:
        self.detail.show_option(
            self.plan, self.options_model.option_at(row), plan_device_titles(self.plan, self.hardware)
        )

    # --- actions -------------------------------------------------------------------------------------------------

    def download_selected(self):  # -> ui.download_dialog.DownloadDialog | None
        """Show exactly what will be written (optional files to tick, the folder), then download it.

        The dialog opens without blocking; its free-space check runs on a worker.
        """
        option = self.selected_option()
        if self.plan is None or option is None or self.model is None:
            return None
        from ui.download_dialog import DownloadDialog

        model, plan = self.model, self.plan
        dialog = DownloadDialog(model, option, st.download_dir(self.settings), self)

        def accepted() -> None:
            self.downloads_dock.show()
            shards = dialog.shards()
            self.downloads.start(model, plan, option, dialog.dest, dialog.chosen_companions(), shards)
            self._follow_download(model, option.quant, shards, dialog.dest)

        dialog.accepted.connect(accepted)
        dialog.open()
        self._download_box = dialog
        return dialog

    def _follow_download(self, model: Model, quant: str, shards: tuple, dest: Path) -> None:
        """Plan again when the download differs from the plan, so the command names the files where they land.

        The Hub's list replaces a catalog quant's estimated files (names and sizes), and a folder chosen in the
        download dialog becomes the download folder in Settings.
        """
        from dataclasses import replace

        changed = False
        if Path(dest) != st.download_dir(self.settings):
            self._update_settings(self.settings.with_preferences(download_dir=str(dest)))
            changed = True
        current = option_named(model.options, quant)
        if current is not None and tuple(current.files) != tuple(shards):
            exact = replace(current, files=tuple(shards), size_bytes=sum(f.size_bytes for f in shards))
            if self.model is model:
                self.model = replace(model, options=tuple(exact if o is current else o for o in model.options))
            changed = True
        if changed:
            self._replan(self.detail.context_value())

    def export_report(self):  # -> ui.report_actions.ExportDialog | None
        from ui.report_actions import export_report

        option = self.selected_option()
        return export_report(self, self.hardware, self.plan, option.quant if option else None)

    def open_settings(self) -> None:
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)

        def accepted() -> None:
            try:
                dialog.apply_token()
            except Exception as exc:
                show_error(self, exc)
            old = self.settings.preferences
            self._update_settings(dialog.result_settings())
            new = self.settings.preferences
            if (old.kv_type, old.flash_attention, old.download_dir) != (
                new.kv_type,
                new.flash_attention,
                new.download_dir,
            ):
                self._replan(self.detail.context_value())

        dialog.accepted.connect(accepted)
        dialog.open()
        self._settings_dialog = dialog

    def open_wizard(self):  # -> ui.wizard.SetupWizard
        from ui.wizard import SetupWizard

        wizard = SetupWizard(self.settings, self.backend, parent=self, hardware=self.probed)
        wizard.finished_setup.connect(self._on_wizard_done)
        wizard.closed.connect(self._on_wizard_closed)
        wizard.hardware_found.connect(self._on_wizard_hardware)
        wizard.open()
        self.wizard = wizard
        return wizard

    def _on_wizard_hardware(self, hardware: Hardware) -> None:
        if self.probed is None:
            self.set_hardware(hardware)

    def _on_wizard_closed(self, settings: st.Settings) -> None:
        self._update_settings(settings)
        self.downloads.offer_pending(settings)  # a download paused in the wizard can be resumed from here
        if self.probed is None and self._probe_on_show and self.reprobe_button.isEnabled():
            self.start_probe()

    def _on_wizard_done(self, settings: st.Settings, hardware: Hardware | None, model: Model | None, plan) -> None:
        self._update_settings(settings)
        from advisor.wizard import Page

        wizard = getattr(self, "wizard", None)
        row = wizard.pages[Page.DOWNLOAD].hand_over() if wizard is not None else None
        if row is not None:  # a download started in the wizard goes on here
            self.downloads.adopt(row)
            self.downloads_dock.show()
        if hardware is not None:
            self.probed = hardware
            self.hardware = st.apply_overrides(hardware, settings.preferences.overrides)
            self.correct_button.setEnabled(True)
            self.hardware_label.setText("\n".join(hardware_lines(self.hardware)))
        if model is not None and plan is not None:
            self._plan_generation += 1
            self._on_planned(self._plan_generation, model, plan)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Rigfit",
            f"<h3>Rigfit {advisor.__version__}</h3>"
            "<p>Will this model run on my machine, in which quantization, how fast, and what could go wrong?</p>"
            "<p>Rigfit plans GGUF models for llama.cpp on your hardware and downloads the files you choose.</p>",
        )

    # --- settings and geometry ---------------------------------------------------------------------------------

    def _update_settings(self, settings: st.Settings) -> None:
        self.settings = settings
        if self._save_settings:
            try:
                st.save(settings)
            except Exception as exc:
                show_error(self, exc)

    def _restore_geometry(self) -> None:
        ui_state = self.settings.ui
        try:
            if ui_state.window_geometry:
                self.restoreGeometry(QByteArray(base64.b64decode(ui_state.window_geometry)))
            if ui_state.window_state:
                self.restoreState(QByteArray(base64.b64decode(ui_state.window_state)))
        except ValueError:
            pass  # a damaged value only costs the saved window size

    def closeEvent(self, event: QCloseEvent) -> None:
        geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode()
        state = base64.b64encode(bytes(self.saveState().data())).decode()
        self._update_settings(
            self.downloads.remember_pending(self.settings.with_ui(window_geometry=geometry, window_state=state))
        )
        self.downloads.pause_all()
        workers.cancel_all()
        super().closeEvent(event)
