"""Issue 11 in the window: add another machine's hardware file, pick the link, see every machine's command.

The real catalog model and the real planner: MiniMax M2.7 UD-Q6_K_XL does not fit one 128 GB Strix Halo box in
memory, and fits two of them as an RPC cluster.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from advisor import settings as st
from advisor.errors import RigfitError
from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory
from advisor.plan.types import Verdict
from ui.backend import Backend
from ui.main_window import MainWindow

GiB = 2**30


def strix_halo(label: str) -> Hardware:
    """A 128 GB Strix Halo box (Radeon 8060S, unified memory)."""
    return Hardware(
        cpu=Cpu(name="AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", vendor="amd", physical_cores=16, logical_cores=32),
        memory=Memory(total_bytes=128 * GiB, bandwidth_gbps=256.0, bandwidth_source="spec"),
        gpus=(
            Gpu(
                vendor="amd",
                name="Radeon 8060S Graphics",
                architecture="gfx1151",
                unified_memory=True,
                working_set_limit_bytes=126976 * 2**20,
                bandwidth_gbps=256.0,
            ),
        ),
        disk=Disk(path="/models", free_bytes=1800 * 10**9, read_gbps=6.0),
        llama_cpp=LlamaCpp(build="b8763", backend="rocm"),
        os="linux",
        label=label,
    )


def test_add_machine_plans_a_cluster_with_every_machines_command(qtbot, tmp_path, monkeypatch) -> None:
    plans = []

    def plan_and_record(model, hardware, options):
        from advisor.plan.planner import plan

        plans.append((hardware, options))
        return plan(model, hardware, options)

    settings = st.Settings().with_ui(first_run_done=True).with_preferences(last_model="minimax-m2.7")
    window = MainWindow(
        settings, Backend(probe=lambda: strix_halo("halo-a"), plan=plan_and_record), save_settings=False
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.plan is not None, timeout=30_000)
    assert window.plan.option("UD-Q6_K_XL").verdict is not Verdict.RPC_CLUSTER
    assert "GPU 0: Radeon 8060S Graphics, shares system memory (up to 124.0 GiB)" in window.hardware_label.text()
    assert "memory unknown" not in window.hardware_label.text()
    assert not window.cluster.isVisible()

    other = tmp_path / "halo-b.json"
    other.write_text(strix_halo("somebox").to_json())
    assert window.cluster.add_button.isVisible()
    dialog = window.open_add_machine()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # no file yet
    dialog.path.setText(str(other))
    dialog.label.setText("halo-b")
    dialog.address.setText("10.0.0.2")
    ok.click()
    qtbot.waitUntil(lambda: len(window.plan.hardware) == 2, timeout=30_000)
    assert [hw.label for hw in window.plan.hardware] == ["halo-a", "halo-b"]
    row_text = window.cluster.rows.itemAt(0).widget().findChild(QLabel).text()
    assert row_text.startswith("halo-b at 10.0.0.2: 128.0 GiB RAM, Radeon 8060S Graphics")
    assert window.cluster.isVisible()

    window.select_quant("UD-Q6_K_XL")
    option = window.selected_option()
    assert option.verdict is Verdict.RPC_CLUSTER
    views = window.detail.machine_views()
    assert [(v.machine_command.machine, v.machine_command.role) for v in views] == [
        ("halo-b", "rpc-worker"),
        ("halo-a", "head"),
    ]
    assert views[0].command.toPlainText().startswith("rpc-server -H 10.0.0.2")
    assert "authentication" in views[0].note.text()
    assert window.detail.machines_group.isVisible() and not window.detail.command.isVisible()
    views[1].copy_button.click()
    assert QGuiApplication.clipboard().text() == option.llama_cpp_command
    chart = window.detail.chart.describe()
    assert "halo-b · Radeon 8060S Graphics:" in chart and "halo-a · " in chart

    # the link: a preset from resources/specs/network.toml and a measured speed reach the planner
    before = len(plans)
    window.cluster.link.setCurrentIndex(window.cluster.link.findData("10gbe"))
    window.cluster.gbps.setValue(9.4)
    qtbot.waitUntil(lambda: window.plan.request.link_gbps == 9.4, timeout=30_000)
    assert window.plan.request.link == "10gbe" and len(plans) > before

    # Remove: back to this machine alone
    window.cluster.remove_buttons()[0].click()
    qtbot.waitUntil(lambda: len(window.plan.hardware) == 1, timeout=30_000)
    assert window.plan.request.link is None and not window.cluster.isVisible()
    window.select_quant("UD-Q6_K_XL")
    assert not window.detail.machines_group.isVisible() and window.detail.command.isVisible()
    assert " · " not in window.detail.chart.describe().split(":")[0]


def test_a_broken_machine_file_is_one_error_and_nothing_is_added(qtbot, tmp_path, fake, monkeypatch) -> None:
    from ui import errors

    shown = []
    monkeypatch.setattr(errors, "show_error", lambda parent, exc: shown.append(exc))
    monkeypatch.setattr("ui.main_window.show_error", lambda parent, exc: shown.append(exc))
    settings = st.Settings().with_ui(first_run_done=True)
    window = MainWindow(settings, fake.as_backend(), save_settings=False)
    qtbot.addWidget(window)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    from tests.ui.conftest import wait_task
    from ui.cluster_panel import MachineRequest

    wait_task(qtbot, window.add_machine(MachineRequest(str(bad), "x")))
    assert len(shown) == 1 and isinstance(shown[0], RigfitError)
    assert window.cluster.machines() == ()
    good = tmp_path / "good.json"
    good.write_text(strix_halo("b").to_json())
    for name, address in (("two words", None), ("a=b", None), ("ok", "10.0.0.2; rm -rf ~"), ("head", None)):
        wait_task(qtbot, window.add_machine(MachineRequest(str(good), name, address)))
    assert len(shown) == 5 and all(isinstance(e, RigfitError) for e in shown)
    assert window.cluster.machines() == ()
    wait_task(qtbot, window.add_machine(MachineRequest(str(good), "worker1", "10.0.0.2")))
    wait_task(qtbot, window.add_machine(MachineRequest(str(good), "worker1")))
    assert [hw.label for hw in window.cluster.machines()] == ["worker1"]
    assert "already a machine named" in str(shown[-1]) and len(shown) == 6
