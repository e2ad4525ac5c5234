"""THE one adapter from the core's plain callbacks to Qt signals: every probe, Hub call, plan and download runs
here, on a ``QThreadPool``, never on the GUI thread.

The work function gets a ``TaskContext``: ``ctx.progress(value)`` forwards a core progress callback (throttled
to about ten updates a second, the latest value always delivered), and ``ctx.cancel_event`` / ``ctx.on_cancel``
let a core cancel token follow the user's Cancel button. Results come back as signals on the GUI thread, because
the ``Task`` object that emits them lives there. Nothing in a work function may touch a widget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from advisor.errors import CancelledError

PROGRESS_INTERVAL_S = 0.1

_pool: QThreadPool | None = None
_running: set[Task] = set()


def pool() -> QThreadPool:
    """The app's worker pool (a private one, so a test or shutdown can wait for exactly our work)."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(4)
    return _pool


class TaskContext:
    """What a work function may use from its worker thread."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self.cancel_event = threading.Event()
        self._cancel_hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._last_emit = 0.0
        self._pending: Any = None
        self._has_pending = False

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` (from the GUI thread) when the user cancels, e.g. a core ``CancelToken.cancel``."""
        with self._lock:
            if not self.cancel_event.is_set():
                self._cancel_hooks.append(hook)
                return
        hook()

    def progress(self, value: Any) -> None:
        """Forward one progress value; at most one every ``PROGRESS_INTERVAL_S``, the latest kept for later."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_emit < PROGRESS_INTERVAL_S:
                self._pending, self._has_pending = value, True
                return
            self._last_emit = now
            self._has_pending = False
        self._task.progressed.emit(value)

    def _flush(self) -> None:
        with self._lock:
            value, has = self._pending, self._has_pending
            self._has_pending = False
        if has:
            self._task.progressed.emit(value)

    def _cancel(self) -> None:
        with self._lock:
            self.cancel_event.set()
            hooks, self._cancel_hooks = self._cancel_hooks, []
        for hook in hooks:
            hook()


class Task(QObject):
    """One piece of background work.

    Signals:
        progressed(object): a progress value from the core callback.
        finished(object): the work function's return value.
        failed(object): the exception it raised (a ``RigfitError`` for the user's situation, else a bug).
        cancelled(): the user cancelled and the work stopped.
        ended(): after any of the three above; the task is then forgotten.
    """

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, fn: Callable[[TaskContext], Any], name: str = "") -> None:
        super().__init__()
        self.name = name or getattr(fn, "__name__", "task")
        self.context = TaskContext(self)
        self._fn = fn
        self.thread_name: str | None = None  # the worker thread that ran it (tests check it is not the GUI's)
        self.ended.connect(self._forget)

    def cancel(self) -> None:
        self.context._cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.context.cancelled

    def _run(self) -> None:
        self.thread_name = threading.current_thread().name
        try:
            result = self._fn(self.context)
        except CancelledError:
            self.context._flush()
            self.cancelled.emit()
        except BaseException as exc:  # handed to the GUI thread, where the error/crash dialog shows it
            self.context._flush()
            if self.context.cancelled:
                self.cancelled.emit()
            else:
                self.failed.emit(exc)
        else:
            self.context._flush()
            if self.context.cancelled:
                self.cancelled.emit()
            else:
                self.finished.emit(result)
        self.ended.emit()

    def _forget(self) -> None:
        _running.discard(self)


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self._task._run()


def run_task(
    fn: Callable[[TaskContext], Any],
    *,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
    name: str = "",
) -> Task:
    """Run ``fn(ctx)`` on the worker pool; the callbacks run on the GUI thread.

    Without ``on_error`` a failure goes to the app's one error dialog (``ui.errors.show_error``).
    """
    task = Task(fn, name)
    if on_progress is not None:
        task.progressed.connect(on_progress)
    if on_done is not None:
        task.finished.connect(on_done)
    if on_cancelled is not None:
        task.cancelled.connect(on_cancelled)
    if on_error is not None:
        task.failed.connect(on_error)
    else:
        from ui.errors import show_error

        task.failed.connect(lambda exc: show_error(None, exc))
    _running.add(task)
    pool().start(_Runnable(task))
    return task


def running_tasks() -> tuple[Task, ...]:
    return tuple(_running)


def cancel_all() -> None:
    for task in list(_running):
        task.cancel()


def wait_for_all(timeout_ms: int = 10_000) -> bool:
    """Block until every started task returned (shutdown, tests); True when they all did."""
    return pool().waitForDone(timeout_ms)
