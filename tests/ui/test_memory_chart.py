"""The memory chart paints each device's parts in its colours, in light and dark palettes."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette

from tests.fixtures.plans import minimax_plan, two_gpu_machine
from ui.hardware_view import device_titles
from ui.style import PART_COLOURS
from ui.widgets.memory_chart import MemoryChart


def _palette(dark: bool) -> QPalette:
    p = QPalette()
    window, text = (QColor("#202124"), QColor("#e8eaed")) if dark else (QColor("#ffffff"), QColor("#000000"))
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
        p.setColor(role, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    return p


def _colours(image) -> set[str]:
    seen = set()
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 3):
            seen.add(QColor(image.pixel(x, y)).name())
    return seen


@pytest.mark.parametrize("dark", [False, True])
def test_chart_paints_every_part_and_reads_in_both_palettes(qtbot, dark: bool) -> None:
    hw = two_gpu_machine()
    option = minimax_plan(hw).options[0]
    chart = MemoryChart()
    qtbot.addWidget(chart)
    chart.setPalette(_palette(dark))
    chart.set_option(option, device_titles(hw))
    chart.resize(600, chart.sizeHint().height())
    image = chart.grab().toImage()
    colours = _colours(image)
    for key in ("weights", "kv", "compute", "reserve"):
        assert PART_COLOURS[key].name() in colours, key
    background = "#202124" if dark else "#ffffff"
    assert background in colours
    assert chart.sizeHint().height() > 3 * 26  # three devices, none cut off
    text = chart.describe()
    assert "GPU 0: NVIDIA GeForce RTX 4090: 23.5 GiB of 24.0 GiB" in text
    assert "System RAM" in text and "KV cache 4.0 GiB" in text


def test_empty_chart_says_what_to_do(qtbot) -> None:
    chart = MemoryChart()
    qtbot.addWidget(chart)
    chart.set_option(None)
    assert chart.devices() == () and chart.describe() == ""
    assert not chart.grab().isNull()


def test_overflow_past_capacity_is_marked(qtbot) -> None:
    from dataclasses import replace

    from ui.style import BAD

    option = minimax_plan(two_gpu_machine()).options[0]
    too_big = replace(option, memory=(replace(option.memory[0], weights_bytes=30 * 2**30),))
    chart = MemoryChart()
    qtbot.addWidget(chart)
    chart.set_option(too_big)
    chart.resize(600, chart.sizeHint().height())
    assert "does not fit" in chart.describe()
    assert BAD.name() in _colours(chart.grab().toImage())  # the capacity line is drawn in red
