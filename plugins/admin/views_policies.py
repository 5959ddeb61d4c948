"""Policy settings: password rules, first-change deadline, inactivity lock, failed logins,
lockout, idle timeout — stored and enforced in the database (admin.set_policy may tighten
a policy within the regulation's bounds, never loosen it beyond them)."""

from __future__ import annotations

from PySide6.QtCore import QLocale
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from app.admin import api, forms
from app.plugin import AppContext, Text
from plugins.admin.views_common import (
    ERROR_STYLE,
    OK_STYLE,
    T_CLOSE,
    T_LOADING,
    call,
    open_gated,
    show_status,
)

LOCALE_VI = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
T_TITLE = Text("Chính sách mật khẩu và khóa tài khoản", "Password and lockout policies")
T_HEAD = (
    Text("Chính sách", "Policy"),
    Text("Giá trị", "Value"),
    Text("Giới hạn (mặc định)", "Bounds (default)"),
)
T_BOUNDS = Text("{min}–{max} (mặc định {default})", "{min}–{max} (default {default})")
T_SAVE = Text("Lưu", "Save")
T_SAVING = Text("Đang lưu…", "Saving…")
T_SAVED = Text("Đã lưu {n} thay đổi.", "{n} changes saved.")
T_NOTHING = Text("Không có thay đổi nào.", "Nothing changed.")
T_NOTE = Text(
    "Giới hạn theo TCVN 14423:2026 cấp độ 3, Thông tư 03/2017 và quy chế của tỉnh: được "
    "siết chặt hơn, không được nới lỏng. Mọi thay đổi được ghi nhật ký.",
    "Bounds from TCVN 14423:2026 level 3, Circular 03/2017 and the provincial regulation: "
    "policies may be tightened, never loosened. Every change is audited.",
)


#: The unit each policy counts in, by the end of its key (shown in the spin box).
UNITS: tuple[tuple[str, Text], ...] = (
    ("_minutes", Text(" phút", " min")),
    ("_minutes_admin", Text(" phút", " min")),
    ("_days", Text(" ngày", " days")),
    ("_length", Text(" ký tự", " characters")),
    ("failed_logins", Text(" lần", " times")),
    ("password_history", Text(" mật khẩu", " passwords")),
)


def unit_suffix(key: str) -> Text | None:
    return next((t for end, t in UNITS if key.endswith(end)), None)


class PoliciesDialog(QDialog):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.policies: dict[str, api.Policy] = {}
        self.spins: dict[str, QSpinBox] = {}
        self.busy = False
        self.setObjectName("policiesDialog")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(1000, 560)
        note = QLabel(ctx.text(T_NOTE))
        note.setWordWrap(True)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(0, 3)  # the descriptions: room for one line each
        self.grid.setColumnStretch(2, 1)
        self.grid.setVerticalSpacing(8)
        for col, head in enumerate(T_HEAD):
            label = QLabel(f"<b>{ctx.text(head)}</b>")
            self.grid.addWidget(label, 0, col)
        self.message = QLabel(ctx.text(T_LOADING))
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(
            ctx.text(T_SAVE), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setObjectName("save")
        self.save_button.setEnabled(False)
        buttons.addButton(ctx.text(T_CLOSE), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def load(self) -> None:
        call(self.ctx, api.list_policies, self.show_policies, self._error)

    def show_policies(self, policies: list[api.Policy]) -> None:
        self.policies = {p.key: p for p in policies}
        for row, p in enumerate(policies, start=1):
            spin = self.spins.get(p.key)
            if spin is None:
                spin = QSpinBox()
                spin.setObjectName(p.key)
                # Wide range on purpose: a value out of bounds gets a sentence, not a
                # silently clamped number.
                spin.setRange(0, 999_999)
                spin.setLocale(LOCALE_VI if self.ctx.lang != "en" else QLocale.c())
                spin.setGroupSeparatorShown(True)  # 1.440 phút, not 1440
                spin.setMinimumWidth(140)
                suffix = unit_suffix(p.key)
                if suffix is not None:
                    spin.setSuffix(self.ctx.text(suffix))
                label = QLabel(p.description)
                label.setWordWrap(True)
                label.setToolTip(p.key)
                self.grid.addWidget(label, row, 0)
                self.grid.addWidget(spin, row, 1)
                n = lambda v: forms.format_count(v, self.ctx.lang)  # noqa: E731
                bounds = self.ctx.text(T_BOUNDS).format(
                    min=n(p.min_value), max=n(p.max_value), default=n(p.default_value)
                )
                self.grid.addWidget(QLabel(bounds), row, 2)
                self.spins[p.key] = spin
            spin.setValue(p.value)
        self.save_button.setEnabled(True)
        self.message.clear()

    def changes(self) -> dict[str, int]:
        return {
            key: spin.value()
            for key, spin in self.spins.items()
            if spin.value() != self.policies[key].value
        }

    def save(self) -> None:
        if self.busy:
            return
        changes = self.changes()
        if not changes:
            show_status(self.message, self.ctx.text(T_NOTHING))
            return
        problems = [
            forms.policy_problem(self.policies[k], v, self.ctx.lang) for k, v in changes.items()
        ]
        problems = [p for p in problems if p]
        if problems:
            show_status(self.message, "\n".join(problems), ERROR_STYLE)
            return
        self.send(changes)

    def send(self, changes: dict[str, int]) -> None:
        """Straight to the server (which checks the bounds again)."""
        self.busy = True
        self.save_button.setEnabled(False)
        show_status(self.message, self.ctx.text(T_SAVING))

        def done(policies: list[api.Policy]) -> None:
            self.busy = False
            self.show_policies(policies)
            show_status(self.message, self.ctx.text(T_SAVED).format(n=len(changes)), OK_STYLE)

        def work(conn) -> list[api.Policy]:
            api.save_policies(conn, changes)
            return api.list_policies(conn)

        call(self.ctx, work, done, self._error)

    def _error(self, err: api.AdminError) -> None:
        self.busy = False
        self.save_button.setEnabled(bool(self.policies))
        show_status(self.message, err.message, ERROR_STYLE)


def show_policies(ctx: AppContext) -> PoliciesDialog | None:
    """Menu handler: Quản trị → Chính sách mật khẩu và khóa tài khoản."""
    return open_gated(ctx, lambda: PoliciesDialog(ctx, ctx.window), PoliciesDialog.load)
