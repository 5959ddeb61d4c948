"""Accounts: the list with filters, create (one-time password), reset, lock/unlock,
disable. Every action is one admin.* call on the verified connection, audited there."""

from __future__ import annotations

from PySide6.QtCore import QDate, QRegularExpression, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.admin import api, forms
from app.plugin import AppContext, Text
from plugins.admin.views_common import (
    ERROR_STYLE,
    INFO_STYLE,
    OK_STYLE,
    T_CLOSE,
    T_CSV,
    T_LOADING,
    T_REFRESH,
    T_XLSX,
    RowsModel,
    call,
    export_model,
    fmt_date,
    fmt_time,
    open_gated,
    show_status,
)
from plugins.admin.views_rights import RightsEditor, show_rights_editor

T_TITLE = Text("Tài khoản người dùng", "User accounts")
HEADERS = (
    Text("Tên đăng nhập", "User name"),
    Text("Họ tên", "Full name"),
    Text("Số định danh", "ID number"),
    Text("Đơn vị", "Unit"),
    Text("Chức vụ", "Position"),
    Text("Loại tài khoản", "Kind"),
    Text("Địa bàn", "Area"),
    Text("Trạng thái", "State"),
    Text("Đăng nhập cuối", "Last login"),
    Text("Cấp ngày", "Issued"),
    Text("Hết hạn", "Access until"),
    Text("Lý do khóa, vô hiệu hóa", "Lock or disable reason"),  # last: long sentences
)
T_NEVER = Text("Chưa đăng nhập", "Never")
T_ALL = Text("— tất cả —", "— all —")
T_UNIT = Text("Đơn vị:", "Unit:")
T_COMMUNE = Text("Xã:", "Commune:")
T_KIND = Text("Loại:", "Kind:")
T_STATE = Text("Trạng thái:", "State:")
T_LAST = Text("Đăng nhập:", "Last login:")
T_SEARCH = Text("Tìm tên, số định danh…", "Search name, ID number…")
LAST_LOGIN = (
    ("any", T_ALL),
    ("7d", Text("trong 7 ngày", "within 7 days")),
    ("30d", Text("không đăng nhập ≥ 30 ngày", "none for 30+ days")),
    ("never", Text("chưa bao giờ", "never")),
)
T_CREATE = Text("Tạo tài khoản…", "New account…")
T_RIGHTS = Text("Phân quyền…", "Rights…")
T_EDIT = Text("Sửa thông tin…", "Edit details…")
T_RESET = Text("Đặt lại mật khẩu", "Reset password")
T_LOCK = Text("Khóa…", "Lock…")
T_UNLOCK = Text("Mở khóa", "Unlock")
T_DISABLE = Text("Vô hiệu hóa…", "Disable…")
T_COUNT = Text("{first}–{last} / {total} tài khoản.", "{first}–{last} of {total} accounts.")
T_NONE = Text("Không có tài khoản nào khớp điều kiện lọc.", "No account matches the filters.")
T_PREV = Text("◀ Trang trước", "◀ Previous")
T_NEXT = Text("Trang sau ▶", "Next ▶")
#: Accounts per page of the list (the server filters and pages: admin.account_page).
PAGE_SIZE = 200
T_CHOOSE = Text("Hãy chọn một tài khoản trong danh sách.", "Choose an account in the list.")
T_DONE = Text("{action}: {role}.", "{action}: {role}.")
T_WHOLE = Text("Toàn tỉnh", "Whole province")
T_LOCK_REASON = Text("Lý do khóa tài khoản {role}", "Why lock {role}")
T_DISABLE_REASON = Text(
    "Lý do vô hiệu hóa tài khoản {role} (không thể hoàn tác)",
    "Why disable {role} (cannot be undone)",
)
T_REASON_EMPTY = Text("Hãy ghi lý do (ví dụ: số văn bản đề nghị).", "Give the reason.")

