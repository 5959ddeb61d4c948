"""Audit viewer: filter the hash-chained log (admin.audit_entries), see the old/new diff of
an entry, verify the chain off the UI thread in short server-side steps with progress and
cancel (admin.audit_verify_start / _step / _cancel), export CSV/XLSX."""

from __future__ import annotations

import json
import time as clock
from datetime import datetime, time
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QRegularExpression, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.admin import api, export, forms
from app.plugin import AppContext, Text
from plugins.admin.views_common import (
    ERROR_STYLE,
    INFO_STYLE,
    OK_STYLE,
    T_CSV,
    T_LOADING,
    T_XLSX,
    RowsModel,
    call,
    export_model,
    open_gated,
    show_status,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PAGE = 500

T_TITLE = Text("Nhật ký hệ thống", "Audit log")
HEADERS = (
    Text("Số", "No."),
    Text("Thời điểm", "Time"),
    Text("Người thực hiện", "Actor"),
    Text("Hành động", "Action"),
    Text("Bảng", "Table"),
    Text("Khóa bản ghi", "Row key"),
    Text("Đối tượng", "Target"),
    Text("Biến động", "Change set"),
    Text("Máy trạm", "Client"),
)
T_PERSON = Text("Người:", "Person:")
T_FROM = Text("Từ ngày", "From")
T_TO = Text("Đến ngày", "To")
T_TABLE = Text("Bảng:", "Table:")
T_ACTION = Text("Hành động:", "Action:")
T_CHANGE_SET = Text("Biến động:", "Change set:")
T_ALL = Text("— tất cả —", "— all —")
T_SEARCH = Text("Tìm", "Search")
T_MORE = Text("Trang sau", "Older entries")
T_VERIFY = Text("Kiểm tra toàn vẹn", "Verify integrity")
T_VERIFYING = Text("Đang kiểm tra chuỗi băm của nhật ký…", "Checking the audit log's hash chain…")
T_INTACT = Text(
    "Nhật ký toàn vẹn: đã kiểm tra {n} bản ghi (đến bản ghi số {last}).",
    "Audit log intact: {n} entries checked (up to entry {last}).",
)
T_BROKEN = Text(
    "NHẬT KÝ BỊ CAN THIỆP: bản ghi số {entry} {why}; đã đọc {n} bản ghi. Báo ngay cho "
    "lãnh đạo đơn vị và khôi phục từ bản sao lưu theo quy trình.",
    "AUDIT LOG TAMPERED WITH: entry {entry} {why}; {n} entries read. Report it and restore "
    "from a backup as the procedure says.",
)
REASONS = {
    "edited": Text("đã bị sửa", "was edited"),
    "deleted": Text("đã bị xóa", "was deleted"),
    "re-ordered": Text("đã bị đổi chỗ", "was moved"),
}
T_PROGRESS = Text("Đã kiểm tra {n} / {m} bản ghi…", "{n} / {m} entries checked…")
T_CANCEL = Text("Hủy", "Cancel")
T_STOPPING = Text(
    "Đang dừng sau bước đang chạy ({n} / {m} bản ghi)…",
    "Stopping after the running step ({n} / {m} entries)…",
)
T_CANCELLED = Text(
    "Đã hủy kiểm tra sau {n} / {m} bản ghi: chưa có kết luận về nhật ký.",
    "Check cancelled after {n} / {m} entries: no conclusion about the log.",
)
T_COUNT = Text("{n} bản ghi.", "{n} entries.")
T_COUNT_MORE = Text("{n} bản ghi (còn nữa: Trang sau).", "{n} entries (more: Older entries).")
DIFF_HEADERS = (Text("Trường", "Field"), Text("Giá trị cũ", "Old"), Text("Giá trị mới", "New"))
T_DETAIL = Text("Chi tiết", "Detail")
CHANGED = QColor("#fff3c4")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class AuditViewer(QDialog):
    #: Entries in the first step of the integrity check; later steps are sized to take
    #: ≈ 0.2 s each (``verify_adapt``). Tests make both small.
    verify_step = api.VERIFY_STEP
    verify_adapt = True
    PROGRESS_AFTER_MS = 1000

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.filter: api.AuditFilter | None = None
        self.has_more = False
        self.integrity: api.Integrity | None = None
        self._asked = 0
        self.setObjectName("auditViewer")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(1280, 760)

        self.person = QComboBox()
        self.person.setObjectName("person")
        self.person.setEditable(True)
        self.person.setMinimumContentsLength(14)
        self.table_name = QComboBox()
        self.table_name.setObjectName("table")
        self.table_name.setEditable(True)
        self.table_name.setMinimumContentsLength(16)
        self.action = QComboBox()
        self.action.setObjectName("action")
        self.action.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.change_set = QLineEdit()
        self.change_set.setObjectName("changeSet")
        self.change_set.setMaximumWidth(110)
        self.change_set.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"^[0-9]{0,18}$"), self.change_set)
        )
        vn_today = forms.vn_today()  # the log's calendar, whatever the PC's time zone
        today = QDate(vn_today.year, vn_today.month, vn_today.day)
        self.from_on = QCheckBox(ctx.text(T_FROM))
        self.from_on.setObjectName("fromOn")
        self.from_date = self._date_edit("fromDate", today.addDays(-30))
        self.to_on = QCheckBox(ctx.text(T_TO))
        self.to_on.setObjectName("toOn")
        self.to_date = self._date_edit("toDate", today)
        self.from_on.toggled.connect(self.from_date.setEnabled)
        self.to_on.toggled.connect(self.to_date.setEnabled)
        self.search_button = QPushButton(ctx.text(T_SEARCH))
        self.search_button.setObjectName("search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)

        filters = QHBoxLayout()
        pairs = ((T_PERSON, self.person), (T_TABLE, self.table_name),
                 (T_ACTION, self.action), (T_CHANGE_SET, self.change_set))  # fmt: skip
        for label, widget in pairs:
            filters.addWidget(QLabel(ctx.text(label)))
            filters.addWidget(widget)
        for box, edit in ((self.from_on, self.from_date), (self.to_on, self.to_date)):
            filters.addWidget(box)
            filters.addWidget(edit)
        filters.addWidget(self.search_button)

        self.model = RowsModel([ctx.text(h) for h in HEADERS], self)
        self.model.right_aligned = {0, 7}
        self.view = QTableView()
        self.view.setObjectName("entries")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.show_entry(cur.row())
        )
        self.diff = QTableWidget(0, 3)
        self.diff.setObjectName("diff")
        self.diff.setHorizontalHeaderLabels([ctx.text(h) for h in DIFF_HEADERS])
        self.diff.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.diff.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff.verticalHeader().setVisible(False)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.diff)
        splitter.setSizes([480, 220])

        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.verify_label = QLabel()
        self.verify_label.setObjectName("integrity")
        self.verify_label.setWordWrap(True)
        bar = QHBoxLayout()
        self.more_button = QPushButton(ctx.text(T_MORE))
        self.more_button.setObjectName("more")
        self.more_button.setEnabled(False)
        self.more_button.clicked.connect(self.more)
        self.verify_button = QPushButton(ctx.text(T_VERIFY))
        self.verify_button.setObjectName("verify")
        self.verify_button.clicked.connect(self.verify)
        self.csv_button = QPushButton(ctx.text(T_CSV))
        self.csv_button.clicked.connect(lambda: self.export(fmt="csv"))
        self.xlsx_button = QPushButton(ctx.text(T_XLSX))
        self.xlsx_button.clicked.connect(lambda: self.export(fmt="xlsx"))
        # The check's progress, shown only once it has run for a second.
        self.verify_bar = QProgressBar()
        self.verify_bar.setObjectName("verifyProgress")
        self.verify_bar.setRange(0, 1000)
        self.verify_bar.setTextVisible(False)
        self.verify_bar.setMaximumWidth(260)
        self.verify_bar.hide()
        self.cancel_button = QPushButton(ctx.text(T_CANCEL))
        self.cancel_button.setObjectName("verifyCancel")
        self.cancel_button.clicked.connect(self.cancel_verify)
        self.cancel_button.hide()
        self._show_progress = QTimer(self)
        self._show_progress.setSingleShot(True)
        self._show_progress.setInterval(self.PROGRESS_AFTER_MS)
        self._show_progress.timeout.connect(self._reveal_progress)
        self.verify_state: str | None = None  # running / stopping / done / cancelled / failed
        self.verify_values: list[int] = []  # progress bar values, in order (tests read them)
        self._run: api.VerifyRun | None = None
        self._last: api.VerifyProgress | None = None
        self._step = self.verify_step
        for b in (self.more_button, self.verify_button):
            bar.addWidget(b)
        bar.addWidget(self.verify_bar)
        bar.addWidget(self.cancel_button)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.xlsx_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.verify_label)
        layout.addLayout(bar)

    def _date_edit(self, name: str, value: QDate) -> QDateEdit:
        edit = QDateEdit(value)
        edit.setObjectName(name)
        edit.setDisplayFormat("dd/MM/yyyy")
        edit.setCalendarPopup(True)
        edit.setEnabled(False)
        return edit

    # -- facets and search -------------------------------------------------------------------
    def load(self) -> None:
        call(self.ctx, api.audit_facets, self._facets, self._error)
        self.search()

    def _facets(self, facets: dict[str, list[str]]) -> None:
        all_text = self.ctx.text(T_ALL)
        for box, values in ((self.person, facets.get("person", [])),
                            (self.table_name, facets.get("table", [])),
                            (self.action, facets.get("action", []))):  # fmt: skip
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItem(all_text, None)
            for v in values:
                label = forms.action_name(v, self.ctx.lang) if box is self.action else v
                box.addItem(label, v)
                box.setItemData(box.count() - 1, v, Qt.ItemDataRole.ToolTipRole)
            box.setCurrentText(current if current else all_text)
            box.blockSignals(False)

    def _choice(self, box: QComboBox) -> str | None:
        text = box.currentText().strip()
        if not text or text == self.ctx.text(T_ALL):
            return None
        index = box.findText(text)
        data = box.itemData(index) if index >= 0 else None
        return data if isinstance(data, str) else text  # the code behind a label

    def current_filter(self) -> api.AuditFilter:
        since = until = None
        if self.from_on.isChecked():
            since = datetime.combine(self.from_date.date().toPython(), time(), VN)
        if self.to_on.isChecked():
            # The whole "to" day: [since, next midnight).
            until = datetime.combine(self.to_date.date().addDays(1).toPython(), time(), VN)
        cs = self.change_set.text().strip()
        return api.AuditFilter(
            since=since, until=until, person=self._choice(self.person),
            table_name=self._choice(self.table_name), change_set=int(cs) if cs else None,
            action=self._choice(self.action), limit=PAGE,
        )  # fmt: skip

    def search(self) -> None:
        self.filter = self.current_filter()
        self.model.set_rows([], [], [])
        self.diff.setRowCount(0)
        self._fetch(self.filter)

    def more(self) -> None:
        if self.filter is None or not self.model.objects:
            return
        last = self.model.objects[-1].id
        self._fetch(api.AuditFilter(**{**self.filter.__dict__, "before_id": last}))

    def _fetch(self, f: api.AuditFilter) -> None:
        show_status(self.status, self.ctx.text(T_LOADING))
        self.search_button.setEnabled(False)
        self._asked += 1
        asked = self._asked

        def done(rows: list[api.AuditRow]) -> None:
            if asked == self._asked:  # a newer search replaced this one
                self._rows(rows)

        call(self.ctx, lambda c: api.audit_entries(c, f), done, self._error)

    def _rows(self, rows: list[api.AuditRow]) -> None:
        self.search_button.setEnabled(True)
        cells, values = [], []
        for e in rows:
            client = "" if e.client_addr is None else str(e.client_addr)
            key = _text(e.row_key)
            cs = "" if e.change_set is None else str(e.change_set)
            action = forms.action_name(e.action, self.ctx.lang)
            cells.append([str(e.id), export.text_value(e.logged_at), e.actor, action,
                          e.table_name or "", key, e.target or "", cs, client])  # fmt: skip
            values.append([e.id, e.logged_at, e.actor, action, e.table_name, key, e.target,
                           e.change_set, client])  # fmt: skip
        self.model.append_rows(cells, values, rows)
        self.has_more = len(rows) == PAGE
        self.more_button.setEnabled(self.has_more)
        n = self.model.rowCount()
        text = T_COUNT_MORE if self.has_more else T_COUNT
        show_status(self.status, self.ctx.text(text).format(n=n))
        self.view.resizeColumnsToContents()

    # -- one entry ---------------------------------------------------------------------------
    def show_entry(self, row: int) -> list[tuple[str, str, str, bool]]:
        """Fill the diff table: (field, old, new, changed) per field of the row (or of the
        event's detail)."""
        self.diff.setRowCount(0)
        if not 0 <= row < len(self.model.objects):
            return []
        e: api.AuditRow = self.model.objects[row]
        lines: list[tuple[str, str, str, bool]] = []
        if e.old_row is not None or e.new_row is not None:
            old, new = e.old_row or {}, e.new_row or {}
            for k in sorted(set(old) | set(new)):
                a, b = _text(old.get(k)), _text(new.get(k))
                lines.append((k, a, b, e.action == "UPDATE" and a != b))
            lines.sort(key=lambda line: not line[3])  # what changed first, then the rest
        detail = dict(e.detail or {})
        changes = detail.pop("changes", None)
        if isinstance(changes, dict):  # ACCOUNT_UPDATE: {field: {"old", "new"}}
            for k, c in changes.items():
                label = (
                    forms.PROFILE_FIELDS[k].get(self.ctx.lang) if k in forms.PROFILE_FIELDS else k
                )
                if isinstance(c, dict):
                    lines.append((label, _text(c.get("old")), _text(c.get("new")), True))
        for k, v in sorted(detail.items()):
            lines.append((k, "", _text(v), False))
        self.diff.setRowCount(len(lines))
        for i, (k, a, b, changed) in enumerate(lines):
            for col, text in enumerate((k, a, b)):
                item = QTableWidgetItem(text)
                if changed:
                    item.setBackground(QBrush(CHANGED))
                self.diff.setItem(i, col, item)
        return lines

    # -- integrity ---------------------------------------------------------------------------
    # The check runs as short steps on the server (admin.audit_verify_step), one background
    # call each: the UI thread stays free, progress moves after every step and "Hủy" stops
    # the run before the next step. The server keeps the walk's state and writes the result.
    def verify(self) -> None:
        if self.verify_state in ("running", "stopping"):
            return
        self.verify_button.setEnabled(False)
        self.verify_state = "running"
        self.verify_values = []
        self.integrity = None
        self._run = self._last = None
        self._step = self.verify_step
        self.verify_bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self._show_progress.start()
        show_status(self.verify_label, self.ctx.text(T_VERIFYING), INFO_STYLE)
        call(self.ctx, api.audit_verify_start, self._verify_started, self._verify_failed)

    def _reveal_progress(self) -> None:
        if self.verify_state in ("running", "stopping"):
            self.verify_bar.show()
            self.cancel_button.show()

    def cancel_verify(self) -> None:
        """Stop at the next step (the one on the wire finishes first)."""
        if self.verify_state != "running":
            return
        self.verify_state = "stopping"
        self.cancel_button.setEnabled(False)
        last = self._last
        n, m = (last.checked, last.total) if last else (0, self._run.total if self._run else 0)
        show_status(self.verify_label, self._counts(T_STOPPING, n, m), INFO_STYLE)

    def _counts(self, text: Text, n: int, m: int) -> str:
        lang = self.ctx.lang
        return self.ctx.text(text).format(n=forms.format_count(n, lang),
                                          m=forms.format_count(m, lang))  # fmt: skip

    def _verify_started(self, run: api.VerifyRun) -> None:
        self._run = run
        self._next_step()

    def _next_step(self) -> None:
        run = self._run
        assert run is not None
        if self.verify_state == "stopping":
            call(self.ctx, lambda c: api.audit_verify_cancel(c, run.run_id),
                 lambda _: self._verify_cancelled(), self._verify_failed)  # fmt: skip
            return
        limit = self._step

        def work(conn) -> tuple[api.VerifyProgress, float]:
            t0 = clock.perf_counter()
            return api.audit_verify_step(conn, run.run_id, limit), clock.perf_counter() - t0

        call(self.ctx, work, self._stepped, self._verify_failed)

    def _stepped(self, result: tuple[api.VerifyProgress, float]) -> None:
        p, seconds = result
        self._last = p
        if self.verify_adapt:
            self._step = api.next_step_size(self._step, seconds)
        value = 1000 if p.total <= 0 else min(1000, p.checked * 1000 // p.total)
        self.verify_bar.setValue(value)
        self.verify_values.append(value)
        if p.done:
            self._verified(p)
            return
        if self.verify_state == "running":
            show_status(self.verify_label, self._counts(T_PROGRESS, p.checked, p.total))
        self._next_step()

    def _end_verify(self, state: str) -> None:
        self.verify_state = state
        self._show_progress.stop()
        self.verify_bar.hide()
        self.cancel_button.hide()
        self.verify_button.setEnabled(True)

    def _verify_cancelled(self) -> None:
        self._end_verify("cancelled")
        last = self._last
        n, m = (last.checked, last.total) if last else (0, self._run.total if self._run else 0)
        show_status(self.verify_label, self._counts(T_CANCELLED, n, m), INFO_STYLE)

    def _verified(self, p: api.VerifyProgress) -> None:
        r = p.integrity()
        if r is None:  # cancelled elsewhere (another window of this administrator)
            self._verify_cancelled()
            return
        self._end_verify("done")
        self.integrity = r
        lang = self.ctx.lang
        if r.ok:
            text = self.ctx.text(T_INTACT).format(
                n=forms.format_count(r.checked, lang), last=r.entry_id
            )
            show_status(self.verify_label, text, OK_STYLE)
        else:
            why = self.ctx.text(REASONS.get(r.reason, Text(r.reason, r.reason)))
            text = self.ctx.text(T_BROKEN).format(
                entry=r.entry_id, why=why, n=forms.format_count(r.checked, lang)
            )
            show_status(self.verify_label, text, ERROR_STYLE + " font-weight: bold;")

    def _verify_failed(self, err: api.AdminError) -> None:
        self._end_verify("failed")
        show_status(self.verify_label, err.message, ERROR_STYLE)

    def done(self, result: int) -> None:
        # Closed mid-check: end the run on the server rather than leave it hanging.
        run = self._run
        if run is not None and self.verify_state in ("running", "stopping"):
            self.verify_state = "cancelled"
            session = getattr(self.ctx, "session", None)
            if session is not None:
                self.ctx.run_in_background(
                    lambda: session.run(lambda c: api.audit_verify_cancel(c, run.run_id)),
                    lambda _r: None,
                    lambda _e: None,
                )
        super().done(result)

    def export(self, fmt: str = "xlsx", path: str | None = None) -> None:
        export_model(self.ctx, self, self.model, "audit.log", self.status, path, fmt)

    def _error(self, err: api.AdminError) -> None:
        self.search_button.setEnabled(True)
        show_status(self.status, err.message, ERROR_STYLE)


def show_audit_viewer(ctx: AppContext) -> AuditViewer | None:
    """Menu handler: Quản trị → Nhật ký hệ thống."""
    return open_gated(ctx, lambda: AuditViewer(ctx, ctx.window), AuditViewer.load)
