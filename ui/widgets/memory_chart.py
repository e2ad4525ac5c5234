"""Stacked memory bars, one per device: weights, KV cache, compute buffers and reserve against capacity.

Every byte comes from the plan's ``DeviceMemory``; the chart only draws it. Colours are strong hues that read
on light and dark windows; labels use the palette's text colour, so the chart follows the system theme.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from advisor.format import mem_size
from advisor.plan.types import DeviceMemory, OptionPlan
from ui.style import BAD, PART_COLOURS

PARTS = (("weights", "Weights"), ("kv", "KV cache"), ("compute", "Compute"), ("reserve", "Reserve"))
ROW_HEIGHT = 26
ROW_GAP = 16
LEGEND_HEIGHT = 26


def part_bytes(device: DeviceMemory) -> dict[str, int]:
    """The plan's bytes by chart part (output buffers are drawn with the compute buffers)."""
    return {
        "weights": device.weights_bytes,
        "kv": device.kv_bytes,
        "compute": device.compute_bytes + device.output_bytes,
        "reserve": device.other_bytes,
    }


class MemoryChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._devices: tuple[DeviceMemory, ...] = ()
        self._titles: dict[str, str] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Memory chart")

    def set_option(self, option: OptionPlan | None, titles: dict[str, str] | None = None) -> None:
        """Show ``option``'s memory; ``titles`` names devices ("CUDA0" -> "GPU 0: RTX 4090")."""
        self._devices = option.memory if option else ()
        self._titles = titles or {}
        self.setAccessibleDescription(self.describe())
        self.updateGeometry()
        self.update()

    def devices(self) -> tuple[DeviceMemory, ...]:
        return self._devices

    def describe(self) -> str:
        """The chart in words (screen readers, tooltips, tests)."""
        lines = []
        for d in self._devices:
            parts = ", ".join(f"{label} {mem_size(part_bytes(d)[key])}" for key, label in PARTS if part_bytes(d)[key])
            cap = f" of {mem_size(d.capacity_bytes)}" if d.capacity_bytes else ""
            over = " — does not fit" if d.capacity_bytes and d.total_bytes > d.capacity_bytes else ""
            lines.append(f"{self._title(d)}: {mem_size(d.total_bytes)}{cap}{over} ({parts})")
        return "\n".join(lines)

    def _title(self, d: DeviceMemory) -> str:
        return self._titles.get(d.device, d.device)

    def sizeHint(self) -> QSize:
        rows = max(1, len(self._devices))
        return QSize(480, rows * (ROW_HEIGHT + ROW_GAP + 14) + LEGEND_HEIGHT + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(320, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        track = palette.color(QPalette.ColorRole.Base)
        outline = palette.color(QPalette.ColorRole.Mid)
        metrics = painter.fontMetrics()
        width = self.width() - 2
        if not self._devices:
            painter.setPen(text)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "Choose an option to see where its memory goes."
            )
            return
        y = 4
        for d in self._devices:
            parts = part_bytes(d)
            used = d.total_bytes
            capacity = d.capacity_bytes or used or 1
            scale_to = max(capacity, used, 1)
            painter.setPen(text)
            over = used > capacity if d.capacity_bytes else False
            summary = f"{mem_size(used)} of {mem_size(d.capacity_bytes)}" if d.capacity_bytes else mem_size(used)
            if over:
                summary += " — does not fit"
            painter.drawText(QRectF(1, y, width, metrics.height()), Qt.AlignmentFlag.AlignLeft, self._title(d))
            painter.drawText(QRectF(1, y, width, metrics.height()), Qt.AlignmentFlag.AlignRight, summary)
            y += metrics.height() + 2
            bar = QRectF(1, y, width, ROW_HEIGHT)
            painter.setPen(QPen(outline, 1))
            painter.setBrush(track)
            painter.drawRoundedRect(bar, 3, 3)
            x = bar.left()
            for key, _label in PARTS:
                w = bar.width() * parts[key] / scale_to
                if w <= 0:
                    continue
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(PART_COLOURS[key])
                painter.drawRect(QRectF(x, bar.top() + 1, w, bar.height() - 2))
                x += w
            if d.capacity_bytes and over:
                cap_x = bar.left() + bar.width() * capacity / scale_to
                painter.setPen(QPen(BAD, 3))
                painter.drawLine(int(cap_x), int(bar.top() - 3), int(cap_x), int(bar.bottom() + 3))
            y += ROW_HEIGHT + ROW_GAP
        self._paint_legend(painter, y, text)

    def _paint_legend(self, painter: QPainter, y: float, text: QColor) -> None:
        metrics = painter.fontMetrics()
        x = 1.0
        for key, label in PARTS:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PART_COLOURS[key])
            box = metrics.height() - 4
            painter.drawRoundedRect(QRectF(x, y + 2, box, box), 2, 2)
            x += box + 6
            painter.setPen(text)
            painter.drawText(QRectF(x, y, metrics.horizontalAdvance(label) + 2, metrics.height()), label)
            x += metrics.horizontalAdvance(label) + 18
