"""The one worker adapter: work runs off the GUI thread, results and progress arrive on it, cancel works."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QTimer

from advisor.errors import CancelledError, RigfitError
from tests.ui.conftest import wait_task
from ui import workers


def test_work_runs_off_the_gui_thread_and_results_arrive_on_it(qtbot) -> None:
    seen: dict[str, str] = {}

    def work(ctx: workers.TaskContext) -> int:
        seen["work"] = threading.current_thread().name
        ctx.progress("half")
        return 42

    got = []
    task = workers.run_task(work, on_done=lambda r: got.append((r, threading.current_thread().name)))
    wait_task(qtbot, task)
    main = threading.main_thread().name
    assert seen["work"] != main and task.thread_name == seen["work"]
    assert got == [(42, main)]


def test_failure_reaches_the_error_callback(qtbot) -> None:
    def work(_ctx):
        raise RigfitError("no such model", hint="check the name")

    errors = []
    task = workers.run_task(work, on_error=errors.append)
    wait_task(qtbot, task)
    assert isinstance(errors[0], RigfitError) and errors[0].hint == "check the name"


def test_cancel_stops_cooperative_work_and_calls_core_hook(qtbot) -> None:
    started = threading.Event()
    hooked = []

    def work(ctx: workers.TaskContext) -> str:
        ctx.on_cancel(lambda: hooked.append("core token cancelled"))
        started.set()
        while not ctx.cancelled:
            time.sleep(0.01)
        raise CancelledError("stopped")

    done, cancelled = [], []
    task = workers.run_task(work, on_done=done.append, on_cancelled=lambda: cancelled.append(True))
    assert started.wait(5)
    task.cancel()
    wait_task(qtbot, task)
    assert cancelled == [True] and not done and hooked == ["core token cancelled"]


def test_progress_is_throttled_but_the_last_value_arrives(qtbot) -> None:
    def work(ctx: workers.TaskContext) -> None:
        for i in range(2000):
            ctx.progress(i)

    values = []
    task = workers.run_task(work, on_progress=values.append)
    wait_task(qtbot, task)
    qtbot.waitUntil(lambda: values and values[-1] == 1999, timeout=2000)
    assert len(values) < 100  # 2000 callbacks do not become 2000 repaints


def test_gui_keeps_processing_events_during_long_work(qtbot) -> None:
    release = threading.Event()
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    task = workers.run_task(lambda _ctx: release.wait(10))
    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=5000)  # the event loop runs while the worker blocks
    assert task in workers.running_tasks()
    release.set()
    wait_task(qtbot, task)
    timer.stop()


def test_uncaught_bug_goes_to_crash_dialog_by_default(qtbot) -> None:
    from ui import errors

    task = workers.run_task(lambda _ctx: 1 / 0)
    wait_task(qtbot, task)
    qtbot.waitUntil(lambda: any(isinstance(d, errors.CrashDialog) for d in errors.open_dialogs()), timeout=2000)
    dialog = next(d for d in errors.open_dialogs() if isinstance(d, errors.CrashDialog))
    assert "ZeroDivisionError" in dialog.report


@pytest.mark.parametrize("exc", [CancelledError("paused")])
def test_cancelled_error_without_cancel_is_reported_as_cancelled(qtbot, exc) -> None:
    def work(_ctx):
        raise exc

    cancelled = []
    task = workers.run_task(work, on_cancelled=lambda: cancelled.append(1), on_error=lambda e: pytest.fail(str(e)))
    wait_task(qtbot, task)
    assert cancelled == [1]
