"""Paints the verdict column as a coloured badge with words, so colour is never the only signal."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ui.models import Role
from ui.style import VERDICT_COLOURS, text_on


class VerdictBadgeDelegate(QStyledItemDelegate):
    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        verdict = index.data(Role.VERDICT)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if verdict is None or not text:
            super().paint(painter, option, index)
            return
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = VERDICT_COLOURS[verdict]
        metrics = option.fontMetrics
        w = min(option.rect.width() - 8, metrics.horizontalAdvance(text) + 16)
        h = min(option.rect.height() - 4, metrics.height() + 6)
        badge = QRectF(option.rect.left() + 4, option.rect.center().y() - h / 2 + 1, w, h)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(QPen(option.palette.highlightedText().color(), 1.5) if selected else Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(badge, h / 2, h / 2)
        painter.setPen(text_on(colour))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width() + 20, max(base.height(), option.fontMetrics.height() + 10))
