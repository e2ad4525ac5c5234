"""Settings > Preferences: download folder, Hub token (keyring or `hf auth login`), KV cache type, flash attention."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from advisor import settings as st

FLASH_CHOICES = (("Automatic (llama.cpp decides)", None), ("On", True), ("Off", False))


class SettingsDialog(QDialog):
    def __init__(self, settings: st.Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rigfit settings")
        self._settings = settings
        prefs = settings.preferences
        self.folder = QLineEdit(str(st.download_dir(settings)))
        self.folder.setAccessibleName("Download folder")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        self.kv_type = QComboBox()
        for kv in st.KV_TYPES:
            self.kv_type.addItem(kv, kv)
        self.kv_type.setCurrentIndex(max(0, self.kv_type.findData(prefs.kv_type)))
        self.kv_type.setToolTip("Smaller types (q8_0, q4_0) fit a longer context but need flash attention for V.")
        self.flash = QComboBox()
        for label, value in FLASH_CHOICES:
            self.flash.addItem(label, value)
        self.flash.setCurrentIndex([v for _, v in FLASH_CHOICES].index(prefs.flash_attention))

        self.store = st.token_store()
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("Hugging Face token")
        self.token.setPlaceholderText("hf_… (only needed for gated or private models)")
        self.token_note = QLabel()
        self.token_note.setWordWrap(True)
        if self.store.available:
            has = st.stored_token() is not None
            self.token_note.setText(
                "Saved in your system keyring." if has else "Stored in your system keyring, never in a plain file."
            )
            self.forget = QPushButton("&Forget saved token")
            self.forget.setEnabled(has)
            self.forget.clicked.connect(self._forget_token)
        else:
            self.token.setEnabled(False)
            self.token_note.setText(self.store.reason or "")
            self.forget = None

        form = QFormLayout()
        folder_label = QLabel("&Download folder:")
        folder_label.setBuddy(self.folder)  # a label on a layout cannot find its buddy by itself
        form.addRow(folder_label, folder_row)
        form.addRow("&KV cache type:", self.kv_type)
        form.addRow("&Flash attention:", self.flash)
        form.addRow("Hub &token:", self.token)
        form.addRow("", self.token_note)
        if self.forget is not None:
            form.addRow("", self.forget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Download models to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _forget_token(self) -> None:
        st.store_token(None)
        self.token_note.setText("The saved token was removed.")
        if self.forget is not None:
            self.forget.setEnabled(False)

    def result_settings(self) -> st.Settings:
        """The settings with this dialog's values (the token is stored separately by ``apply_token``)."""
        folder = self.folder.text().strip()
        default = str(st.default_download_dir())
        return self._settings.with_preferences(
            download_dir=None if not folder or folder == default else folder,
            kv_type=self.kv_type.currentData(),
            flash_attention=self.flash.currentData(),
        )

    def apply_token(self) -> None:
        if self.store.available and self.token.text().strip():
            st.store_token(self.token.text().strip())
