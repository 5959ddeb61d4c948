"""The task runner delivers results on the UI thread, and never to a widget that is gone."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QLabel, QWidget

from app.ui.tasks import TaskRunner


class Receiver(QLabel):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.results: list[object] = []

    def done(self, value: object) -> None:
        self.results.append(value)
        self.setText(str(value))  # touching a deleted widget would raise RuntimeError


def test_result_reaches_a_live_widget(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    runner = TaskRunner(window)
    receiver = Receiver(window)
    runner.submit(lambda: 42, receiver.done)
    qtbot.waitUntil(lambda: receiver.results == [42], timeout=5_000)
    assert receiver.text() == "42" and runner.busy == 0


def test_result_for_a_closed_dialog_is_dropped(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    runner = TaskRunner(window)
    receiver = Receiver(window)
    release = threading.Event()
    calls: list[object] = []
    errors: list[BaseException] = []

    def slow() -> int:
        release.wait(5)
        calls.append("ran")
        return 7

    runner.submit(slow, receiver.done, errors.append)
    receiver.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(receiver), timeout=5_000)
    release.set()
    qtbot.waitUntil(lambda: runner.busy == 0, timeout=5_000)
    assert calls == ["ran"] and errors == []  # the work ran; nobody was told, nothing raised


def test_nested_done_function_of_a_closed_widget_is_dropped(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    runner = TaskRunner(window)
    release = threading.Event()

    class Dialog(QLabel):
        def load(self) -> None:
            def done(value: int) -> None:
                self.setText(str(value))

            runner.submit(lambda: release.wait(5) and 3, done)

    dialog = Dialog(window)
    dialog.load()
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=5_000)
    release.set()
    qtbot.waitUntil(lambda: runner.busy == 0, timeout=5_000)  # no RuntimeError raised


def test_nested_done_function_of_a_live_widget_runs(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    runner = TaskRunner(window)

    class Dialog(QLabel):
        def load(self) -> None:
            def done(value: int) -> None:
                self.setText(str(value))

            runner.submit(lambda: 3, done)

    dialog = Dialog(window)
    dialog.load()
    qtbot.waitUntil(lambda: dialog.text() == "3", timeout=5_000)
