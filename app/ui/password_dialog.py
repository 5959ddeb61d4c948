"""Change the password: current, new, repeat. The server's policy decides.

The dialog checks only what needs no server (repeat matches, differs from the current
one); the policy itself (length, classes, user name, common and recent passwords) is
``sys.change_password``'s, whose Vietnamese refusal is shown word for word. After the
change the session reconnects with the new password.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.session import Session, SignInError
from app.ui.i18n import translate
from app.ui.login import ERROR_STYLE, INFO_STYLE, sign_in_message
from app.ui.tasks import TaskRunner


class PasswordDialog(QDialog):
    def __init__(
        self, session: Session, first_login: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self, max_threads=1)
        self.busy = False
        self.changed = False
        self.setObjectName("passwordDialog")
        self.setWindowTitle(translate("Password", "Change password"))
        self.setMinimumWidth(440)

        intro = QLabel(
            translate(
                "Password",
                "This is your first sign-in, or your password was reset: choose a new "
                "password before you continue.",
            )
            if first_login
            else translate("Password", "Choose a new password for {user}.").format(
                user=session.user
            )
        )
        intro.setObjectName("intro")
        intro.setWordWrap(True)
        rules = QLabel(
            translate(
                "Password",
                "More than 8 characters, with upper-case and lower-case letters, a digit "
                "and a special character; not containing the user name, not a common "
                "password, not one of your last 5.",
            )
        )
        rules.setWordWrap(True)
        rules.setStyleSheet(INFO_STYLE)

        self.old_edit = self._password_field("oldPassword")
        self.new_edit = self._password_field("newPassword")
        self.repeat_edit = self._password_field("repeatPassword")
        form = QFormLayout()
        form.addRow(translate("Password", "Current password:"), self.old_edit)
        form.addRow(translate("Password", "New password:"), self.new_edit)
        form.addRow(translate("Password", "Repeat the new password:"), self.repeat_edit)

        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)

        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(
            translate("Password", "Change password"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("change")
        self.ok_button.setDefault(True)
        self.buttons.addButton(
            translate("Password", "Cancel"), QDialogButtonBox.ButtonRole.RejectRole
        ).setObjectName("cancel")
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(rules)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.old_edit.setFocus()

    @staticmethod
    def _password_field(name: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setMaxLength(1000)
        return edit

    def attempt(self) -> None:
        if self.busy:
            return
        old, new, repeat = self.old_edit.text(), self.new_edit.text(), self.repeat_edit.text()
        if not old or not new:
            self.message.setText(translate("Password", "Enter the current and the new password."))
            return
        if new != repeat:
            self.message.setText(translate("Password", "The two new passwords differ."))
            self.repeat_edit.clear()
            self.repeat_edit.setFocus()
            return
        if new == old:
            self.message.setText(
                translate("Password", "The new password must differ from the current one.")
            )
            return
        self._set_busy(True)
        self.message.setStyleSheet(INFO_STYLE)
        self.message.setText(translate("Password", "Changing the password…"))
        session = self.session
        self.runner.submit(lambda: session.change_password(old, new), self._done, self._failed)

    def _done(self, _: object) -> None:
        self._set_busy(False)
        self.changed = True
        for edit in (self.old_edit, self.new_edit, self.repeat_edit):
            edit.clear()
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.message.setStyleSheet(ERROR_STYLE)
        error = exc if isinstance(exc, SignInError) else SignInError(SignInError.SERVER, str(exc))
        if error.kind == SignInError.POLICY:
            self.message.setText(error.detail)  # the server's own (Vietnamese) reason
            self.new_edit.clear()
            self.repeat_edit.clear()
            self.new_edit.setFocus()
        elif error.kind == SignInError.OLD_PASSWORD_WRONG:
            self.message.setText(translate("Password", "The current password is wrong."))
            self.old_edit.clear()
            self.old_edit.setFocus()
        else:
            self.message.setText(sign_in_message(error))

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for w in (self.old_edit, self.new_edit, self.repeat_edit, self.ok_button):
            w.setEnabled(not busy)

    def done(self, result: int) -> None:
        self.runner.shutdown(wait_ms=0)
        super().done(result)
