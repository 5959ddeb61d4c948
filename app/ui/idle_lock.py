"""Idle lock: after N minutes without input, cover the windows and ask for the password.

TCVN 14423 level 3: 15 minutes, 5 for administrators (the server says which, in
``sys.my_account().idle_lock_minutes``). Nothing is closed or hidden: every visible
window gets an opaque cover (so no record stays on screen) and an application-modal
lock dialog takes all input, even over a modal dialog that was open. Unlocking removes
the covers; dialogs, their unsaved text and the keyboard focus are as they were.

The password is checked by opening a new connection with it — a real login, so a wrong
one counts as a failed login on the server (five lock the account, DESIGN P5). While
locked the session forgets the password and the periodic store checks pause.
"""

from __future__ import annotations

import time

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.session import Session, SignInError
from app.ui.i18n import translate
from app.ui.login import ERROR_STYLE, INFO_STYLE, sign_in_message
from app.ui.tasks import TaskRunner

# Events that count as the person being at the keyboard.
_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
        QEvent.Type.InputMethod,
    }
)
_COVER_STYLE = "background: #263238; color: #eceff1; font-size: 15pt;"


class _Cover(QWidget):
    """An opaque sheet over one window's contents, following its size."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("lockCover")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_COVER_STYLE)
        label = QLabel(translate("IdleLock", "Session locked"), self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        self.setGeometry(window.rect())
        window.installEventFilter(self)
        self.raise_()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.parentWidget():
            self.setGeometry(self.parentWidget().rect())
        elif event.type() == QEvent.Type.ChildAdded:
            self.raise_()  # a widget added while locked must not show through
        return False


class LockDialog(QDialog):
    """Password prompt while locked; Escape and the close button do not dismiss it."""

    unlock_requested = Signal(str)
    quit_requested = Signal()

    def __init__(self, name: str, minutes: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockDialog")
        self.setWindowTitle(translate("IdleLock", "Session locked"))
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setMinimumWidth(420)
        self.allow_close = False
        if minutes is None:  # locked on request (File menu, Ctrl+L)
            sentence = translate(
                "IdleLock",
                "The session of {name} is locked. Enter the password to continue; unsaved "
                "work is kept.",
            ).format(name=name)
        else:
            sentence = translate(
                "IdleLock",
                "The session of {name} was locked after {minutes} minutes without "
                "activity. Enter the password to continue; unsaved work is kept.",
            ).format(name=name, minutes=_minutes(minutes))
        text = QLabel(sentence)
        text.setObjectName("lockText")
        text.setWordWrap(True)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("lockPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setMaxLength(1000)
        self.password_edit.returnPressed.connect(self._submit)
        self.message = QLabel()
        self.message.setObjectName("lockMessage")
        self.message.setWordWrap(True)
        self.unlock_button = QPushButton(translate("IdleLock", "Unlock"))
        self.unlock_button.setObjectName("unlock")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self._submit)
        quit_button = QPushButton(translate("IdleLock", "Quit LandRec"))
        quit_button.setObjectName("quit")
        quit_button.clicked.connect(self.quit_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(quit_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.password_edit)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def _submit(self) -> None:
        password = self.password_edit.text()
        if password:
            self.unlock_requested.emit(password)

    def set_busy(self, busy: bool) -> None:
        self.password_edit.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy)
        if busy:
            self.message.setStyleSheet(INFO_STYLE)
            self.message.setText(translate("IdleLock", "Checking the password…"))

    def show_error(self, text: str) -> None:
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(text)
        self.password_edit.clear()
        self.password_edit.setFocus()

    def reject(self) -> None:  # Escape
        if self.allow_close:
            super().reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and not self.allow_close:
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.allow_close:
            super().closeEvent(event)
        else:
            event.ignore()


def _alive(widget: QWidget | None) -> bool:
    return widget is not None and shiboken6.isValid(widget) and widget.isVisible()


def _minutes(minutes: float) -> str:
    return str(round(minutes)) if minutes >= 1 else f"{minutes:.2g}"


class IdleLock(QObject):
    """Watches the application's input and locks ``window`` after ``interval_ms`` idle.

    ``interval_ms`` is injectable (tests use a fraction of a second); ``check_ms`` is how
    often idleness is checked (default: a quarter of the interval, at most 5 s).
    """

    locked_changed = Signal(bool)

    def __init__(
        self,
        window: QWidget,
        session: Session,
        interval_ms: int,
        check_ms: int | None = None,
        on_lock=None,
        on_unlock=None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.interval_ms = max(int(interval_ms), 1)
        self.locked = False
        self.dialog: LockDialog | None = None
        self.runner = TaskRunner(self, max_threads=1)
        self._on_lock = on_lock
        self._on_unlock = on_unlock
        self._covers: list[_Cover] = []
        self._focus: QWidget | None = None
        self._active: QWidget | None = None
        self._last_input = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setInterval(check_ms or min(max(self.interval_ms // 4, 20), 5_000))
        self.timer.timeout.connect(self._tick)
        QApplication.instance().installEventFilter(self)
        self.timer.start()

    # -- watching -------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Called for every event of the application: keep it to one set lookup.
        if event.type() in _INPUT_EVENTS and not self.locked:
            self._last_input = time.monotonic()
        return False

    def idle_ms(self) -> float:
        return (time.monotonic() - self._last_input) * 1000

    def _tick(self) -> None:
        if not self.locked and self.idle_ms() >= self.interval_ms:
            self.lock()

    def stop(self) -> None:
        """The window closes: stop watching and take the lock dialog and covers away."""
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.runner.shutdown(wait_ms=0)
        self._dismiss()

    def _dismiss(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None and shiboken6.isValid(dialog):
            dialog.allow_close = True
            dialog.password_edit.clear()
            dialog.close()
            dialog.deleteLater()
        for cover in self._covers:
            if not shiboken6.isValid(cover):
                continue
            if cover.parentWidget() is not None:
                cover.parentWidget().removeEventFilter(cover)
            cover.hide()
            cover.deleteLater()
        self._covers.clear()

    # -- locking --------------------------------------------------------------------------------
    def lock(self, manual: bool = False) -> None:
        if self.locked:
            return
        self.locked = True
        app = QApplication.instance()
        self._focus = app.focusWidget()
        self._active = app.activeWindow()
        for w in app.topLevelWidgets():
            if w.isVisible() and not isinstance(w, LockDialog) and w.isWindow():
                self._covers.append(_Cover(w))
        self.session.forget_password()
        if self._on_lock is not None:
            self._on_lock()
        account = self.session.account
        name = account.full_name if account is not None else self.session.user
        minutes = None if manual else self.interval_ms / 60_000
        self.dialog = LockDialog(name, minutes, self.window)
        self.dialog.unlock_requested.connect(self._check)
        self.dialog.quit_requested.connect(self._quit)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        self.dialog.password_edit.setFocus()
        self.locked_changed.emit(True)

    def _check(self, password: str) -> None:
        assert self.dialog is not None
        self.dialog.set_busy(True)
        session = self.session
        self.runner.submit(
            lambda: session.check_password(password),
            lambda _: self._unlock(password),
            self._refused,
        )

    def _refused(self, exc: BaseException) -> None:
        if self.dialog is None:
            return
        self.dialog.set_busy(False)
        error = exc if isinstance(exc, SignInError) else SignInError(SignInError.SERVER, str(exc))
        if error.kind == SignInError.WRONG_PASSWORD:
            text = translate(
                "IdleLock",
                "Wrong password. After 5 failed attempts the account is locked for 15 minutes.",
            )
        elif error.kind in (SignInError.UNREACHABLE, SignInError.TIMEOUT):
            text = translate(
                "IdleLock",
                "The server cannot be reached to check the password. Your work is kept; "
                "try again when the connection is back.",
            )
        else:
            text = sign_in_message(error)
        self.dialog.show_error(text)

    def _unlock(self, password: str) -> None:
        self.session.remember_password(password)
        self._dismiss()
        self.locked = False
        self._last_input = time.monotonic()
        if _alive(self._active):
            self._active.activateWindow()
        if _alive(self._focus):
            self._focus.setFocus()
        self._active = self._focus = None
        if self._on_unlock is not None:
            self._on_unlock()
        self.locked_changed.emit(False)

    def _quit(self) -> None:
        self.stop()
        QApplication.closeAllWindows()
