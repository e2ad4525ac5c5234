"""The wizard's pages. Each one shows ``WizardState`` and reports what the user did; none decides navigation."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWizardPage,
)

from advisor import settings as st
from advisor.download.manual import manual_download
from advisor.format import file_size, verdict_label
from advisor.model.companions import companions_for
from advisor.model.types import Model, RepoFile
from advisor.plan.command import shell_command, with_model_at
from advisor.plan.types import Plan
from advisor.wizard import (
    PAGE_TITLES,
    Page,
    blocker,
    files_already_present,
    licence_summary,
    needs_licence_acknowledgement,
    recommendation_sentence,
    risks_by_severity,
)
from ui import workers
from ui.detail_pane import command_box, risk_html, sentence
from ui.download_dialog import (
    FreeSpaceLine,
    LiveFileList,
    OptionalFiles,
    choose_folder,
    files_text,
    show_list_checking,
    show_list_confirmed,
    show_list_failed,
)
from ui.downloads import DownloadRow, pending_for, spec_for
from ui.errors import show_error
from ui.model_picker import ModelPicker
from ui.models import Column, OptionsTableModel
from ui.widgets.badge import VerdictBadgeDelegate

if TYPE_CHECKING:
    from ui.wizard.wizard import SetupWizard


def _paragraph(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class WizardPage(QWizardPage):
    PAGE: Page

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__()
        self.setup = wizard
        self.setTitle(PAGE_TITLES[self.PAGE])
        self.body = QVBoxLayout()
        self.blocker_label = QLabel()
        self.blocker_label.setWordWrap(True)
        self.blocker_label.setStyleSheet("color: palette(placeholder-text)")
        outer = QVBoxLayout(self)
        outer.addLayout(self.body, 1)
        outer.addWidget(self.blocker_label)

    def isComplete(self) -> bool:
        return blocker(self.PAGE, self.setup.state) is None

    def refresh_blocker(self) -> None:
        reason = blocker(self.PAGE, self.setup.state)
        self.blocker_label.setText(reason or "")
        self.completeChanged.emit()

    def initializePage(self) -> None:
        self.refresh_blocker()


class WelcomePage(WizardPage):
    PAGE = Page.WELCOME

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("Find out which AI models your computer can run, and get one ready in a few steps.")
        self.body.addWidget(
            _paragraph(
                "Rigfit looks at your processor, memory and graphics card, then works out how a model would run "
                "with llama.cpp: whether it fits, how fast it answers, and what could go wrong.\n\n"
                "In the next steps you will:\n"
                "  1. check what Rigfit found about your hardware,\n"
                "  2. pick a model,\n"
                "  3. pick a size (quantization): smaller files run faster, larger ones answer better,\n"
                "  4. review licence and driver warnings,\n"
                "  5. download the files, and get the command that starts the model.\n\n"
                "Nothing is downloaded until you press Start on the download page. You can open this guide again "
                "any time from Help > Setup wizard."
            )
        )
        self.body.addStretch(1)


class ModelPage(WizardPage):
    PAGE = Page.MODEL

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("Pick a model from the catalog, type a Hugging Face repository, or open a GGUF file.")
        self.picker = ModelPicker()
        self.picker.model_chosen.connect(self.choose)
        self.result = _paragraph("")
        self.body.addWidget(
            _paragraph(
                "The catalog lists models Rigfit knows in detail, so it can plan them without downloading anything. "
                "Any other model in GGUF format works too: type its Hugging Face repository (owner/name), and "
                "Rigfit reads only the headers of its files; or open a .gguf file you already have."
            )
        )
        self.body.addWidget(self.picker)
        self.body.addWidget(self.result)
        self.body.addStretch(1)
        self._generation = 0
        workers.run_task(lambda _ctx: wizard.backend.catalog(), on_done=self._on_catalog, name="catalog")

    def _on_catalog(self, choices: list) -> None:
        self.picker.set_choices(choices)
        self.picker.select(self.setup.settings.preferences.last_model)

    def initializePage(self) -> None:
        super().initializePage()
        state = self.setup.state
        if state.plan is None and state.model_name:  # the machine was corrected: plan the same model again
            self.choose(state.model_name)

    def choose(self, name: str) -> None:
        hardware = self.setup.state.hardware
        if hardware is None:
            return
        self._generation += 1
        generation = self._generation
        self.result.setText(f"Reading {name} and planning it for your machine…")
        self.setup.update_state(model_name=name, plan=None)
        backend, token = self.setup.backend, st.stored_token()
        options = st.plan_options(self.setup.settings)

        def work(ctx: workers.TaskContext) -> tuple[Model, Plan]:
            model = backend.resolve(name, token, ctx.progress)
            return model, backend.plan(model, hardware, options)

        workers.run_task(
            work,
            on_done=lambda result: self._planned(generation, *result),
            on_progress=lambda msg: self.result.setText(str(msg)),
            on_error=self._failed,
            name="resolve+plan",
        )

    def _failed(self, exc: BaseException) -> None:
        self.result.setText("That did not work; see the message, then try another model.")
        show_error(self, exc)

    def _planned(self, generation: int, model: Model, plan: Plan) -> None:
        if generation != self._generation:
            return
        self.setup.model = model
        self.setup.update_state(plan=plan)
        self.result.setText(
            f"{plan.model.name}: {len(plan.options)} quantizations planned for your machine. "
            "Press Next to compare them."
        )


class QuantPage(WizardPage):
    PAGE = Page.QUANT

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("Smaller files run faster and fit more context; larger ones answer better.")
        self.why = _paragraph("")
        font = self.why.font()
        font.setBold(True)
        self.why.setFont(font)
        self.model = OptionsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegateForColumn(Column.VERDICT, VerdictBadgeDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setTabKeyNavigation(False)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._on_row(cur.row()))
        self.body.addWidget(self.why)
        self.body.addWidget(self.table, 1)

    def initializePage(self) -> None:
        state = self.setup.state
        self.model.set_plan(state.plan)
        if state.plan is not None:
            self.why.setText(recommendation_sentence(state.plan))
        row = self.model.row_of(state.quant)
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
        super().initializePage()

    def _on_row(self, row: int) -> None:
        option = self.model.option_at(row)
        if option is not None and option.quant != self.setup.state.quant:
            self.setup.update_state(quant=option.quant)

    def validatePage(self) -> bool:
        self.setup.check_missing_files()
        return True


class RisksPage(WizardPage):
    PAGE = Page.RISKS

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("What could go wrong with this choice, and what to do about it.")
        self.licence = _paragraph("")
        self.tick = QCheckBox()
        self.tick.toggled.connect(lambda on: self.setup.update_state(licence_acknowledged=on))
        licence_box = QGroupBox("Licence")
        lay = QVBoxLayout(licence_box)
        lay.addWidget(self.licence)
        lay.addWidget(self.tick)
        self.risks = QLabel()
        self.risks.setWordWrap(True)
        self.risks.setTextFormat(Qt.TextFormat.RichText)
        self.risks.setOpenExternalLinks(True)
        self.risks.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        risks_box = QGroupBox("Warnings for this option")
        QVBoxLayout(risks_box).addWidget(self.risks)
        self.body.addWidget(licence_box)
        self.body.addWidget(risks_box)
        self.body.addStretch(1)

    def initializePage(self) -> None:
        state = self.setup.state
        plan, option = state.plan, state.option
        if plan is not None:
            self.licence.setText(licence_summary(plan))
            needs = needs_licence_acknowledgement(plan)
            self.tick.setVisible(needs)
            self.tick.setText(
                f"I will use {plan.model.name} only for non-commercial purposes, as its licence requires."
            )
            self.tick.blockSignals(True)
            self.tick.setChecked(state.licence_acknowledged)
            self.tick.blockSignals(False)
        if option is not None:
            risks = risks_by_severity(option)
            reason = html.escape(sentence(option.verdict_reason))
            header = f"<p><b>{option.quant}</b>: {verdict_label(option.verdict)}. {reason}</p>"
            body = "".join(risk_html(r) for r in risks) if risks else "<p>No risks found for this option.</p>"
            self.risks.setText(header + body)
        super().initializePage()


class DownloadPage(WizardPage):
    PAGE = Page.DOWNLOAD

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("Download the files. You can pause and continue later, even after closing Rigfit.")
        self.summary = _paragraph("")
        self.files = _paragraph("")
        self.files.setStyleSheet("font-family: monospace")
        self.optional = OptionalFiles()
        self.optional.changed.connect(self._check_space)
        self.folder = _paragraph("")
        self.change_folder = QPushButton("C&hange folder…")
        self.change_folder.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.change_folder)
        self.space_line = FreeSpaceLine()
        self.space_line.checked.connect(self._space_checked)
        self.list_note = _paragraph("")
        self.list_note.hide()
        self.live = LiveFileList(self)
        self.live.ready.connect(self._list_confirmed)
        self.live.failed.connect(self._list_failed)
        self.start_button = QPushButton("&Start download")
        self.start_button.clicked.connect(self.start)
        self.skip_button = QPushButton("S&kip: I will download the files myself")
        self.skip_button.clicked.connect(self.skip)
        self.row_holder = QVBoxLayout()
        self.body.addWidget(self.summary)
        self.body.addWidget(self.files)
        self.body.addWidget(self.list_note)
        self.body.addWidget(self.optional)
        self.body.addLayout(folder_row)
        self.body.addWidget(self.space_line)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.skip_button)
        buttons.addStretch(1)
        self.body.addLayout(buttons)
        self.body.addLayout(self.row_holder)
        self.body.addStretch(1)
        self.row: DownloadRow | None = None
        wizard.state_changed.connect(self._show_summary)
        self._shown_quant: str | None = None
        self._folder_dialog = None

    def initializePage(self) -> None:
        state = self.setup.state
        option = state.option
        if self.row is not None and self.row.spec.quant != (option.quant if option else None):
            self.row.hide()
            self.row = None
        if option is not None and state.download_dir:
            self._show_summary()
            model = self.setup.model
            if option.quant != self._shown_quant:
                self.files.setText(files_text(tuple(option.files)))
                companions = companions_for(model, option.quant) if model is not None else ()
                self.optional.set_files(companions, Path(state.download_dir))
                self._shown_quant = option.quant
                if model is not None and self.row is None:
                    self.live.start(model, option.quant, tuple(option.files), companions)
                    show_list_checking(self.list_note, option.quant, self.live.needed)
            self._show_folder()
        choosing = self.row is None
        for widget in (self.start_button, self.change_folder, self.skip_button):
            widget.setVisible(choosing)
        self.optional.setEnabled(choosing)
        super().initializePage()

    def _show_summary(self, *_: object) -> None:
        """How many files are still missing (the count arrives from a worker, possibly after the page opens)."""
        state = self.setup.state
        option = state.option
        if option is None:
            return
        total = f"{option.quant}: {len(option.files)} file(s), {file_size(option.size_bytes)} in total"
        if state.missing_files is None:
            self.summary.setText(f"{total}.")
        elif not state.missing_files:
            self.summary.setText(f"{total}; every file is already in the folder.")
        else:
            self.summary.setText(f"{total}; {len(state.missing_files)} still to download.")

    def choose_folder(self):  # -> QFileDialog
        start = Path(self.setup.state.download_dir or Path.home())
        self._folder_dialog = choose_folder(self, start, self.set_folder)
        return self._folder_dialog

    def set_folder(self, folder: Path) -> None:
        """Download into ``folder`` instead (this setup only; Settings > Preferences sets the default)."""
        self.setup.update_state(download_dir=str(folder), missing_files=None)
        self.setup.check_missing_files()
        self.optional.set_dest(folder)
        self._show_folder()

    def _show_folder(self) -> None:
        self.folder.setText(f"Into: {self.setup.state.download_dir}")
        self._check_space()

    def shards(self) -> tuple[RepoFile, ...]:
        """The chosen option's files: the Hub's list once it answered, else the plan's."""
        option = self.setup.state.option
        return self.live.shards(tuple(option.files)) if option else ()

    def _chosen_files(self) -> tuple[RepoFile, ...]:
        return self.shards() + self.optional.chosen()

    def _list_confirmed(self, confirmed) -> None:
        option, model = self.setup.state.option, self.setup.model
        if option is None or model is None:
            return
        self.files.setText(files_text(self.shards()))
        companions = self.live.companions(companions_for(model, option.quant))
        self.optional.replace_files(companions, Path(self.setup.state.download_dir or "."))
        show_list_confirmed(self.list_note, confirmed)
        self._check_space()

    def _list_failed(self, message: str) -> None:
        show_list_failed(self.list_note, message)
        self.start_button.setEnabled(False)

    def _check_space(self) -> None:
        model, state = self.setup.model, self.setup.state
        if model is None or state.option is None or not state.download_dir or self.row is not None:
            return
        self.start_button.setEnabled(False)  # until the free space is known
        self.space_line.check(
            model.repo or "", model.revision or "main", self._chosen_files(), Path(state.download_dir)
        )

    def _space_checked(self, fits: bool) -> None:
        self.start_button.setEnabled(fits and self.row is None and self.live.settled)

    def start(self) -> None:
        state = self.setup.state
        model = self.setup.model
        if state.option is None or model is None or not state.download_dir:
            return
        spec = spec_for(model, state.option, state.download_dir, self.optional.chosen(), self.shards())
        self.row = DownloadRow(spec, self)
        self.row.state_changed.connect(self._on_row_state)
        self.row_holder.addWidget(self.row)
        for widget in (self.start_button, self.change_folder, self.skip_button):
            widget.hide()
        self.optional.setEnabled(False)
        self.setup.update_state(download_started=True, download_skipped=False)
        self.row.start()

    def skip(self) -> None:
        """The user fetches the files another way: go on; the Done page says how and where."""
        self.setup.update_state(download_skipped=True)
        self.setup.next()

    def manual_files(self) -> tuple[RepoFile, ...]:
        """What to fetch by hand: the Hub's list when it answered, with the ticked optional files."""
        return self._chosen_files()

    def _on_row_state(self, row_state: str) -> None:
        if row_state == "done":
            self.setup.update_state(download_finished=True)
        elif row_state == "cancelled":
            self.setup.update_state(download_started=False)  # given up: Next waits for a new start
        elif row_state == "downloading" and not self.setup.state.download_started:
            self.setup.update_state(download_started=True)  # started again from the row's own button
        self.refresh_blocker()

    def hand_over(self) -> DownloadRow | None:
        """The download still under way (or paused), detached from this page for the main window to keep."""
        row = self.row
        if row is None or row.state not in ("downloading", "paused", "failed"):
            return None
        row.state_changed.disconnect(self._on_row_state)
        self.row_holder.removeWidget(row)
        row.setParent(None)
        self.row = None
        return row

    def pause(self) -> None:
        if self.row is not None and self.row.state == "downloading" and self.row.token is not None:
            self.row.token.pause()

    def remember_pending(self, settings: st.Settings) -> st.Settings:
        row = self.row
        if row is None or row.state not in ("downloading", "paused", "failed"):
            return settings
        pending = pending_for(row.spec)
        others = tuple(p for p in settings.ui.pending_downloads if p != pending)
        return settings.with_ui(pending_downloads=(*others, pending))


