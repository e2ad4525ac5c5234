"""Choose a model three ways: the bundled catalog (MiniMax M2.7 first), a Hub repo id, or a local GGUF file."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ui.backend import CatalogChoice


class ModelPicker(QWidget):
    """Signals:
    model_chosen(str): a catalog id, a Hub repo id or a .gguf path, exactly as ``resolve_model`` takes it.
    """

    model_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = QComboBox()
        self.catalog.setAccessibleName("Catalog model")
        self.catalog.setMinimumContentsLength(28)
        self.catalog.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.catalog_detail = QLabel()
        self.catalog_detail.setWordWrap(True)
        self.use_catalog = QPushButton("&Plan this model")
        self.repo = QLineEdit()
        self.repo.setPlaceholderText("owner/name, e.g. unsloth/MiniMax-M2.7-GGUF")
        self.repo.setAccessibleName("Hugging Face repository")
        self.use_repo = QPushButton("Plan &repository")
        self.open_file = QPushButton("Open &GGUF file…")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        catalog_label = QLabel("&Catalog:")
        catalog_label.setBuddy(self.catalog)
        repo_label = QLabel("&Hub repo:")
        repo_label.setBuddy(self.repo)
        grid.addWidget(catalog_label, 0, 0)
        grid.addWidget(self.catalog, 0, 1)
        grid.addWidget(self.use_catalog, 0, 2)
        grid.addWidget(self.catalog_detail, 1, 1, 1, 2)
        grid.addWidget(repo_label, 2, 0)
        grid.addWidget(self.repo, 2, 1)
        grid.addWidget(self.use_repo, 2, 2)
        grid.addWidget(QLabel("Or a file on this computer:"), 3, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.open_file, 3, 2)
        grid.setColumnStretch(1, 1)

        self.catalog.currentIndexChanged.connect(self._on_catalog_index)
        self.use_catalog.clicked.connect(self._choose_catalog)
        self.use_repo.clicked.connect(self._choose_repo)
        self.repo.returnPressed.connect(self._choose_repo)
        self.open_file.clicked.connect(self._choose_file)
        self.set_choices([])

    def set_choices(self, choices: list[CatalogChoice]) -> None:
        self.catalog.blockSignals(True)
        self.catalog.clear()
        for c in choices:
            self.catalog.addItem(c.name, c.id)
            self.catalog.setItemData(self.catalog.count() - 1, c.detail, Qt.ItemDataRole.ToolTipRole)
        self.catalog.blockSignals(False)
        has = bool(choices)
        self.catalog.setEnabled(has)
        self.use_catalog.setEnabled(has)
        if not has:
            self.catalog.addItem("(no bundled catalog)")
        self._on_catalog_index(self.catalog.currentIndex())

    def select(self, name: str | None) -> None:
        """Show ``name`` as the current choice (catalog entry, or the repo field)."""
        if not name:
            return
        index = self.catalog.findData(name)
        if index >= 0:
            self.catalog.setCurrentIndex(index)
        elif "/" in name and not name.lower().endswith(".gguf"):
            self.repo.setText(name)

    def _on_catalog_index(self, index: int) -> None:
        detail = self.catalog.itemData(index, Qt.ItemDataRole.ToolTipRole) if index >= 0 else None
        self.catalog_detail.setText(detail or "")

    def current_catalog_id(self) -> str | None:
        data = self.catalog.currentData()
        return data if isinstance(data, str) else None

    def _choose_catalog(self) -> None:
        model_id = self.current_catalog_id()
        if model_id:
            self.model_chosen.emit(model_id)

    def _choose_repo(self) -> None:
        text = self.repo.text().strip()
        if text:
            self.model_chosen.emit(text)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.model_chosen.emit(path)
