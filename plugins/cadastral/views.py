"""Qt views of the cadastral subsystem (imported only when a command is used)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.plugin import AppContext, Text
from app.ui.i18n import format_float, format_int
from plugins.cadastral.queries import CommuneParcelStats, parcel_stats_by_commune

T_TITLE = Text("Thống kê số thửa theo xã", "Parcel count by commune")
T_LOADING = Text("Đang đọc dữ liệu…", "Reading the store…")
T_FAILED = Text("Không đọc được dữ liệu: {error}", "Cannot read the store: {error}")
T_EMPTY = Text("Chưa có xã nào trong cơ sở dữ liệu.", "No communes in the store yet.")
T_DONE = Text(
    "{communes} xã/phường, {parcels} thửa đất đang sử dụng.",
    "{communes} communes, {parcels} current parcels.",
)
T_TOTAL = Text("Tổng cộng", "Total")
T_COPY = Text("Sao chép", "Copy")
T_CLOSE = Text("Đóng", "Close")
T_FORMER = Text("(đơn vị cũ)", "(former unit)")
HEADERS = (
    Text("Mã xã", "Code"),
    Text("Tên xã, phường", "Commune"),
    Text("Số thửa", "Parcels"),
    Text("Diện tích đo (m²)", "Measured area (m²)"),
    Text("Diện tích pháp lý (m²)", "Legal area (m²)"),
    Text("Thửa trùng số", "Duplicate numbers"),
)


class CommuneStatsDialog(QDialog):
    """Parcel counts and areas per commune; the query runs on a worker thread."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[CommuneParcelStats] | None = None
        self.error: str | None = None
        self.setObjectName("communeStatsDialog")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(860, 520)

        layout = QVBoxLayout(self)
        self.status = QLabel(ctx.text(T_LOADING))
        self.status.setObjectName("statsStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("statsTable")
        self.table.setHorizontalHeaderLabels([ctx.text(h) for h in HEADERS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.copy_button = QPushButton(ctx.text(T_COPY))
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        close = QPushButton(ctx.text(T_CLOSE))
        close.clicked.connect(self.accept)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)

    def load(self) -> None:
        dsn = self.ctx.dsn
        self.ctx.run_in_background(
            lambda: parcel_stats_by_commune(dsn), self.show_rows, self.show_error
        )

    def show_error(self, exc: BaseException) -> None:
        self.error = str(exc) or type(exc).__name__
        self.status.setText(self.ctx.text(T_FAILED).format(error=self.error))
        self.status.setStyleSheet("color: #b00020;")

    def show_rows(self, rows: list[CommuneParcelStats]) -> None:
        self.rows = rows
        lang = self.ctx.lang
        self.table.setRowCount(len(rows) + (1 if rows else 0))
        for i, r in enumerate(rows):
            name = f"{r.kind} {r.name}".strip()
            if not r.in_force:
                name += " " + self.ctx.text(T_FORMER)
            legal = "" if r.legal_area_m2 is None else format_float(float(r.legal_area_m2), lang)
            self._set_row(
                i,
                (
                    r.code,
                    name,
                    format_int(r.parcels, lang),
                    format_float(r.area_m2, lang),
                    legal,
                    format_int(r.duplicates, lang) if r.duplicates else "",
                ),
            )
        if rows:
            legal_known = [r.legal_area_m2 for r in rows if r.legal_area_m2 is not None]
            total = (
                "",
                self.ctx.text(T_TOTAL),
                format_int(sum(r.parcels for r in rows), lang),
                format_float(sum(r.area_m2 for r in rows), lang),
                format_float(float(sum(legal_known)), lang) if legal_known else "",
                format_int(sum(r.duplicates for r in rows), lang),
            )
            self._set_row(len(rows), total, bold=True)
            self.status.setText(
                self.ctx.text(T_DONE).format(
                    communes=format_int(len(rows), lang),
                    parcels=format_int(sum(r.parcels for r in rows), lang),
                )
            )
        else:
            self.status.setText(self.ctx.text(T_EMPTY))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.copy_button.setEnabled(bool(rows))

    def _set_row(self, row: int, values: tuple[str, ...], bold: bool = False) -> None:
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            if col >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, col, item)

    def as_tsv(self) -> str:
        """The table as tab-separated text (pastes into a spreadsheet)."""
        lines = ["\t".join(self.ctx.text(h) for h in HEADERS)]
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(self.table.columnCount())]
            lines.append("\t".join(c.text() if c else "" for c in cells))
        return "\n".join(lines) + "\n"

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.as_tsv())


def show_commune_stats(ctx: AppContext) -> CommuneStatsDialog:
    """Menu handler: Địa chính → Báo cáo → Thống kê số thửa theo xã."""
    dialog = CommuneStatsDialog(ctx, ctx.window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.load()
    return dialog
