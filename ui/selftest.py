"""``rigfit --self-test``: prove an installed or frozen build works end to end, without a screen.

Opens the main window offscreen, probes this machine, plans MiniMax M2.7 from the bundled catalog, renders the
window, and exits 0; any failure exits non-zero with the step that broke. CI runs it on the frozen bundle.
"""

from __future__ import annotations

import os
import sys
import time
import traceback


def run_self_test(out=None) -> int:
    out = out or sys.stdout
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    step = "starting Qt"
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(["rigfit", "-platform", os.environ["QT_QPA_PLATFORM"]])
        step = "opening the main window"
        from ui.app import MainWindow

        window = MainWindow()
        window.show()
        app.processEvents()
        step = "probing this machine"
        from advisor.hardware.probe import probe

        hardware = probe(measure_bandwidth=False)
        print(
            f"probe: {hardware.cpu.name or 'CPU'}, {hardware.memory.total_bytes / 2**30:.1f} GiB RAM, "
            f"{len(hardware.gpus)} GPU(s)",
            file=out,
        )
        step = "loading MiniMax M2.7 from the bundled catalog"
        from advisor.model.catalog import load_catalog_model

        model = load_catalog_model("minimax-m2.7")
        step = "planning MiniMax M2.7"
        from advisor.plan.planner import plan
        from advisor.plan.types import PlanOptions

        result = plan(model, hardware, PlanOptions(context=32768))
        if not result.options:
            raise RuntimeError("the plan has no options")
        for option in result.options:
            print(f"plan: {option.quant:<12} {option.verdict.value}", file=out)
        step = "rendering the window"
        show = getattr(window, "show_plan", None)
        if callable(show):
            show(result)
        app.processEvents()
        image = window.grab()
        if image.isNull() or image.width() < 200:
            raise RuntimeError("the window rendered nothing")
        window.close()
    except Exception as exc:
        print(f"self-test FAILED while {step}: {exc}", file=out)
        traceback.print_exc(file=out)
        return 1
    print(f"self-test passed in {time.perf_counter() - started:.1f} s", file=out)
    return 0
