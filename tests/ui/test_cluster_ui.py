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


def _recording_backend(head: Hardware, plans: list) -> Backend:
    """The real catalog model and planner; each plan's machines and options are recorded."""

    def plan_and_record(model, hardware, options):
        from advisor.plan.planner import plan

        plans.append((hardware, options))
        return plan(model, hardware, options)

    return Backend(probe=lambda: head, plan=plan_and_record)


def _note_shown(window: MainWindow) -> bool:
    return window.cluster.isVisible() and window.cluster.note_widget.isVisible()


def test_machines_and_link_come_back_at_the_next_launch_and_the_first_plan_uses_them(
    qtbot, tmp_path, monkeypatch
) -> None:
    import threading

    from tests.ui.conftest import wait_task
    from ui import main_window
    from ui.cluster_panel import MachineRequest

    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path / "config"))
    st.save(st.Settings().with_ui(first_run_done=True).with_preferences(last_model="minimax-m2.7", kv_type="q8_0"))
    other = tmp_path / "halo-b.json"
    other.write_text(strix_halo("somebox").to_json())

    # first session: add a machine and choose the link, then quit
    first = MainWindow(backend=_recording_backend(strix_halo("halo-a"), []))
    qtbot.addWidget(first)
    first.show()
    qtbot.waitUntil(lambda: first.plan is not None, timeout=30_000)
    wait_task(qtbot, first.add_machine(MachineRequest(str(other), "halo-b", "10.0.0.2")))
    first.cluster.link.setCurrentIndex(first.cluster.link.findData("10gbe"))
    first.cluster.gbps.setValue(9.4)
    qtbot.waitUntil(lambda: first.plan.request.link_gbps == 9.4 and len(first.plan.hardware) == 2, timeout=30_000)
    first.close()
    saved = st.load()
    assert saved.ui.cluster_machines == (st.SavedMachine(str(other), "halo-b", "10.0.0.2"),)
    assert saved.ui.cluster_link == st.SavedLink("10gbe", 9.4, None)
    assert saved.preferences.kv_type == "q8_0" and saved.ui.first_run_done

    # second session: the file is read on a worker, held back until this machine's probe is done, so the
    # model's first plan must wait for it rather than plan this machine alone
    probed = threading.Event()
    reads: list[str] = []
    real_load = main_window.load_hardware_file

    def slow_load(path: str) -> Hardware:
        reads.append(threading.current_thread().name)
        probed.wait(10)
        return real_load(path)

    monkeypatch.setattr(main_window, "load_hardware_file", slow_load)
    plans: list = []
    second = MainWindow(backend=_recording_backend(strix_halo("halo-a"), plans))
    qtbot.addWidget(second)
    second.hardware_changed.connect(lambda _hw: probed.set())
    second.show()
    qtbot.waitUntil(lambda: second.plan is not None, timeout=30_000)
    assert reads and reads[0] != threading.current_thread().name  # not the GUI thread
    assert [[hw.label for hw in hardware] for hardware, _options in plans] == [["halo-a", "halo-b"]]
    assert [hw.label for hw in second.plan.hardware] == ["halo-a", "halo-b"]
    assert (second.plan.request.link, second.plan.request.link_gbps) == ("10gbe", 9.4)
    assert second.cluster.link.currentData() == "10gbe" and second.cluster.gbps.value() == 9.4
    assert second.cluster.isVisible() and not second.cluster.note_widget.isVisible()
    row_text = second.cluster.rows.itemAt(0).widget().findChild(QLabel).text()
    assert row_text.startswith("halo-b at 10.0.0.2: 128.0 GiB RAM, Radeon 8060S Graphics")
    second.select_quant("UD-Q6_K_XL")
    assert second.selected_option().verdict is Verdict.RPC_CLUSTER
    assert "rpc-server -H 10.0.0.2" in second.detail.machine_views()[0].command.toPlainText()

    # Remove takes it out of the settings as well
    second.cluster.remove_buttons()[0].click()
    qtbot.waitUntil(lambda: len(second.plan.hardware) == 1, timeout=30_000)
    assert st.load().ui.cluster_machines == ()
    assert st.load().ui.cluster_link == st.SavedLink("10gbe", 9.4, None)  # the network itself did not change
    second.close()


