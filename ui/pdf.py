"""PDF reports through Qt's own PDF writer (no extra dependency), on A4 or Letter by locale."""

from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QLocale, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QGuiApplication, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument
from PySide6.QtSvg import QSvgRenderer

from advisor.report.build import Report
from advisor.report.html import render_html
from advisor.report.svg import memory_chart_svg

CHART_URL = "rigfit://memory-chart.png"


def _ensure_app() -> None:
    """The CLI may export a PDF without a window: start a GUI app offscreen when no display exists."""
    if QGuiApplication.instance() is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and os.name == "posix":
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        QGuiApplication([])


def page_size_for_locale(locale: QLocale | None = None) -> QPageSize:
    locale = locale or QLocale.system()
    us_letter = locale.measurementSystem() == QLocale.MeasurementSystem.ImperialUSSystem or locale.territory() in (
        QLocale.Country.UnitedStates,
        QLocale.Country.Canada,
    )
    return QPageSize(QPageSize.PageSizeId.Letter if us_letter else QPageSize.PageSizeId.A4)


def _chart_image(report: Report) -> QImage | None:
    chosen = report.chosen
    if chosen is None or not chosen.memory:
        return None
    renderer = QSvgRenderer(QByteArray(memory_chart_svg(chosen).encode()))
    size = renderer.defaultSize() * 2
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def render_pdf(report: Report, *, page_size: QPageSize | None = None) -> bytes:
    _ensure_app()
    chart = _chart_image(report)
    doc = QTextDocument()
    if chart is not None:
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(CHART_URL), chart.scaledToWidth(640))
    doc.setHtml(render_html(report, chart_image=CHART_URL if chart is not None else None))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle("Rigfit hardware report")
    writer.setCreator(f"Rigfit {report.app_version}")
    writer.setPageLayout(
        QPageLayout(page_size or page_size_for_locale(), QPageLayout.Orientation.Portrait, QMarginsF(15, 15, 15, 15))
    )
    writer.setResolution(96)
    layout = writer.pageLayout()
    rect = layout.paintRectPixels(writer.resolution())
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    doc.print_(writer)
    del writer
    buffer.close()
    return bytes(data.data())