# Create dialog
T_NEW_TITLE = Text("Tạo tài khoản người dùng", "New user account")
T_FULL_NAME = Text("Họ tên *", "Full name *")
T_ROLE = Text("Tên đăng nhập *", "User name *")
T_ID = Text("Số định danh cá nhân (CCCD) *", "Citizen ID number *")
T_UNIT_F = Text("Đơn vị công tác *", "Unit *")
T_POSITION = Text("Chức vụ", "Position")
T_PHONE = Text("Số điện thoại", "Phone")
T_EMAIL = Text("Thư điện tử", "E-mail")
T_PROJECT = Text("Dự án (nhà thầu)", "Contractor project")
T_NO_PROJECT = Text("— không —", "— none —")
T_UNTIL = Text("Hết hạn truy cập", "Access until")
T_UNTIL_ON = Text("Có thời hạn đến", "Ends on")
T_CREATE_OK = Text("Tạo tài khoản", "Create")
T_CANCEL = Text("Hủy", "Cancel")
T_CREATING = Text("Đang tạo tài khoản…", "Creating the account…")
T_DUP = Text(
    "Người có số định danh này đã có tài khoản “{role}” ({name}, {state}); mỗi người chỉ "
    "được có một tài khoản.",
    "This ID number already holds account “{role}” ({name}, {state}); one account per person.",
)
T_DUP_DISABLED = Text(
    "Số định danh này từng có tài khoản “{role}” (đã vô hiệu hóa): được cấp tài khoản mới.",
    "This ID number had account “{role}” (disabled): a new account may be issued.",
)

# One-time password
T_PW_TITLE = Text("Mật khẩu tạm thời", "Temporary password")
T_PW_TEXT = Text(
    "Mật khẩu tạm thời của tài khoản {role}. Chỉ hiển thị một lần và không được lưu ở đâu: "
    "hãy trao tận tay người dùng. Người dùng phải đổi mật khẩu khi đăng nhập lần đầu, trong "
    "thời hạn của chính sách mật khẩu.",
    "Temporary password of {role}. Shown once and stored nowhere: hand it to the person. "
    "They must change it at the first sign-in, within the password policy's deadline.",
)
T_COPY = Text("Sao chép", "Copy")
T_COPIED = Text("Đã sao chép.", "Copied.")

# Edit dialog
T_EDIT_TITLE = Text("Sửa thông tin tài khoản {role}", "Edit the details of {role}")
T_EDIT_NOTE = Text(
    "Quyền và địa bàn sửa ở “Phân quyền…”. Mọi thay đổi được ghi vào nhật ký hệ thống "
    "(giá trị cũ và mới).",
    "Rights and area are changed under “Rights…”. Every change is written to the audit log "
    "(old and new values).",
)
T_SAVE = Text("Lưu", "Save")
T_SAVING = Text("Đang lưu…", "Saving…")
T_NO_CHANGE = Text("Không có thông tin nào thay đổi.", "Nothing changed.")
T_UPDATED = Text("Đã lưu thông tin của {role}:", "Details of {role} saved:")