class DonePage(WizardPage):
    PAGE = Page.DONE

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.setSubTitle("The model is ready. Start it with the command below.")
        self.intro = _paragraph("")
        self.command = command_box()
        self.copy_button = QPushButton("Cop&y command")
        self.copy_button.clicked.connect(self.copy_command)
        self.folder_button = QPushButton("Open &folder")
        self.folder_button.clicked.connect(self.open_folder)
        self.report_button = QPushButton("&Export report…")
        self.report_button.clicked.connect(self.export_report)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.report_button)
        buttons.addStretch(1)
        self.next_steps = _paragraph(
            "Run the command in a terminal on a machine where llama.cpp's llama-server is installed, then open "
            "the web address it prints in your browser to chat. The main window shows every option in detail: "
            "move its context slider to see how memory and speed change."
        )
        self.body.addWidget(self.intro)
        self.body.addWidget(self.command)
        self.body.addLayout(buttons)
        self.body.addWidget(self.next_steps)
        self.body.addStretch(1)
        self.setFinalPage(True)

    def initializePage(self) -> None:
        state = self.setup.state
        option = state.option
        if option is not None:
            name = f"{state.plan.model.name} · {option.quant}"
            ready = state.download_finished or files_already_present(state)
            self.setSubTitle(
                "The model is ready. Start it with the command below."
                if ready
                else "Once the files are in place, start the model with the command below."
            )
            if ready:
                self.intro.setText(f"{name} is in {state.download_dir}.")
            elif state.download_skipped and self.setup.model is not None and self.setup.model.repo:
                manual = manual_download(
                    self.setup.model.repo, self.setup.pages[Page.DOWNLOAD].manual_files(), state.download_dir or "."
                )
                self.intro.setText(
                    f"{html.escape(name)} is not downloaded yet. "
                    f"Fetch it into {html.escape(state.download_dir or '.')}, for example with the Hub's own tool "
                    f"({html.escape(manual.install)}):"
                    f"<br><code>{html.escape(manual.command)}</code><br>"
                    "then run the command below."
                )
            else:
                self.intro.setText(
                    f"{name} is downloading into {state.download_dir}. It goes on in the main window's Downloads "
                    "panel after you press Finish; run the command below once it is done."
                )
            self.command.setPlainText(self._command(option))
        super().initializePage()

    def _command(self, option) -> str:
        """The plan's command, with ``-m`` where this setup put the files (its folder, the Hub's file names)."""
        state = self.setup.state
        if not option.llama_cpp_argv:
            return option.llama_cpp_command
        # started or skipped here: the page's list (the Hub's for a catalog quant); else the files already there
        fetched = state.download_started or state.download_skipped
        files = self.setup.pages[Page.DOWNLOAD].shards() if fetched else tuple(option.files)
        return shell_command(with_model_at(tuple(option.llama_cpp_argv), files, state.download_dir))

    def copy_command(self) -> None:
        QGuiApplication.clipboard().setText(self.command.toPlainText())
        self.copy_button.setText("Copied")

    def open_folder(self) -> None:
        if self.setup.state.download_dir:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.setup.state.download_dir))

    def export_report(self) -> None:
        from ui.report_actions import export_report

        state = self.setup.state
        export_report(self, state.hardware, state.plan, state.quant)
