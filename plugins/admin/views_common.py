"""What the administration windows share: the gate, calls on the verified connection,
a table model, export, date formats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QWidget

from app.admin import api, export
from app.plugin import AppContext, Text

ERROR_STYLE = "color: #b00020;"
OK_STYLE = "color: #1b7f3b;"
INFO_STYLE = "color: #5d7384;"

T_NOT_ADMIN = Text(
    "Chức năng quản trị chỉ dành cho quản trị viên hệ thống. Tài khoản của bạn không có quyền này.",
    "Administration is for system administrators only. Your account does not have this right.",
)
T_NO_MFA = Text(
    "Cần xác thực hai lớp (mã TOTP) trong phiên này trước khi dùng chức năng quản trị: "
    "Tệp → Xác thực hai lớp…",
    "Administration needs the second factor (TOTP code) in this session first: "
    "File → Two-factor authentication…",
)
T_NO_ACCOUNT = Text(
    "Phiên này không đăng nhập bằng tài khoản cá nhân; hãy đăng nhập bằng tài khoản quản trị.",
    "This session is not signed in with a personal account; sign in as an administrator.",
)
T_TITLE = Text("Quản trị hệ thống", "System administration")
T_LOADING = Text("Đang đọc dữ liệu…", "Reading…")
T_EXPORTED = Text("Đã xuất {rows} dòng ra {file}.", "Exported {rows} rows to {file}.")
T_EXPORT_FILTER = Text(
    "Bảng tính Excel (*.xlsx);;Tệp CSV (*.csv)", "Excel workbook (*.xlsx);;CSV file (*.csv)"
)
T_EXPORT_TITLE = Text("Xuất dữ liệu", "Export")
T_CSV = Text("Xuất CSV…", "Export CSV…")
T_XLSX = Text("Xuất Excel…", "Export Excel…")
T_CLOSE = Text("Đóng", "Close")
T_REFRESH = Text("Làm mới", "Refresh")


def gate(ctx: AppContext) -> str | None:
    """Why this session may not open the module (None: it may). The database refuses
    anyway; this only tells the person before they try."""
    session = getattr(ctx, "session", None)
    account = getattr(session, "account", None)
    if account is None:
        return ctx.text(T_NO_ACCOUNT)
    if not account.is_administrator:
        return ctx.text(T_NOT_ADMIN)
    if not account.mfa_verified:
        return ctx.text(T_NO_MFA)
    return None


def refuse(ctx: AppContext, message: str) -> QMessageBox:
    """Say why, without blocking (the box is returned so tests can read it)."""
    box = QMessageBox(QMessageBox.Icon.Warning, ctx.text(T_TITLE), message, parent=ctx.window)
    box.setObjectName("adminRefused")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


W = TypeVar("W", bound=QWidget)


def open_gated(ctx: AppContext, make: Callable[[], W], start: Callable[[W], None]) -> W | None:
    """Open an administration window the menu handlers' way: refuse with the gate's reason
    (nothing is built), else build it, delete it on close, show it and ``start`` its first
    read."""
    why = gate(ctx)
    if why:
        refuse(ctx, why)
        return None
    window = make()
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    start(window)
    return window


def call(
    ctx: AppContext,
    fn: Callable[[Any], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[api.AdminError], None],
) -> None:
    """Run ``fn(conn)`` on the administrator's own (TOTP-verified) connection, off the UI
    thread; errors come back as :class:`~app.admin.api.AdminError` in Vietnamese."""
    session = ctx.session  # type: ignore[attr-defined]
    ctx.run_in_background(
        lambda: session.run(fn), on_done, lambda exc: on_error(api.admin_error(exc))
    )


def show_status(label: QLabel, text: str, style: str = INFO_STYLE) -> None:
    label.setStyleSheet(style)
    label.setText(text)


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return export.text_value(value)[:16]  # dd/mm/yyyy HH:MM, Vietnam time


def fmt_date(value: date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


class RowsModel(QAbstractTableModel):
    """A read-only table: display strings per cell, the source objects kept beside."""

    def __init__(self, headers: Sequence[str], parent=None) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self.cells: list[list[str]] = []
        self.values: list[list[Any]] = []  # what the export writes (real dates, numbers)
        self.objects: list[Any] = []
        self.right_aligned: set[int] = set()

    def set_rows(self, cells: list[list[str]], values: list[list[Any]], objects: list[Any]):
        self.beginResetModel()
        self.cells, self.values, self.objects = cells, values, objects
        self.endResetModel()

    def append_rows(self, cells: list[list[str]], values: list[list[Any]], objects: list[Any]):
        if not cells:
            return
        first = len(self.cells)
        self.beginInsertRows(QModelIndex(), first, first + len(cells) - 1)
        self.cells += cells
        self.values += values
        self.objects += objects
        self.endInsertRows()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.cells)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cells[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.right_aligned:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None


def export_model(
    ctx: AppContext,
    parent: QWidget,
    model: RowsModel,
    what: str,
    status: QLabel,
    path: str | None = None,
    fmt: str = "xlsx",
) -> None:
    """Write the model's rows (asks for a file unless ``path`` is given), off the UI thread,
    then record the export in the audit log (EXPORT event)."""
    if path is None:
        suggested = f"{what.replace('.', '_')}.{fmt}"
        filters = ctx.text(T_EXPORT_FILTER).split(";;")
        chosen = filters[0] if fmt == "xlsx" else filters[1]
        path, _ = QFileDialog.getSaveFileName(
            parent, ctx.text(T_EXPORT_TITLE), suggested, ";;".join(filters), chosen
        )
        if not path:
            return
        if not path.lower().endswith((".xlsx", ".csv")):
            path += f".{fmt}"
    headers, rows = list(model.headers), [list(v) for v in model.values]
    target = path

    def work(conn):
        n = export.write_table(target, headers, rows, sheet=what)
        api.report_export(conn, what, n, target)
        return n

    def done(n: int) -> None:
        show_status(status, ctx.text(T_EXPORTED).format(rows=n, file=target), OK_STYLE)

    call(ctx, work, done, lambda err: show_status(status, err.message, ERROR_STYLE))