class ReasonDialog(QDialog):
    """One required line of text (the reason of a lock or a disable)."""

    def __init__(self, ctx: AppContext, prompt: str, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("reasonDialog")
        self.setWindowTitle(prompt)
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("reason")
        self.reason_edit.setMaxLength(500)
        self.message = QLabel()
        self.message.setObjectName("message")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        label = QLabel(prompt)
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def reason(self) -> str:
        return self.reason_edit.text().strip()

    def _ok(self) -> None:
        if not self.reason():
            show_status(self.message, self.ctx.text(T_REASON_EMPTY), ERROR_STYLE)
            return
        self.accept()


class OneTimePasswordDialog(QDialog):
    """Shows the temporary password once; closing forgets it (and clears the clipboard if
    it still holds it)."""

    def __init__(self, ctx: AppContext, role: str, password: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("oneTimePassword")
        self.setWindowTitle(ctx.text(T_PW_TITLE))
        text = QLabel(ctx.text(T_PW_TEXT).format(role=role))
        text.setWordWrap(True)
        self.password_edit = QLineEdit(password)
        self.password_edit.setObjectName("password")
        self.password_edit.setReadOnly(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() * 1.5)
        self.password_edit.setFont(mono)
        self.copy_button = QPushButton(ctx.text(T_COPY))
        self.copy_button.setObjectName("copy")
        self.copy_button.clicked.connect(self.copy)
        self.copied = QLabel()
        self._copied_text = ctx.text(T_COPIED)
        row = QHBoxLayout()
        row.addWidget(self.password_edit, 1)
        row.addWidget(self.copy_button)
        close = QPushButton(ctx.text(T_CLOSE))
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(row)
        layout.addWidget(self.copied)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(520)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.password_edit.text())
        self.copied.setText(self._copied_text)

    def done(self, result: int) -> None:
        clipboard = QGuiApplication.clipboard()
        if self.password_edit.text() and clipboard.text() == self.password_edit.text():
            clipboard.clear()
        self.password_edit.clear()  # the only copy the client held
        super().done(result)


class CreateAccountDialog(QDialog):
    """Person identity, unit, rights and area; OK sends admin.create_account. Refused input
    keeps the dialog open with the reason; nothing is created."""

    created = Signal(str, str)  # role, one-time password

    def __init__(self, ctx: AppContext, units: list[str], parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.busy = False
        self.duplicate: api.PersonMatch | None = None
        self._role_edited = False
        self.setObjectName("createAccountDialog")
        self.setWindowTitle(ctx.text(T_NEW_TITLE))
        self.resize(980, 760)

        self.full_name = QLineEdit()
        self.full_name.setObjectName("full_name")
        self.full_name.setMaxLength(200)
        self.full_name.textEdited.connect(self._suggest_role)
        self.role_name = QLineEdit()
        self.role_name.setObjectName("role_name")
        self.role_name.setMaxLength(40)
        self.role_name.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^[a-z0-9_]{0,40}$"), self.role_name)
        )
        self.role_name.textEdited.connect(lambda _: setattr(self, "_role_edited", True))
        self.id_number = QLineEdit()
        self.id_number.setObjectName("person_id_number")
        self.id_number.setMaxLength(12)
        self.id_number.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^[0-9]{0,12}$"), self.id_number)
        )
        self.id_number.setPlaceholderText("079012345678")
        self.id_number.textChanged.connect(self._id_changed)
        self.id_warning = QLabel()
        self.id_warning.setObjectName("idWarning")
        self.id_warning.setWordWrap(True)
        self.unit = QComboBox()
        self.unit.setObjectName("unit")
        self.unit.setEditable(True)
        self.unit.addItems(units)
        self.unit.setCurrentText("")
        self.position = QLineEdit()
        self.position.setObjectName("position")
        self.phone = QLineEdit()
        self.phone.setObjectName("phone")
        self.email = QLineEdit()
        self.email.setObjectName("email")
        self.project = QComboBox()
        self.project.setObjectName("project")
        self.project.addItem(ctx.text(T_NO_PROJECT), None)
        self.until_on = QCheckBox(ctx.text(T_UNTIL_ON))
        self.until_on.setObjectName("until_on")
        self.until = QDateEdit()
        self.until.setObjectName("access_until")
        self.until.setDisplayFormat("dd/MM/yyyy")
        self.until.setCalendarPopup(True)
        self.until.setDate(QDate.currentDate().addMonths(6))
        self.until.setEnabled(False)
        self.until_on.toggled.connect(self.until.setEnabled)
        until_row = QHBoxLayout()
        until_row.addWidget(self.until_on)
        until_row.addWidget(self.until)
        until_row.addStretch(1)

        form = QFormLayout()
        form.addRow(ctx.text(T_FULL_NAME), self.full_name)
        form.addRow(ctx.text(T_ID), self.id_number)
        form.addRow("", self.id_warning)
        form.addRow(ctx.text(T_ROLE), self.role_name)
        form.addRow(ctx.text(T_UNIT_F), self.unit)
        form.addRow(ctx.text(T_POSITION), self.position)
        form.addRow(ctx.text(T_PHONE), self.phone)
        form.addRow(ctx.text(T_EMAIL), self.email)
        form.addRow(ctx.text(T_PROJECT), self.project)
        form.addRow(ctx.text(T_UNTIL), until_row)

        self.rights = RightsEditor(ctx, self)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(
            ctx.text(T_CREATE_OK), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("ok")
        self.buttons.addButton(ctx.text(T_CANCEL), QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.rights, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.lookup_timer = QTimer(self)
        self.lookup_timer.setSingleShot(True)
        self.lookup_timer.setInterval(250)
        self.lookup_timer.timeout.connect(self._lookup)

    def load(self) -> None:
        self.rights.load_tree()
        call(self.ctx, api.list_projects, self._projects, lambda err: None)

    def _projects(self, projects: list[api.Project]) -> None:
        for p in projects:
            if p.state != "nghiem_thu":
                self.project.addItem(f"{p.code} — {p.name} ({p.contractor})", p.code)

    def _suggest_role(self, text: str) -> None:
        if not self._role_edited:
            self.role_name.setText(forms.suggest_role_name(text))

    # -- duplicate person, while typing ------------------------------------------------------
    def _id_changed(self, text: str) -> None:
        self.duplicate = None
        self.id_warning.clear()
        if len(text) == 12:
            self.lookup_timer.start()

    def _lookup(self) -> None:
        number = self.id_number.text()
        if len(number) != 12:
            return

        def done(matches: list[api.PersonMatch]) -> None:
            if self.id_number.text() != number:
                return  # typed on meanwhile
            live = [m for m in matches if m.state != "disabled"]
            if live:
                m = live[0]
                self.duplicate = m
                state = self.ctx.text(forms.STATE_NAMES.get(m.state, forms.STATE_NAMES["active"]))
                show_status(
                    self.id_warning,
                    self.ctx.text(T_DUP).format(role=m.role_name, name=m.full_name, state=state),
                    ERROR_STYLE,
                )
            elif matches:
                show_status(
                    self.id_warning,
                    self.ctx.text(T_DUP_DISABLED).format(role=matches[0].role_name),
                )

        call(self.ctx, lambda c: api.find_person(c, number), done, lambda err: None)

    # -- submit ------------------------------------------------------------------------------
    def draft(self) -> api.AccountDraft:
        rights, communes, whole = self.rights.value()
        until = self.until.date().toPython() if self.until_on.isChecked() else None
        return api.AccountDraft(
            role_name=self.role_name.text().strip(),
            person_id_number=self.id_number.text().strip(),
            full_name=" ".join(self.full_name.text().split()),
            unit=self.unit.currentText().strip(),
            position=self.position.text().strip() or None,
            phone=self.phone.text().strip() or None,
            email=self.email.text().strip() or None,
            rights=rights,
            communes=communes,
            whole_province=whole,
            contractor_project=self.project.currentData(),
            access_until=until,
        )

    def submit(self) -> None:
        if self.busy:
            return
        draft = self.draft()
        problems = forms.draft_problems(draft, self.ctx.lang)
        if problems:
            show_status(self.message, "\n".join(p for _, p in problems), ERROR_STYLE)
            field = self.findChild(QWidget, problems[0][0])
            if field is not None:
                field.setFocus()
            return
        self.busy = True
        self.ok_button.setEnabled(False)
        show_status(self.message, self.ctx.text(T_CREATING))
        call(
            self.ctx,
            lambda c: api.create_account(c, draft),
            lambda password: self._created(draft.role_name, password),
            self._refused,
        )

    def _created(self, role: str, password: str) -> None:
        self.busy = False
        self.created.emit(role, password)
        self.accept()

    def _refused(self, err: api.AdminError) -> None:
        self.busy = False
        self.ok_button.setEnabled(True)
        show_status(self.message, err.message, ERROR_STYLE)


class EditAccountDialog(QDialog):
    """A person's details after creation (a corrected name or ID number, a move to another
    unit, a contractor's project or end of access); OK sends admin.update_account."""

    saved = Signal(str, dict)  # role, {field: {"old", "new"}}

    def __init__(self, ctx: AppContext, row: api.AccountRow, units: list[str], parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.role = row.role_name
        self.before = api.AccountProfile.of(row)
        self.busy = False
        self.changes: dict[str, dict] | None = None
        self.setObjectName("editAccountDialog")
        self.setWindowTitle(ctx.text(T_EDIT_TITLE).format(role=row.role_name))
        self.setMinimumWidth(640)

        def line(name: str, value: str | None, max_length: int = 200) -> QLineEdit:
            edit = QLineEdit(value or "")
            edit.setObjectName(name)
            edit.setMaxLength(max_length)
            return edit

        self.full_name = line("full_name", row.full_name)
        self.id_number = line("person_id_number", row.person_id_number, 12)
        self.id_number.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^[0-9]{0,12}$"), self.id_number)
        )
        self.unit = QComboBox()
        self.unit.setObjectName("unit")
        self.unit.setEditable(True)
        self.unit.addItems(units)
        self.unit.setCurrentText(row.unit)
        self.position = line("position", row.position)
        self.phone = line("phone", row.phone, 20)
        self.email = line("email", row.email, 254)
        self.project = QComboBox()
        self.project.setObjectName("project")
        self.project.addItem(ctx.text(T_NO_PROJECT), None)
        if row.contractor_project:
            self.project.addItem(row.contractor_project, row.contractor_project)
            self.project.setCurrentIndex(1)
        self.until_on = QCheckBox(ctx.text(T_UNTIL_ON))
        self.until_on.setObjectName("until_on")
        self.until = QDateEdit()
        self.until.setObjectName("access_until")
        self.until.setDisplayFormat("dd/MM/yyyy")
        self.until.setCalendarPopup(True)
        start = row.access_until or QDate.currentDate().addMonths(6).toPython()
        self.until.setDate(QDate(start.year, start.month, start.day))
        self.until_on.setChecked(row.access_until is not None)
        self.until.setEnabled(row.access_until is not None)
        self.until_on.toggled.connect(self.until.setEnabled)
        until_row = QHBoxLayout()
        until_row.addWidget(self.until_on)
        until_row.addWidget(self.until)
        until_row.addStretch(1)

        form = QFormLayout()
        form.addRow(ctx.text(T_ROLE).rstrip(" *"), QLabel(f"<b>{row.role_name}</b>"))
        form.addRow(ctx.text(T_FULL_NAME), self.full_name)
        form.addRow(ctx.text(T_ID), self.id_number)
        form.addRow(ctx.text(T_UNIT_F), self.unit)
        form.addRow(ctx.text(T_POSITION), self.position)
        form.addRow(ctx.text(T_PHONE), self.phone)
        form.addRow(ctx.text(T_EMAIL), self.email)
        form.addRow(ctx.text(T_PROJECT), self.project)
        form.addRow(ctx.text(T_UNTIL), until_row)
        note = QLabel(ctx.text(T_EDIT_NOTE))
        note.setWordWrap(True)
        note.setStyleSheet(INFO_STYLE)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(ctx.text(T_SAVE), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("ok")
        buttons.addButton(ctx.text(T_CANCEL), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def load(self) -> None:
        call(self.ctx, api.list_projects, self._projects, lambda err: None)

    def _projects(self, projects: list[api.Project]) -> None:
        for p in projects:
            if p.state == "nghiem_thu" or self.project.findData(p.code) >= 0:
                continue  # an accepted project takes no more accounts
            self.project.addItem(f"{p.code} — {p.name} ({p.contractor})", p.code)

    def profile(self) -> api.AccountProfile:
        until = self.until.date().toPython() if self.until_on.isChecked() else None
        return api.AccountProfile(
            person_id_number=self.id_number.text().strip(),
            full_name=" ".join(self.full_name.text().split()),
            unit=self.unit.currentText().strip(),
            position=self.position.text().strip() or None,
            phone=self.phone.text().strip() or None,
            email=self.email.text().strip() or None,
            contractor_project=self.project.currentData(),
            access_until=until,
        )

    def submit(self) -> None:
        if self.busy:
            return
        profile = self.profile()
        problems = forms.profile_problems(profile, self.before, self.ctx.lang)
        if problems:
            show_status(self.message, "\n".join(p for _, p in problems), ERROR_STYLE)
            field = self.findChild(QWidget, problems[0][0])
            if field is not None:
                field.setFocus()
            return
        if profile == self.before:
            show_status(self.message, self.ctx.text(T_NO_CHANGE))
            return
        self.busy = True
        self.ok_button.setEnabled(False)
        show_status(self.message, self.ctx.text(T_SAVING))
        role = self.role
        call(self.ctx, lambda c: api.update_account(c, role, profile), self._saved, self._refused)

    def _saved(self, changes: dict[str, dict]) -> None:
        self.busy = False
        self.changes = changes
        self.saved.emit(self.role, changes)
        self.accept()

    def _refused(self, err: api.AdminError) -> None:
        self.busy = False
        self.ok_button.setEnabled(True)
        show_status(self.message, err.message, ERROR_STYLE)


class AccountsWindow(QDialog):
    """The accounts list and its actions (a non-modal window of the Quản trị menu)."""

    changed = Signal()

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[api.AccountRow] = []  # the page shown
        self.total = 0
        self.offset = 0
        self.page: api.AccountPage | None = None
        self.facets: dict[str, list[api.Facet]] = {}
        self._asked = 0
        self.dialogs: list[QDialog] = []  # the last sub-dialogs opened (tests read them)
        self.last_password_dialog: OneTimePasswordDialog | None = None
        self.setObjectName("accountsWindow")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(1280, 640)

        def combo(name: str) -> QComboBox:
            box = QComboBox()
            box.setObjectName(name)
            box.setMinimumContentsLength(10)
            return box

        self.unit_filter = combo("unitFilter")
        self.commune_filter = combo("communeFilter")
        self.kind_filter = combo("kindFilter")
        self.kind_filter.addItem(ctx.text(T_ALL), None)
        for key, label in forms.ACCOUNT_KIND_NAMES.items():
            self.kind_filter.addItem(ctx.text(label), key)
        self.state_filter = combo("stateFilter")
        self.state_filter.addItem(ctx.text(T_ALL), None)
        for key, label in forms.STATE_NAMES.items():
            self.state_filter.addItem(ctx.text(label), key)
        self.login_filter = combo("loginFilter")
        for key, label in LAST_LOGIN:
            self.login_filter.addItem(ctx.text(label), key)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(ctx.text(T_SEARCH))
        # Connected once every filter exists (filling them emits too).
        for box in (self.unit_filter, self.commune_filter, self.kind_filter,
                    self.state_filter, self.login_filter):  # fmt: skip
            box.currentIndexChanged.connect(self.apply_filters)
        # One query per pause in typing, not per key.
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(300)
        self.search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _: self.search_timer.start())
        filters = QHBoxLayout()
        for label, widget in (
            (T_UNIT, self.unit_filter),
            (T_COMMUNE, self.commune_filter),
            (T_KIND, self.kind_filter),
            (T_STATE, self.state_filter),
            (T_LAST, self.login_filter),
        ):
            filters.addWidget(QLabel(ctx.text(label)))
            filters.addWidget(widget)
        filters.addWidget(self.search, 1)

        self.model = RowsModel([ctx.text(h) for h in HEADERS], self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("accounts")
        self.table.setModel(self.proxy)
        # Sorted by user name on the server; sorting one page here would mislead.
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

        self.status = QLabel(ctx.text(T_LOADING))
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for name, text, slot in (
            ("create", T_CREATE, self.open_create),
            ("edit", T_EDIT, self.open_edit),
            ("rights", T_RIGHTS, self.open_rights),
            ("reset", T_RESET, self.reset_password),
            ("lock", T_LOCK, self.open_lock),
            ("unlock", T_UNLOCK, self.unlock),
            ("disable", T_DISABLE, self.open_disable),
            ("refresh", T_REFRESH, self.load),
            ("csv", T_CSV, lambda: self.export(fmt="csv")),
            ("xlsx", T_XLSX, lambda: self.export(fmt="xlsx")),
        ):
            button = QPushButton(ctx.text(text))
            button.setObjectName(name)
            button.clicked.connect(slot)
            bar.addWidget(button)
            self.buttons[name] = button
            if name == "disable":
                bar.addStretch(1)
        self.page_label = QLabel()
        self.page_label.setObjectName("pageLabel")
        paging = QHBoxLayout()
        for name, text, slot in (
            ("prev", T_PREV, self.prev_page),
            ("next", T_NEXT, self.next_page),
        ):
            button = QPushButton(ctx.text(text))
            button.setObjectName(name)
            button.setEnabled(False)
            button.clicked.connect(slot)
            self.buttons[name] = button
        paging.addWidget(self.status, 1)
        paging.addWidget(self.buttons["prev"])
        paging.addWidget(self.page_label)
        paging.addWidget(self.buttons["next"])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(paging)
        layout.addLayout(bar)
        self._update_buttons()

    # -- loading and filtering (in SQL, one page at a time) ---------------------------------
    def load(self) -> None:
        """Filter lists and the first page."""
        show_status(self.status, self.ctx.text(T_LOADING))
        call(self.ctx, api.account_facets, self.show_facets, self._error)
        self.load_page(0)

    def show_facets(self, facets: dict[str, list[api.Facet]]) -> None:
        self.facets = facets
        count = self.ctx.lang
        self._fill_filter(
            self.unit_filter,
            [(f.key, f"{f.label} ({forms.format_count(f.accounts, count)})")
             for f in facets.get("unit", [])],
        )  # fmt: skip
        self._fill_filter(
            self.commune_filter, [(int(f.key), f.label) for f in facets.get("commune", [])]
        )

    def _fill_filter(self, box: QComboBox, items: list[tuple]) -> None:
        current = box.currentData()
        box.blockSignals(True)
        box.clear()
        box.addItem(self.ctx.text(T_ALL), None)
        for key, label in items:
            box.addItem(label, key)
        index = box.findData(current) if current is not None else 0
        box.setCurrentIndex(max(0, index))
        box.blockSignals(False)

    def current_filter(self, offset: int = 0) -> api.AccountFilter:
        return api.AccountFilter(
            unit=self.unit_filter.currentData(),
            commune=self.commune_filter.currentData(),
            kind=self.kind_filter.currentData(),
            state=self.state_filter.currentData(),
            login=self.login_filter.currentData()
            if self.login_filter.currentData() != "any"
            else None,
            text=self.search.text().strip() or None,
            limit=PAGE_SIZE,
            offset=offset,
        )

    def apply_filters(self, *_args) -> None:
        """A filter changed: back to the first page (typing waits for a pause)."""
        self.search_timer.stop()
        self.load_page(0)

    def load_page(self, offset: int, then=None) -> None:
        f = self.current_filter(max(0, offset))
        self._asked += 1
        asked = self._asked

        def done(page: api.AccountPage) -> None:
            if asked != self._asked:
                return  # a newer filter was sent meanwhile
            self.show_page(page)
            if then is not None:
                then()

        call(self.ctx, lambda c: api.account_page(c, f), done, self._error)

    def show_page(self, page: api.AccountPage) -> None:
        self.page = page
        self.rows = page.rows
        self.total = page.total
        self.offset = page.offset
        lang = self.ctx.lang
        cells, values = [], []
        for r in page.rows:
            area = self.ctx.text(T_WHOLE) if r.whole_province else ", ".join(r.commune_names)
            kind = self.ctx.text(forms.ACCOUNT_KIND_NAMES.get(r.account_kind, T_ALL))
            state = self.ctx.text(forms.STATE_NAMES.get(r.effective_state, T_ALL))
            last = fmt_time(r.last_login_at) if r.last_login_at else self.ctx.text(T_NEVER)
            cells.append([
                r.role_name, r.full_name, r.person_id_number, r.unit, r.position or "", kind,
                area, state, last, fmt_time(r.issued_at)[:10], fmt_date(r.access_until),
                r.lock_reason or "",
            ])  # fmt: skip
            values.append([
                r.role_name, r.full_name, r.person_id_number, r.unit, r.position, kind, area,
                state, r.last_login_at, r.issued_at, r.access_until, r.lock_reason,
            ])  # fmt: skip
        self.model.set_rows(cells, values, page.rows)
        if page.rows:
            text = self.ctx.text(T_COUNT).format(
                first=forms.format_count(page.offset + 1, lang),
                last=forms.format_count(page.offset + len(page.rows), lang),
                total=forms.format_count(page.total, lang),
            )
            show_status(self.status, "")  # the count is beside the page buttons
        else:
            text = ""
            show_status(self.status, self.ctx.text(T_NONE))
        self.page_label.setText(text)
        self.buttons["prev"].setEnabled(page.offset > 0)
        self.buttons["next"].setEnabled(page.offset + len(page.rows) < page.total)
        self.table.resizeColumnsToContents()
        for col, cap in ((3, 260), (6, 260), (11, 420)):  # unit, area, reason: long texts
            if self.table.columnWidth(col) > cap:
                self.table.setColumnWidth(col, cap)
        self._update_buttons()

    def next_page(self) -> None:
        self.load_page(self.offset + PAGE_SIZE)

    def prev_page(self) -> None:
        self.load_page(max(0, self.offset - PAGE_SIZE))

    def unit_names(self) -> list[str]:
        """Known units, most common spelling of each (offered in the dialogs)."""
        return sorted({f.label for f in self.facets.get("unit", [])} | {r.unit for r in self.rows})

    # -- selection ---------------------------------------------------------------------------
    def select(self, role: str) -> bool:
        for i, r in enumerate(self.model.objects):
            if r.role_name == role:
                index = self.proxy.mapFromSource(self.model.index(i, 0))
                self.table.selectRow(index.row())
                return True
        return False

    def selected(self) -> api.AccountRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.objects[self.proxy.mapToSource(rows[0]).row()]

    def _update_buttons(self) -> None:
        r = self.selected()
        state = r.state if r else None
        self.buttons["edit"].setEnabled(r is not None and state != "disabled")
        self.buttons["rights"].setEnabled(r is not None and state != "disabled")
        self.buttons["reset"].setEnabled(r is not None and state != "disabled")
        self.buttons["lock"].setEnabled(state == "active")
        self.buttons["unlock"].setEnabled(state == "locked")
        self.buttons["disable"].setEnabled(r is not None and state != "disabled")

    def _need_selection(self) -> api.AccountRow | None:
        r = self.selected()
        if r is None:
            show_status(self.status, self.ctx.text(T_CHOOSE), ERROR_STYLE)
        return r

    # -- actions -----------------------------------------------------------------------------
    def _keep(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialogs = [d for d in self.dialogs[-4:] if d is not None] + [dialog]
        return dialog

    def open_create(self) -> CreateAccountDialog:
        dialog = CreateAccountDialog(self.ctx, self.unit_names(), self)
        self._keep(dialog)
        dialog.created.connect(self._created)
        dialog.open()
        dialog.load()
        return dialog

    def _created(self, role: str, password: str) -> None:
        self._show_password(role, password)
        show_status(self.status, self.ctx.text(T_DONE).format(
            action=self.ctx.text(T_CREATE_OK), role=role), OK_STYLE)  # fmt: skip
        self._reload(role)

    def _show_password(self, role: str, password: str) -> None:
        dialog = OneTimePasswordDialog(self.ctx, role, password, self)
        self._keep(dialog)
        self.last_password_dialog = dialog
        dialog.open()

    def open_edit(self) -> EditAccountDialog | None:
        r = self._need_selection()
        if r is None:
            return None
        dialog = EditAccountDialog(self.ctx, r, self.unit_names(), self)
        self._keep(dialog)
        dialog.saved.connect(self._edited)
        dialog.open()
        dialog.load()
        return dialog

    def _edited(self, role: str, changes: dict) -> None:
        head = self.ctx.text(T_UPDATED).format(role=role)
        show_status(self.status, f"{head} {forms.changes_text(changes, self.ctx.lang)}"
                    .replace("\n", "; "), OK_STYLE)  # fmt: skip
        self._reload(role)

    def open_rights(self) -> QDialog | None:
        r = self._need_selection()
        if r is None:
            return None
        dialog = show_rights_editor(self.ctx, r.role_name)
        if dialog is not None:
            dialog.saved.connect(lambda role: self._reload(role))
        return dialog

    def reset_password(self) -> None:
        r = self._need_selection()
        if r is None:
            return
        role = r.role_name
        call(
            self.ctx,
            lambda c: api.reset_password(c, role),
            lambda password: (self._show_password(role, password), self._reload(role)),
            self._error,
        )

    def open_lock(self) -> ReasonDialog | None:
        return self._reason(T_LOCK_REASON, api.lock_account, T_LOCK)

    def open_disable(self) -> ReasonDialog | None:
        return self._reason(T_DISABLE_REASON, api.disable_account, T_DISABLE)

    def _reason(self, prompt: Text, fn, action: Text) -> ReasonDialog | None:
        r = self._need_selection()
        if r is None:
            return None
        role = r.role_name
        dialog = ReasonDialog(self.ctx, self.ctx.text(prompt).format(role=role), self)
        self._keep(dialog)

        def go() -> None:
            reason = dialog.reason()
            self._act(lambda c: fn(c, role, reason), action, role)

        dialog.accepted.connect(go)
        dialog.open()
        return dialog

    def unlock(self) -> None:
        r = self._need_selection()
        if r is not None:
            role = r.role_name
            self._act(lambda c: api.unlock_account(c, role), T_UNLOCK, role)

    def _act(self, fn, action: Text, role: str) -> None:
        label = self.ctx.text(action).rstrip("…")

        def done(_result) -> None:
            show_status(self.status, self.ctx.text(T_DONE).format(action=label, role=role),
                        OK_STYLE)  # fmt: skip
            self._reload(role)

        call(self.ctx, fn, done, self._error)

    def _reload(self, role: str | None = None) -> None:
        """Filter lists and the page again after an action; the account stays selected
        (when it is on another page, the list is narrowed to it by the search box)."""
        message = (self.status.text(), self.status.styleSheet())

        def keep() -> None:
            if role and not self.select(role):
                self.search.blockSignals(True)
                self.search.setText(role)
                self.search.blockSignals(False)
                self.load_page(0, then=lambda: (self.select(role), restore()))
                return
            restore()

        def restore() -> None:
            self.status.setText(message[0])
            self.status.setStyleSheet(message[1])
            self.changed.emit()

        call(self.ctx, api.account_facets, self.show_facets, self._error)
        self.load_page(self.offset, then=keep)

    def export(self, fmt: str = "xlsx", path: str | None = None) -> None:
        export_model(self.ctx, self, self.model, "sys.account", self.status, path, fmt)

    def _error(self, err: api.AdminError) -> None:
        show_status(self.status, err.message, ERROR_STYLE)


def show_accounts(ctx: AppContext) -> AccountsWindow | None:
    """Menu handler: Quản trị → Tài khoản người dùng."""
    return open_gated(ctx, lambda: AccountsWindow(ctx, ctx.window), AccountsWindow.load)
