"""Reports for the periodic account and access reviews: accounts by unit, activity per
person per month, login history and failed logins — computed in SQL (admin.report_*),
exportable to CSV/XLSX."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from app.admin import api, export, forms
from app.plugin import AppContext, Text
from plugins.admin.views_common import (
    ERROR_STYLE,
    T_CSV,
    T_LOADING,
    T_XLSX,
    RowsModel,
    call,
    export_model,
    open_gated,
    show_status,
)

T_TITLE = Text("Báo cáo tài khoản và truy cập", "Account and access reports")
REPORTS = (
    ("accounts", Text("Tài khoản theo đơn vị", "Accounts by unit")),
    ("activity", Text("Hoạt động theo người, theo tháng", "Activity per person and month")),
    ("logins", Text("Lịch sử đăng nhập", "Login history")),
    ("login_summary", Text("Đăng nhập và đăng nhập sai theo người", "Logins and failures")),
    ("backups", Text("Sao lưu và phục hồi dữ liệu", "Backups and restores")),
)
COLUMNS: dict[str, Text] = {
    "unit": Text("Đơn vị", "Unit"),
    "issued": Text("Cấp mới", "Issued"),
    "locked": Text("Bị khóa", "Locked"),
    "unlocked": Text("Mở khóa", "Unlocked"),
    "disabled": Text("Vô hiệu hóa", "Disabled"),
    "active_now": Text("Đang hoạt động", "Active now"),
    "locked_now": Text("Đang khóa", "Locked now"),
    "disabled_now": Text("Đã vô hiệu hóa", "Disabled now"),
    "total_now": Text("Tổng số", "Total"),
    "spellings": Text("Số cách ghi", "Spellings"),
    "month": Text("Tháng", "Month"),
    "actor": Text("Tên đăng nhập", "User name"),
    "role_name": Text("Tên đăng nhập", "User name"),
    "full_name": Text("Họ tên", "Full name"),
    "changes": Text("Thay đổi dữ liệu", "Data changes"),
    "inserts": Text("Thêm", "Inserts"),
    "updates": Text("Sửa", "Updates"),
    "deletes": Text("Xóa", "Deletes"),
    "events": Text("Sự kiện an ninh", "Security events"),
    "logged_at": Text("Thời điểm", "Time"),
    "outcome": Text("Kết quả", "Outcome"),
    "failure_kind": Text("Loại lỗi", "Failure"),
    "client": Text("Địa chỉ máy trạm", "Client address"),
    "logins": Text("Đăng nhập", "Logins"),
    "failures": Text("Đăng nhập sai", "Failures"),
    "last_login": Text("Lần đăng nhập cuối", "Last login"),
    "last_failure": Text("Lần sai cuối", "Last failure"),
    "lockouts": Text("Bị khóa do sai", "Lockouts"),
    "action": Text("Việc", "Action"),
    "backup": Text("Bản sao lưu", "Backup"),
    "size_mb": Text("Dung lượng (MB)", "Size (MB)"),
    "with_scans": Text("Gồm tệp quét", "With scans"),
    "host": Text("Máy thực hiện", "Host"),
    "destination": Text("Nơi lưu", "Stored in"),
    "audit_head": Text("Nhật ký đến bản ghi", "Audit log up to entry"),
    "reason": Text("Lý do", "Reason"),
    "authorised_by": Text("Người cho phép", "Authorised by"),
}
YES_NO = {True: Text("Có", "Yes"), False: Text("Không", "No")}
INFO_NOTICE_STYLE = "color: #1d4f2a; background: #eaf6ec; padding: 4px;"
OUTCOMES = {
    "LOGIN": Text("Thành công", "Success"),
    "LOGIN_FAILED": Text("Sai mật khẩu/mã", "Failed"),
}
T_FROM = Text("Từ ngày", "From")
T_TO = Text("đến ngày", "to")
T_ROLE = Text("Người (tên đăng nhập)", "Person (user name)")
T_FAILED = Text("Chỉ đăng nhập sai", "Failures only")
T_RUN = Text("Lập báo cáo", "Run")
#: Reports that read the logins the lockout agent records (P5).
LOGIN_REPORTS = ("logins", "login_summary")
WARNING_STYLE = "color: #8a4b00; background: #fff4e0; padding: 4px;"
T_ROWS = Text("{n} dòng, kỳ {start}–{end}.", "{n} rows, period {start}–{end}.")


class ReportsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.columns: list[str] = []
        self.setObjectName("reportsDialog")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(1100, 640)
        self.report = QComboBox()
        self.report.setObjectName("report")
        for key, label in REPORTS:
            self.report.addItem(ctx.text(label), key)
        self.report.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.report.currentIndexChanged.connect(self._report_changed)
        today = QDate.fromString(forms.vn_today().isoformat(), Qt.DateFormat.ISODate)
        self.from_date = self._date("fromDate", QDate(today.year(), today.month(), 1))
        self.to_date = self._date("toDate", today)
        self.role = QLineEdit()
        self.role.setObjectName("role")
        self.role.setPlaceholderText(ctx.text(T_ROLE))
        self.failed_only = QCheckBox(ctx.text(T_FAILED))
        self.failed_only.setObjectName("failedOnly")
        self.run_button = QPushButton(ctx.text(T_RUN))
        self.run_button.setObjectName("run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        top = QHBoxLayout()
        top.addWidget(self.report)
        top.addWidget(QLabel(ctx.text(T_FROM)))
        top.addWidget(self.from_date)
        top.addWidget(QLabel(ctx.text(T_TO)))
        top.addWidget(self.to_date)
        top.addWidget(self.role)
        top.addWidget(self.failed_only)
        top.addStretch(1)
        top.addWidget(self.run_button)
        self.model = RowsModel([], self)
        self.view = QTableView()
        self.view.setObjectName("rows")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.notice = QLabel()
        self.notice.setObjectName("agentNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(WARNING_STYLE)
        self.notice.hide()
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.csv_button = QPushButton(ctx.text(T_CSV))
        self.csv_button.clicked.connect(lambda: self.export(fmt="csv"))
        self.xlsx_button = QPushButton(ctx.text(T_XLSX))
        self.xlsx_button.clicked.connect(lambda: self.export(fmt="xlsx"))
        bar.addWidget(self.csv_button)
        bar.addWidget(self.xlsx_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addLayout(bar)
        self._report_changed()

    def _date(self, name: str, value: QDate) -> QDateEdit:
        edit = QDateEdit(value)
        edit.setObjectName(name)
        edit.setDisplayFormat("dd/MM/yyyy")
        edit.setCalendarPopup(True)
        return edit

    def _report_changed(self, *_args) -> None:
        logins = self.report.currentData() == "logins"
        self.role.setVisible(logins)
        self.failed_only.setVisible(logins)

    def run(self) -> None:
        key = self.report.currentData()
        start: date = self.from_date.date().toPython()
        end: date = self.to_date.date().toPython()
        role = self.role.text().strip() or None
        failed = self.failed_only.isChecked()
        self.run_button.setEnabled(False)
        show_status(self.status, self.ctx.text(T_LOADING))

        def work(conn):
            result = api.run_report(conn, key, start, end, role=role, failed_only=failed)
            agents = api.agent_status(conn) if key in LOGIN_REPORTS else None
            backups = api.backup_status(conn) if key == "backups" else None
            return result, agents, backups

        def done(answer) -> None:
            (names, rows), agents, backups = answer
            if backups is not None:
                self.show_notice(*forms.backup_notice(backups, lang=lang))
            else:
                self.show_notice(None if agents is None else forms.agent_notice(agents, lang=lang))
            self.show_result(key, start, end, names, rows)

        lang = self.ctx.lang
        call(self.ctx, work, done, self._error)

    def show_notice(self, text: str | None, warning: bool = True) -> None:
        """The header of a login report when the lockout agent does not run; of the backup
        report, how old the newest backup is (a warning when overdue)."""
        self.notice.setStyleSheet(WARNING_STYLE if warning else INFO_NOTICE_STYLE)
        self.notice.setProperty("warning", warning)
        self.notice.setText(text or "")
        self.notice.setVisible(bool(text))

    def show_result(self, key: str, start: date, end: date, names: list[str], rows) -> None:
        self.run_button.setEnabled(True)
        self.columns = names
        self.model.headers = [self.ctx.text(COLUMNS.get(n, Text(n, n))) for n in names]
        cells, values = [], []
        for row in rows:
            shown, kept = [], []
            for name, v in zip(names, row, strict=True):
                if name == "outcome" and v in OUTCOMES:
                    v = self.ctx.text(OUTCOMES[v])
                elif name == "action" and isinstance(v, str):
                    v = forms.action_name(v, self.ctx.lang)
                elif isinstance(v, bool):
                    v = self.ctx.text(YES_NO[v])
                elif isinstance(v, Decimal):
                    v = forms.format_decimal(v, self.ctx.lang)
                elif name == "month" and isinstance(v, str) and len(v) == 7:
                    v = f"{v[5:]}/{v[:4]}"  # 2026-11 → 11/2026
                kept.append(v)
                if isinstance(v, int) and not isinstance(v, bool):
                    shown.append(forms.format_count(v, self.ctx.lang))
                elif isinstance(v, datetime):
                    shown.append(export.text_value(v))
                else:
                    shown.append("" if v is None else str(v))
            cells.append(shown)
            values.append(kept)
        self.model.right_aligned = {
            i for i, v in enumerate(rows[0] if rows else ()) if isinstance(v, int)
        }
        self.model.set_rows(cells, values, list(rows))
        self.view.resizeColumnsToContents()
        period = {"start": start.strftime("%d/%m/%Y"), "end": end.strftime("%d/%m/%Y")}
        show_status(self.status, self.ctx.text(T_ROWS).format(n=len(rows), **period))

    def export(self, fmt: str = "xlsx", path: str | None = None) -> None:
        key = self.report.currentData()
        export_model(self.ctx, self, self.model, f"report.{key}", self.status, path, fmt)

    def _error(self, err: api.AdminError) -> None:
        self.run_button.setEnabled(True)
        show_status(self.status, err.message, ERROR_STYLE)


def show_reports(ctx: AppContext) -> ReportsDialog | None:
    """Menu handler: Quản trị → Báo cáo tài khoản và truy cập."""
    return open_gated(ctx, lambda: ReportsDialog(ctx, ctx.window), ReportsDialog.run)
