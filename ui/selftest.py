"""``rigfit --self-test``: prove an installed or frozen build works end to end, without a screen.

Opens the main window offscreen, probes this machine, plans MiniMax M2.7 from the bundled catalog, shows the
plan in the window, renders it, and exits 0; any failure exits non-zero with the step that broke. CI runs it on
the frozen bundle. It never touches the user's settings (a temporary config folder) and opens no dialog.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator


@contextlib.contextmanager
def isolated_environment() -> Iterator[str]:
    """A throw-away config folder (``RIGFIT_CONFIG_DIR``) and errors printed instead of shown in dialogs."""
    saved = {k: os.environ.get(k) for k in ("RIGFIT_CONFIG_DIR", "RIGFIT_NO_ERROR_DIALOGS")}
    with tempfile.TemporaryDirectory(prefix="rigfit-self-test-") as config:
        os.environ["RIGFIT_CONFIG_DIR"] = config
        os.environ["RIGFIT_NO_ERROR_DIALOGS"] = "1"
        try:
            yield config
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run_self_test(out=None) -> int:
    out = out or sys.stdout
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with isolated_environment():
        return _run(out)


def _run(out) -> int:
    started = time.perf_counter()
    step = "starting Qt"
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(["rigfit", "-platform", os.environ["QT_QPA_PLATFORM"]])
        step = "opening the main window"
        from advisor import settings as st
        from ui.app import MainWindow

        # the wizard is a modal dialog: mark the first run done; the self-test probes and plans by itself
        window = MainWindow(st.Settings().with_ui(first_run_done=True), probe_on_show=False)
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
        window.show_plan(result)
        app.processEvents()
        if window.options_model.rowCount() != len(result.options):
            raise RuntimeError(
                f"the window lists {window.options_model.rowCount()} options, the plan has {len(result.options)}"
            )
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
