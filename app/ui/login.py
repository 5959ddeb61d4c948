"""Sign-in: server profile, user name, password; then first-login change and TOTP.

:class:`LoginDialog` signs in off the UI thread (the worker waits at most the connect
timeout; a watchdog gives the form back if even name resolution hangs) and shows a clear
message per failure. :class:`SignInFlow` chains the steps: login → password change when
the account must change it → TOTP for administrators → ``signed_in(session)``.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.profiles import DEFAULT_PORT, REMOTE_TLS_MODES, Profile, ProfileError, ProfileStore
from app.session import CONNECT_TIMEOUT_S, Session, SignInError, sign_in
from app.ui.i18n import translate
from app.ui.tasks import TaskRunner

ERROR_STYLE = "color: #b00020;"
INFO_STYLE = "color: #5d7384;"
# Seconds the form waits beyond the connect timeout before giving up on the worker.
_WATCHDOG_SLACK_S = 3


def sign_in_message(error: SignInError, address: str = "", timeout_s: int = CONNECT_TIMEOUT_S):
    """The Vietnamese (or English) sentence for a failed sign-in."""
    kind = error.kind
    detail = error.detail
    if kind == SignInError.WRONG_PASSWORD:
        return translate(
            "Login",
            "Wrong user name or password. After 5 failed attempts the account is locked "
            "for 15 minutes.",
        )
    if kind == SignInError.LOCKED:
        text = translate(
            "Login", "This account is locked. Ask the system administrator to unlock it."
        )
        return f"{detail}\n{text}" if error.server_message and detail else text
    if kind == SignInError.TIMEOUT:
        return translate(
            "Login",
            "The server {address} did not answer within {seconds} seconds. Check the "
            "network connection, or try again later.",
        ).format(address=address, seconds=timeout_s)
    if kind == SignInError.UNREACHABLE:
        return translate(
            "Login",
            "Cannot reach the server {address}. Check the network connection and the "
            "server address, or try again later.",
        ).format(address=address)
    if kind == SignInError.TLS:
        return translate(
            "Login",
            "The secure connection (TLS) to {address} failed: the server's certificate "
            "could not be verified. Check the CA file of the server profile, or ask the "
            "system administrator. Details: {detail}",
        ).format(address=address, detail=detail)
    if kind == SignInError.NO_DATABASE:
        return translate("Login", "The server has no LandRec database here: {detail}").format(
            detail=detail
        )
    if kind == SignInError.NO_ACCESS:
        return translate(
            "Login",
            "The server does not let this account connect from this computer. Details: {detail}",
        ).format(detail=detail)
    if kind == SignInError.NO_ACCOUNT:
        return translate(
            "Login",
            "This database user has no LandRec account. Ask the system administrator.",
        )
    if error.server_message and detail:
        return detail
    return translate("Login", "The server refused the sign-in: {detail}").format(detail=detail)


class LoginDialog(QDialog):
    """Profile, user name, password (masked). Emits ``session_ready`` after a sign-in."""

    session_ready = Signal(object)

    def __init__(
        self,
        profiles: ProfileStore,
        *,
        profile_name: str | None = None,
        user: str | None = None,
        connect_timeout: int = CONNECT_TIMEOUT_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.profiles = profiles
        self.connect_timeout = connect_timeout
        self.runner = TaskRunner(self, max_threads=2)
        self.busy = False
        self._attempt = 0  # results of abandoned attempts are dropped
        self.last_error: SignInError | None = None

        self.setObjectName("loginDialog")
        self.setWindowTitle(translate("Login", "Sign in to LandRec"))
        self.setMinimumWidth(460)

        self.profile_box = QComboBox()
        self.profile_box.setObjectName("profile")
        self.profile_box.currentIndexChanged.connect(self._profile_changed)
        self.servers_button = QPushButton(translate("Login", "Servers…"))
        self.servers_button.setObjectName("servers")
        self.servers_button.clicked.connect(self.edit_profiles)
        self.address = QLabel()
        self.address.setObjectName("address")
        self.address.setStyleSheet(INFO_STYLE)
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("user")
        self.user_edit.setMaxLength(63)  # PostgreSQL's identifier limit
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setMaxLength(1000)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        row = QHBoxLayout()
        row.addWidget(self.profile_box, 1)
        row.addWidget(self.servers_button)
        form = QFormLayout()
        form.addRow(translate("Login", "Server:"), row)
        form.addRow("", self.address)
        form.addRow(translate("Login", "User name:"), self.user_edit)
        form.addRow(translate("Login", "Password:"), self.password_edit)

        self.buttons = QDialogButtonBox()
        self.sign_in_button = self.buttons.addButton(
            translate("Login", "Sign in"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_in_button.setObjectName("signIn")
        self.sign_in_button.setDefault(True)
        cancel = self.buttons.addButton(
            translate("Login", "Cancel"), QDialogButtonBox.ButtonRole.RejectRole
        )
        cancel.setObjectName("cancel")
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.watchdog = QTimer(self)
        self.watchdog.setSingleShot(True)
        self.watchdog.timeout.connect(self._give_up)

        self._fill_profiles(profile_name)
        if user:
            self.user_edit.setText(user)
        (self.password_edit if self.user_edit.text() else self.user_edit).setFocus()

    # -- profiles ------------------------------------------------------------------------------
    def _fill_profiles(self, select: str | None = None) -> None:
        current = select or (self.profiles.default().name if self.profiles.default() else None)
        self.profile_box.blockSignals(True)
        self.profile_box.clear()
        for p in self.profiles.profiles:
            self.profile_box.addItem(p.name, p.name)
        index = self.profile_box.findData(current) if current else 0
        self.profile_box.setCurrentIndex(max(index, 0))
        self.profile_box.blockSignals(False)
        self._profile_changed()

    def profile(self) -> Profile | None:
        name = self.profile_box.currentData()
        return self.profiles.get(name) if name else None

    def _profile_changed(self, *_: object) -> None:
        p = self.profile()
        if p is None:
            self.address.setText(translate("Login", "No server profile yet: add one."))
            return
        tls = "TLS " + p.tls_mode if p.tls_mode != "disable" else translate("Login", "no TLS")
        self.address.setText(f"{p.address} · {tls}")
        if p.last_user and not self.user_edit.text():
            self.user_edit.setText(p.last_user)

    def edit_profiles(self) -> None:
        dialog = ProfilesDialog(self.profiles, self)
        dialog.exec()
        self._fill_profiles(self.profile_box.currentData())

    # -- signing in ----------------------------------------------------------------------------
    def attempt(self) -> None:
        if self.busy:
            return
        profile = self.profile()
        user = self.user_edit.text().strip()
        password = self.password_edit.text()
        if profile is None:
            self.show_message(translate("Login", "Choose a server profile first."))
            return
        if not user or not password:
            self.show_message(translate("Login", "Enter the user name and the password."))
            return
        self._attempt += 1
        token = self._attempt
        self._set_busy(True)
        self.show_message(translate("Login", "Signing in…"), error=False)
        timeout = self.connect_timeout
        self.runner.submit(
            lambda: sign_in(profile, user, password, connect_timeout=timeout),
            lambda session: self._done(token, profile, user, session),
            lambda exc: self._failed(token, profile, exc),
        )
        self.watchdog.start((timeout + _WATCHDOG_SLACK_S) * 1000)

    def _done(self, token: int, profile: Profile, user: str, session: Session) -> None:
        if token != self._attempt:  # abandoned by the watchdog: not wanted any more
            self.runner.submit(session.close, lambda _: None)
            return
        self.watchdog.stop()
        self._set_busy(False)
        self.password_edit.clear()  # the widget does not keep it after use
        self.message.clear()
        try:
            self.profiles.remember_sign_in(profile.name, user)
        except OSError as exc:  # a read-only config dir must not stop the sign-in
            print(f"landrec: cannot save the profile list: {exc}", file=sys.stderr)
        self.session_ready.emit(session)

    def _failed(self, token: int, profile: Profile, exc: BaseException) -> None:
        if token != self._attempt:
            return
        self.watchdog.stop()
        self._set_busy(False)
        error = exc if isinstance(exc, SignInError) else SignInError(SignInError.SERVER, str(exc))
        self.last_error = error
        self.show_message(sign_in_message(error, profile.address, self.connect_timeout))
        if error.auth_failed:
            self.password_edit.clear()
            self.password_edit.setFocus()

    def _give_up(self) -> None:
        profile = self.profile()
        self._attempt += 1
        self._set_busy(False)
        self.last_error = SignInError(SignInError.TIMEOUT)
        self.show_message(
            sign_in_message(
                self.last_error, profile.address if profile else "", self.connect_timeout
            )
        )

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for w in (self.profile_box, self.servers_button, self.user_edit, self.password_edit):
            w.setEnabled(not busy)
        self.sign_in_button.setEnabled(not busy)

    def show_message(self, text: str, error: bool = True) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else INFO_STYLE)

    def done(self, result: int) -> None:
        self.watchdog.stop()
        self.runner.shutdown(wait_ms=0)  # a late result is dropped, not delivered
        super().done(result)


class ProfilesDialog(QDialog):
    """Add, edit and remove server profiles (the built-in demo profile is read-only)."""

    def __init__(self, profiles: ProfileStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profiles = profiles
        self.setObjectName("profilesDialog")
        self.setWindowTitle(translate("Login", "Server profiles"))
        self.list = QListWidget()
        self.list.currentTextChanged.connect(self._show)
        self.name = QLineEdit()
        self.name.setObjectName("profileName")
        self.host = QLineEdit()
        self.host.setObjectName("host")
        self.port = QSpinBox()
        self.port.setObjectName("port")
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.database = QLineEdit("landrec")
        self.database.setObjectName("database")
        self.tls = QComboBox()
        self.tls.setObjectName("tlsMode")
        for mode in REMOTE_TLS_MODES:
            self.tls.addItem(mode, mode)
        self.ca_file = QLineEdit()
        self.ca_file.setObjectName("caFile")
        self.ca_file.setPlaceholderText(translate("Login", "empty: the system's CA list"))
        browse = QPushButton(translate("Login", "Browse…"))
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)
        self.message = QLabel()
        self.message.setObjectName("profileMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)

        form = QFormLayout()
        form.addRow(translate("Login", "Profile name:"), self.name)
        form.addRow(translate("Login", "Host:"), self.host)
        form.addRow(translate("Login", "Port:"), self.port)
        form.addRow(translate("Login", "Database:"), self.database)
        form.addRow(translate("Login", "TLS mode:"), self.tls)
        form.addRow(translate("Login", "CA file:"), ca_row)
        self.editor = QWidget()
        self.editor.setLayout(form)

        new = QPushButton(translate("Login", "New"))
        new.clicked.connect(self._new)
        self.save_button = QPushButton(translate("Login", "Save"))
        self.save_button.setObjectName("saveProfile")
        self.save_button.clicked.connect(self.save_current)
        self.remove_button = QPushButton(translate("Login", "Remove"))
        self.remove_button.clicked.connect(self._remove)
        close = QPushButton(translate("Login", "Close"))
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (new, self.save_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        right = QVBoxLayout()
        right.addWidget(self.editor)
        right.addWidget(self.message)
        right.addLayout(buttons)
        layout.addLayout(right, 2)
        self._editing: str | None = None
        self._reload()

    def _reload(self, select: str | None = None) -> None:
        self.list.clear()
        for p in self.profiles.profiles:
            self.list.addItem(p.name)
        if select:
            matches = self.list.findItems(select, Qt.MatchFlag.MatchExactly)
            if matches:
                self.list.setCurrentItem(matches[0])
        elif self.list.count():
            self.list.setCurrentRow(0)
        else:
            self._new()

    def _show(self, name: str) -> None:
        p = self.profiles.get(name)
        if p is None:
            return
        self._editing = p.name
        self.name.setText(p.name)
        self.host.setText(p.host)
        self.port.setValue(p.port)
        self.database.setText(p.database)
        index = self.tls.findData(p.tls_mode)
        if index < 0:  # the demo profile's "disable" is not offered for remote servers
            self.tls.addItem(p.tls_mode, p.tls_mode)
            index = self.tls.findData(p.tls_mode)
        self.tls.setCurrentIndex(index)
        self.ca_file.setText(p.ca_file or "")
        self.editor.setEnabled(not p.builtin)
        self.save_button.setEnabled(not p.builtin)
        self.remove_button.setEnabled(not p.builtin)
        self.message.clear()

    def _new(self) -> None:
        self._editing = None
        self.list.clearSelection()
        for w in (self.name, self.host, self.ca_file):
            w.clear()
        self.port.setValue(DEFAULT_PORT)
        self.database.setText("landrec")
        self.tls.setCurrentIndex(self.tls.findData("verify-full"))
        self.editor.setEnabled(True)
        self.save_button.setEnabled(True)
        self.remove_button.setEnabled(False)
        self.name.setFocus()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, translate("Login", "CA certificate"), "", "PEM (*.crt *.pem *.cer);;*"
        )
        if path:
            self.ca_file.setText(path)

    def save_current(self) -> bool:
        profile = Profile(
            name=self.name.text().strip(),
            host=self.host.text().strip(),
            port=self.port.value(),
            database=self.database.text().strip(),
            tls_mode=self.tls.currentData(),
            ca_file=self.ca_file.text().strip() or None,
            last_user=(self.profiles.get(self._editing).last_user if self._editing else None),
        )
        try:
            self.profiles.put(profile, old_name=self._editing)
            self.profiles.save()
        except ProfileError as exc:
            self.message.setText(_profile_problem(exc))
            return False
        except OSError as exc:
            self.message.setText(translate("Login", "Not saved: {error}").format(error=exc))
            return False
        self._reload(profile.name)
        return True

    def _remove(self) -> None:
        if self._editing is None:
            return
        answer = QMessageBox.question(
            self,
            self.windowTitle(),
            translate("Login", "Remove the profile {name}?").format(name=self._editing),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.profiles.remove(self._editing)
            self.profiles.save()
            self._reload()


def _profile_problem(exc: ProfileError) -> str:
    """The Vietnamese sentence for a refused profile, by the field at fault."""
    texts = {
        "name": translate(
            "Login", "The profile name must have 1–80 characters and differ from the others."
        ),
        "host": translate("Login", "The host must be a host name or an IP address."),
        "port": translate("Login", "The port must be between 1 and 65535."),
        "database": translate("Login", "The database name must have 1–63 characters."),
        "tls_mode": translate(
            "Login", "A remote server must be verified: TLS mode verify-full or verify-ca."
        ),
        "ca_file": translate("Login", "The CA file does not exist."),
    }
    text = texts.get(exc.field_name or "")
    if text is None:
        return translate("Login", "Not saved: {error}").format(error=exc)
    return translate("Login", "Not saved: {error}").format(error=text)


class SignInFlow(QObject):
    """Login → (first-login) password change → (administrators) TOTP → ``signed_in``."""

    signed_in = Signal(object)
    cancelled = Signal()

    def __init__(
        self,
        profiles: ProfileStore,
        *,
        profile_name: str | None = None,
        user: str | None = None,
        connect_timeout: int = CONNECT_TIMEOUT_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.login = LoginDialog(
            profiles, profile_name=profile_name, user=user, connect_timeout=connect_timeout
        )
        self.login.session_ready.connect(self._signed_in)
        self.login.rejected.connect(self.cancelled)
        self.session: Session | None = None
        self.password_dialog = None
        self.totp_dialog = None

    def start(self) -> LoginDialog:
        self.login.show()
        self.login.raise_()
        self.login.activateWindow()
        return self.login

    def _signed_in(self, session: Session) -> None:
        self.session = session
        account = session.account
        if account is not None and account.must_change_password:
            from app.ui.password_dialog import PasswordDialog

            self.login.hide()
            self.password_dialog = PasswordDialog(session, first_login=True)
            self.password_dialog.accepted.connect(self._password_changed)
            self.password_dialog.rejected.connect(self._password_refused)
            self.password_dialog.show()
            return
        self._password_changed()

    def _password_refused(self) -> None:
        # Without the change the account may not be used: back to the login form.
        session, self.session = self.session, None
        if session is not None:
            self.login.runner.submit(session.close, lambda _: None)
        self.login.show()
        self.login.show_message(
            translate("Login", "You must change the password before using LandRec.")
        )

    def _password_changed(self) -> None:
        session = self.session
        assert session is not None
        account = session.account
        if account is not None and account.is_administrator and not account.mfa_verified:
            from app.ui.totp_dialog import TotpDialog

            self.login.hide()
            self.totp_dialog = TotpDialog(session)
            self.totp_dialog.finished.connect(lambda _: self._finish())
            self.totp_dialog.show()
            return
        self._finish()

    def _finish(self) -> None:
        session = self.session
        self.login.blockSignals(True)  # closing the form is not a cancel
        self.login.accept()
        self.login.blockSignals(False)
        self.signed_in.emit(session)
