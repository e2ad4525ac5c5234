"""``make screenshots``: render every setup-wizard page and the main window to PNGs in ``docs/screenshots/``.

The machine is fixed (one 24 GB GPU and 128 GB of RAM, so the pictures do not depend on where they are made);
the model, its quantizations and every number come from the bundled catalog and the real planner, exactly as
the app shows them. Run: ``python -m ui.screenshots [OUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GiB = 2**30
SIZE = (1400, 1180)
WIZARD_SIZE = (900, 680)


def screenshot_machine():  # -> Hardware
    """A typical enthusiast desktop: one RTX 4090 (24 GB), 128 GB of DDR5."""
    from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory

    return Hardware(
        cpu=Cpu(name="AMD Ryzen 9 7950X", physical_cores=16, logical_cores=32, features=("avx2", "avx512f")),
        memory=Memory(
            total_bytes=128 * GiB, available_bytes=120 * GiB, bandwidth_gbps=68.0, bandwidth_source="measured"
        ),
        gpus=(
            Gpu(
                vendor="nvidia",
                name="NVIDIA GeForce RTX 4090",
                vram_total_bytes=24 * GiB,
                vram_free_bytes=23 * GiB,
                bandwidth_gbps=1008.0,
                bandwidth_source="spec",
                compute_capability="8.9",
                driver_version="580.65.06",
                cuda_driver_version="13.0",
            ),
        ),
        disk=Disk(path="/home/you/models", free_bytes=2 * 10**12),
        llama_cpp=LlamaCpp(build="b8746", backend="cuda", cuda_version="12.8"),
        os="linux",
    )


def strix_halo(label: str, address: str | None = None):  # -> Hardware
    """A 128 GB Strix Halo box (Ryzen AI Max+ 395, Radeon 8060S with unified memory), for the cluster picture."""
    from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory

    return Hardware(
        cpu=Cpu(name="AMD Ryzen AI Max+ 395", vendor="amd", physical_cores=16, logical_cores=32),
        memory=Memory(total_bytes=128 * GiB, bandwidth_gbps=256.0, bandwidth_source="spec"),
        gpus=(
            Gpu(
                vendor="amd",
                name="Radeon 8060S Graphics",
                architecture="gfx1151",
                unified_memory=True,
                working_set_limit_bytes=126976 * 2**20,
                bandwidth_gbps=256.0,
                bandwidth_source="spec",
            ),
        ),
        disk=Disk(path="/home/you/models", free_bytes=2 * 10**12, read_gbps=6.0),
        llama_cpp=LlamaCpp(build="b8763", backend="rocm"),
        os="linux",
        label=label,
        hostname=address,
    )


def _pump(app, until: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run the event loop until ``until()`` holds (workers deliver their results through it)."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state in time")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(5):
        app.processEvents()


def render(out_dir: Path, backend=None) -> list[Path]:  # backend: ui.backend.Backend
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("RIGFIT_CONFIG_DIR", tempfile.mkdtemp(prefix="rigfit-shots-"))
    os.environ["RIGFIT_NO_ERROR_DIALOGS"] = "1"
    from PySide6.QtWidgets import QApplication, QWizard

    from advisor import settings as st
    from advisor.wizard import Page
    from ui.app import make_app
    from ui.backend import Backend
    from ui.main_window import MainWindow
    from ui.wizard import SetupWizard

    app = make_app([])
    app.setStyle("Fusion")
    QApplication.setFont(app.font())
    machine = screenshot_machine()
    backend = backend or Backend(probe=lambda: machine)
    settings = st.Settings().with_preferences(download_dir="/home/you/models", last_model="minimax-m2.7")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(widget, name: str) -> None:
        path = out_dir / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)

    wizard = SetupWizard(settings, backend)
    wizard.resize(*WIZARD_SIZE)
    wizard.show()
    _pump(app, lambda: wizard.isVisible())
    save(wizard, "wizard-1-welcome")
    wizard.next()
    _pump(app, lambda: wizard.state.hardware is not None)
    save(wizard, "wizard-2-hardware")
    wizard.next()
    model_page = wizard.pages[Page.MODEL]
    _pump(app, lambda: model_page.picker.current_catalog_id() == "minimax-m2.7")
    model_page.picker.use_catalog.click()
    _pump(app, lambda: wizard.state.plan is not None)
    save(wizard, "wizard-3-model")
    wizard.next()
    save(wizard, "wizard-4-quantization")
    wizard.next()
    wizard.pages[Page.RISKS].tick.setChecked(True)
    _pump(app, lambda: wizard.button(QWizard.WizardButton.NextButton).isEnabled())
    save(wizard, "wizard-5-risks")
    wizard.next()
    download_page = wizard.pages[Page.DOWNLOAD]
    _pump(app, lambda: download_page.space_line.space is not None)
    save(wizard, "wizard-6-download")
    # The last page as it looks once the files are in place (nothing is downloaded for a screenshot).
    wizard.update_state(download_finished=True)
    wizard.next()
    save(wizard, "wizard-7-done")
    plan, model = wizard.state.plan, wizard.model
    wizard.hide()

    window = MainWindow(settings.with_ui(first_run_done=True), backend, probe_on_show=False, save_settings=False)
    window.resize(*SIZE)
    window.show()
    window.set_hardware(machine)
    _pump(app, lambda: window.plan is not None)
    if plan is not None and model is not None:
        window.show_plan(plan, model)
    _pump(app, lambda: True)
    save(window, "main-window")

    # The download dialog of a model whose quants come with an optional vision projector.
    gemma = backend.resolve("gemma-3-27b-it", None)
    window.show_plan(backend.plan(gemma, machine, st.plan_options(settings)), gemma)
    dialog = window.download_selected()
    if dialog is not None:
        for box, _file in dialog.companion_boxes[:1]:
            box.setChecked(True)
        _pump(app, lambda: dialog.space is not None)
        dialog.adjustSize()
        save(dialog, "download-dialog")
        dialog.reject()
    window.close()

    # issue 11: MiniMax M2.7 UD-Q6_K_XL over two 128 GB Strix Halo machines (llama.cpp RPC)
    head = strix_halo("halo-a")
    cluster_backend = Backend(probe=lambda: head, resolve=backend.resolve, plan=backend.plan)
    cluster = MainWindow(
        settings.with_ui(first_run_done=True), cluster_backend, probe_on_show=False, save_settings=False
    )
    cluster.resize(*SIZE)
    cluster.show()
    cluster.set_hardware(head)
    _pump(app, lambda: cluster.plan is not None)
    cluster.cluster.add_machine(strix_halo("halo-b", "192.168.1.21"))
    _pump(app, lambda: cluster.plan is not None and len(cluster.plan.hardware) == 2)
    cluster.select_quant("UD-Q6_K_XL")
    _pump(app, lambda: True)
    save(cluster, "main-window-cluster")
    cluster.close()
    from ui import workers

    workers.wait_for_all(10_000)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    for path in render(out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