def test_a_saved_machine_whose_file_is_gone_is_dropped_with_a_note_and_nothing_else_is_lost(
    qtbot, tmp_path, monkeypatch
) -> None:
    shown = []
    monkeypatch.setattr("ui.main_window.show_error", lambda parent, exc: shown.append(exc))
    monkeypatch.setattr("ui.errors.show_error", lambda parent, exc: shown.append(exc))
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path / "config"))
    good, gone, broken = tmp_path / "good.json", tmp_path / "gone.json", tmp_path / "broken.json"
    for path in (good, gone):
        path.write_text(strix_halo("x").to_json())
    broken.write_text("{not json")
    saved = (
        st.Settings()
        .with_ui(
            first_run_done=True,
            window_geometry="AdnQywADAAA=",
            pending_downloads=(st.PendingDownload("minimax-m2.7", "UD-Q4_K_M", str(tmp_path / "models")),),
            cluster_machines=(
                st.SavedMachine(str(gone), "w-gone"),
                st.SavedMachine(str(good), "w-good", "10.0.0.3"),
                st.SavedMachine(str(broken), "w-broken"),
            ),
            cluster_link=st.SavedLink("10gbe", None, 0.3),
        )
        .with_preferences(last_model="minimax-m2.7", kv_type="q8_0")
    )
    st.save(saved)
    gone.unlink()  # between the sessions

    window = MainWindow(backend=_recording_backend(strix_halo("halo-a"), []))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.plan is not None and _note_shown(window), timeout=30_000)
    assert [hw.label for hw in window.cluster.machines()] == ["w-good"]
    assert [hw.label for hw in window.plan.hardware] == ["halo-a", "w-good"]
    note = window.cluster.note.text()
    assert note.startswith("Removed 2 saved machines whose hardware files could not be read.")
    assert f"w-gone: Cannot read the hardware file {gone}: No such file or directory." in note
    assert f"w-broken: The hardware file {broken} is not valid JSON" in note and "w-good" not in note
    assert shown == []  # a note, not an error dialog
    assert window.cluster.link.currentData() == "10gbe" and window.cluster.latency.value() == 0.3

    after = st.load()
    assert after.ui.cluster_machines == (st.SavedMachine(str(good), "w-good", "10.0.0.3"),)
    assert after == saved.with_ui(cluster_machines=after.ui.cluster_machines)  # nothing else changed

    window.cluster.dismiss_note_button.click()
    assert not window.cluster.note_widget.isVisible() and window.cluster.isVisible()


def test_when_every_saved_machine_is_gone_the_note_still_shows(qtbot, tmp_path, fake, monkeypatch) -> None:
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path / "config"))
    st.save(st.Settings().with_ui(first_run_done=True, cluster_machines=(st.SavedMachine("/nowhere/w.json", "w"),)))
    window = MainWindow(backend=fake.as_backend())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: _note_shown(window), timeout=10_000)
    assert window.cluster.machines() == () and not window.cluster.link_widget.isVisible()
    assert window.cluster.note.text() == (
        "Removed w from the saved machines: Cannot read the hardware file /nowhere/w.json: No such file or "
        "directory. Add it again with Add machine… once the file is back."
    )
    qtbot.waitUntil(lambda: st.load().ui.cluster_machines == (), timeout=5_000)
    window.cluster.dismiss_note_button.click()
    assert not window.cluster.isVisible()


def test_a_machine_added_while_the_model_is_read_is_in_the_plan(qtbot, tmp_path, monkeypatch) -> None:
    import threading

    from advisor.model.resolve import resolve_model

    gate = threading.Event()

    def slow_resolve(name, token, progress=None):
        gate.wait(10)  # the model is still being read when the user adds a machine
        return resolve_model(name)

    settings = st.Settings().with_ui(first_run_done=True).with_preferences(last_model="minimax-m2.7")
    window = MainWindow(
        settings, Backend(probe=lambda: strix_halo("halo-a"), resolve=slow_resolve), save_settings=False
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.hardware is not None, timeout=10_000)
    assert window.model is None
    window.cluster.add_machine(strix_halo("halo-b"))
    gate.set()
    qtbot.waitUntil(lambda: window.plan is not None and len(window.plan.hardware) == 2, timeout=30_000)
    assert [hw.label for hw in window.plan.hardware] == ["halo-a", "halo-b"]
