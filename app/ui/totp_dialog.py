"""The administrator's second factor: a 6-digit TOTP code, checked by the server.

``sys.verify_totp`` runs on the session's own connection: the verification holds for
that connection, which is why administration goes through ``Session.run``. Skipping
keeps the person signed in with administration locked (the server refuses it anyway).
"""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.session import Session, SignInError
from app.ui.i18n import translate
from app.ui.login import ERROR_STYLE, INFO_STYLE, sign_in_message
from app.ui.tasks import TaskRunner


class TotpDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self, max_threads=1)
        self.busy = False
        self.verified = False
        self.setObjectName("totpDialog")
        self.setWindowTitle(translate("Totp", "Two-factor authentication"))
        self.setMinimumWidth(420)

        intro = QLabel(
            translate(
                "Totp",
                "Administrator functions need a second factor. Enter the 6-digit code "
                "from your authenticator app.",
            )
        )
        intro.setWordWrap(True)
        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("code")
        self.code_edit.setMaxLength(6)
        self.code_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^[0-9]{0,6}$"), self.code_edit)
        )
        self.code_edit.setPlaceholderText("000000")
        font = self.code_edit.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setLetterSpacing(font.SpacingType.AbsoluteSpacing, 4)
        self.code_edit.setFont(font)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)

        self.buttons = QDialogButtonBox()
        self.verify_button = self.buttons.addButton(
            translate("Totp", "Verify"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.verify_button.setObjectName("verify")
        self.verify_button.setDefault(True)
        skip = self.buttons.addButton(
            translate("Totp", "Continue without administration"),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        skip.setObjectName("skip")
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.code_edit)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.code_edit.setFocus()

    def attempt(self) -> None:
        if self.busy:
            return
        code = self.code_edit.text()
        if len(code) != 6 or not code.isdigit():
            self._error(translate("Totp", "Enter all 6 digits."))
            return
        self.busy = True
        self.verify_button.setEnabled(False)
        self.message.setStyleSheet(INFO_STYLE)
        self.message.setText(translate("Totp", "Checking the code…"))
        session = self.session
        self.runner.submit(lambda: session.verify_totp(code), self._done, self._failed)

    def _done(self, ok: bool) -> None:
        self.busy = False
        self.verify_button.setEnabled(True)
        if ok:
            self.verified = True
            self.accept()
            return
        self.code_edit.clear()
        self._error(translate("Totp", "The code is wrong or has expired. Enter the current code."))

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.verify_button.setEnabled(True)
        self.code_edit.clear()
        error = exc if isinstance(exc, SignInError) else SignInError(SignInError.SERVER, str(exc))
        if error.kind == SignInError.TOTP and error.detail:
            self._error(error.detail)
        else:
            self._error(sign_in_message(error))

    def _error(self, text: str) -> None:
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(text)
        self.code_edit.setFocus()

    def done(self, result: int) -> None:
        self.runner.shutdown(wait_ms=0)
        super().done(result)
