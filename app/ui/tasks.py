"""Run store work off the UI thread and get the result back on it.

``TaskRunner.submit(fn, on_done, on_error)`` runs ``fn()`` on a QThreadPool thread; the
result (or the exception) travels back through a queued signal, so ``on_done`` and
``on_error`` always run on the UI thread. They are skipped if the runner's owner (the
window) has been destroyed meanwhile, or if ``on_done`` is a method of a widget that has
(a dialog closed while its request was still on the wire) — a bound method, or a nested
``done`` function of one (it closes over ``self``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot


class _Bridge(QObject):
    """Lives on the UI thread; the worker emits, the UI thread receives (queued)."""

    finished = Signal(object, object)  # (result, exception or None)

    def __init__(self, runner: TaskRunner, on_done, on_error) -> None:
        super().__init__()
        self._runner = runner
        self._on_done = on_done
        self._on_error = on_error
        self._receiver = _widget_of(on_done)
        self.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object)
    def _deliver(self, result: Any, error: BaseException | None) -> None:
        runner = self._runner
        if not shiboken6.isValid(runner) or runner.closed:
            return
        runner._live.discard(self)
        if self._receiver is not None and not shiboken6.isValid(self._receiver):
            return  # the widget that asked is gone: nobody to tell
        if error is None:
            self._on_done(result)
        elif self._on_error is not None:
            self._on_error(error)
        else:
            traceback.print_exception(error)


def _widget_of(callback: Callable[..., Any]) -> QObject | None:
    """The Qt object a callback belongs to: a method's object, or the ``self`` that a
    nested function defined in a method closes over."""
    owner = getattr(callback, "__self__", None)
    if owner is None:
        code = getattr(callback, "__code__", None)
        cells = getattr(callback, "__closure__", None) or ()
        if code is not None and "self" in code.co_freevars:
            try:
                owner = cells[code.co_freevars.index("self")].cell_contents
            except ValueError:  # an empty cell: "self" not bound yet
                owner = None
    return owner if isinstance(owner, QObject) else None


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], bridge: _Bridge) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self._fn = fn
        self._bridge = bridge

    def run(self) -> None:  # worker thread
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to on_error on the UI thread
            self._bridge.finished.emit(None, exc)
        else:
            self._bridge.finished.emit(result, None)


class TaskRunner(QObject):
    """A small thread pool owned by a window."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.closed = False
        self._live: set[_Bridge] = set()
        self._jobs: dict[_Bridge, _Job] = {}

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        bridge = _Bridge(self, on_done, on_error)
        job = _Job(fn, bridge)
        self._live.add(bridge)
        self._jobs[bridge] = job  # QRunnable must outlive run(): keep it with its bridge
        self.pool.start(job)
        self._gc()

    def _gc(self) -> None:
        for bridge in [b for b in self._jobs if b not in self._live]:
            del self._jobs[bridge]

    @property
    def busy(self) -> int:
        return len(self._live)

    def shutdown(self, wait_ms: int = 10_000) -> bool:
        """Drop queued jobs, stop delivering results, wait for running ones."""
        self.closed = True
        self.pool.clear()
        return self.pool.waitForDone(wait_ms)
