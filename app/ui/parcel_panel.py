"""Parcel dock: everything about one parcel from api.parcel_details (one round trip) plus
its history and lineage (api.parcel_history), in tabs. Reads run on the runner's thread
pool; a newer parcel (or date) makes older answers stale.

Personal ID numbers arrive masked; "Show ID number" appears only for accounts the server
says may read them (cadastral editors and approvers), and asks the server, which audits
the read (READ_PERSONAL_ID).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg
from PySide6.QtCore import QDate, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDateEdit,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.store.parcel_details import (
    fetch_history,
    fmt_area,
    fmt_date,
    fmt_money,
    fmt_number,
    fmt_share,
    load_panel,
    reveal_personal_id,
)
from app.ui.i18n import translate
from app.ui.tables import read_only_table
from app.ui.tasks import TaskRunner

RIGHT_KINDS = {
    "su_dung": "Sử dụng đất",
    "quan_ly": "Quản lý đất",
    "so_huu_tai_san": "Sở hữu tài sản",
}
CERT_STATUS = {"hieu_luc": "Hiệu lực", "thu_hoi": "Thu hồi", "cap_doi": "Cấp đổi", "huy": "Hủy"}
MUTATION_KINDS = {
    "tach_thua": "Tách thửa",
    "hop_thua": "Hợp thửa",
    "dinh_chinh_ranh_gioi": "Đính chính ranh giới",
    "thua_moi": "Thửa mới",
    "thay_doi_thuoc_tinh": "Thay đổi thuộc tính",
    "chuyen_muc_dich": "Chuyển mục đích",
    "chuyen_quyen": "Chuyển quyền",
    "the_chap": "Thế chấp",
    "xoa_the_chap": "Xóa thế chấp",
}
MUTATION_STATUS = {"nhap": "Nháp", "da_nop": "Đã nộp", "da_duyet": "Đã duyệt", "tu_choi": "Từ chối"}
DOC_TYPES = {
    "giay_chung_nhan": "Giấy chứng nhận",
    "don_dang_ky": "Đơn đăng ký",
    "hop_dong": "Hợp đồng",
    "ban_ve": "Bản vẽ",
    "quyet_dinh": "Quyết định",
    "trich_luc": "Trích lục",
    "khac": "Khác",
}
RESTRICTIONS = {
    "tranh_chap": "Tranh chấp",
    "ke_bien": "Kê biên",
    "hanh_lang": "Hành lang",
    "khac": "Khác",
}


def _mortgages_text(rows: list[dict[str, Any]]) -> str:
    """The mortgages in force (migration 0024), one per line; released ones only counted."""
    lines = []
    for m in rows:
        if not m.get("in_force"):
            continue
        line = (
            translate("ParcelPanel", "%1, contract %2, registered %3")
            .replace("%1", m["lender"])
            .replace("%2", m["contract_number"])
            .replace("%3", fmt_date(m["registered_on"]))
        )
        if m.get("secured_amount") is not None:
            line += f" ({fmt_money(m['secured_amount'])})"
        lines.append(line)
    released = sum(1 for m in rows if not m.get("in_force"))
    text = "\n".join(lines) or translate("ParcelPanel", "None")
    if released:
        text += "\n" + translate("ParcelPanel", "Released earlier: %1").replace("%1", str(released))
    return text


def _table(headers: list[str], name: str) -> QTableWidget:
    t = read_only_table(headers, name)
    t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))


class ParcelPanel(QDockWidget):
    #: A scanned document of the parcel was double-clicked: its doc.document id (the
    #: dossier subsystem opens it in its viewer).
    documentRequested = Signal(int)

    def __init__(
        self, dsn: Callable[[], str], runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(translate("ParcelPanel", "Parcel"), parent)
        self.setObjectName("parcelPanel")
        self._dsn = dsn
        self._runner = runner
        self._generation = 0
        self.parcel_id: int | None = None
        self.details: dict[str, Any] | None = None

        body = QWidget()
        outer = QVBoxLayout(body)
        self.status = QLabel(
            translate("ParcelPanel", "Choose a parcel on the map or in the search")
        )
        self.status.setObjectName("parcelStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        self.setWidget(body)

        # Thông tin chung
        general = QWidget()
        form = QFormLayout(general)
        self.fields: dict[str, QLabel] = {}
        for key, text in [
            ("commune", translate("ParcelPanel", "Commune")),
            ("sheet", translate("ParcelPanel", "Map sheet")),
            ("number", translate("ParcelPanel", "Parcel number")),
            ("national_id", translate("ParcelPanel", "National parcel ID")),
            ("address", translate("ParcelPanel", "Address")),
            ("area_legal", translate("ParcelPanel", "Legal area")),
            ("area_computed", translate("ParcelPanel", "Computed area")),
            ("land_use", translate("ParcelPanel", "Main land use")),
            ("version", translate("ParcelPanel", "Version")),
            ("restrictions", translate("ParcelPanel", "Restrictions")),
            ("mortgages", translate("ParcelPanel", "Mortgages")),
        ]:
            label = QLabel("—")
            label.setObjectName(f"field_{key}")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(text, label)
            self.fields[key] = label
        self.tabs.addTab(general, translate("ParcelPanel", "General"))

        self.uses = _table(
            [
                translate("ParcelPanel", "Code"),
                translate("ParcelPanel", "Land use"),
                translate("ParcelPanel", "Area"),
                translate("ParcelPanel", "Until"),
                translate("ParcelPanel", "Origin"),
            ],
            "usesTable",
        )
        self.tabs.addTab(self.uses, translate("ParcelPanel", "Land use"))

        holders = QWidget()
        hl = QVBoxLayout(holders)
        self.holders = _table(
            [
                translate("ParcelPanel", "Holder"),
                translate("ParcelPanel", "Right"),
                translate("ParcelPanel", "Share"),
                translate("ParcelPanel", "ID number"),
                translate("ParcelPanel", "From"),
                translate("ParcelPanel", "To"),
            ],
            "holdersTable",
        )
        self.reveal_button = QPushButton(translate("ParcelPanel", "Show ID number"))
        self.reveal_button.setObjectName("revealButton")
        self.reveal_button.setVisible(False)
        self.reveal_button.clicked.connect(self._reveal)
        hl.addWidget(self.holders, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reveal_button)
        hl.addLayout(row)
        self._holder_parties: list[int | None] = []
        self.tabs.addTab(holders, translate("ParcelPanel", "Holders"))

        self.certs = _table(
            [
                translate("ParcelPanel", "Serial"),
                translate("ParcelPanel", "Register no."),
                translate("ParcelPanel", "Issued on"),
                translate("ParcelPanel", "Issuer"),
                translate("ParcelPanel", "Status"),
            ],
            "certsTable",
        )
        self.tabs.addTab(self.certs, translate("ParcelPanel", "Certificates"))

        self.mutations = _table(
            [
                translate("ParcelPanel", "Date"),
                translate("ParcelPanel", "Kind"),
                translate("ParcelPanel", "Status"),
                translate("ParcelPanel", "Reason"),
            ],
            "mutationsTable",
        )
        self.tabs.addTab(self.mutations, translate("ParcelPanel", "Mutations"))

        price = QWidget()
        pf = QFormLayout(price)
        self.price_fields: dict[str, QLabel] = {}
        for key, text in [
            ("table", translate("ParcelPanel", "Price table")),
            ("place", translate("ParcelPanel", "Segment or zone")),
            ("position", translate("ParcelPanel", "Position")),
            ("unit_price", translate("ParcelPanel", "Unit price")),
            ("depth_rule", translate("ParcelPanel", "Depth rule")),
            ("coefficient", translate("ParcelPanel", "Adjustment coefficient")),
            ("value", translate("ParcelPanel", "Value")),
        ]:
            label = QLabel("—")
            label.setObjectName(f"price_{key}")
            label.setWordWrap(True)
            pf.addRow(text, label)
            self.price_fields[key] = label
        self.tabs.addTab(price, translate("ParcelPanel", "Land price"))

        self.planning = _table(
            [
                translate("ParcelPanel", "Planned use"),
                translate("ParcelPanel", "Zone"),
                translate("ParcelPanel", "Area"),
                translate("ParcelPanel", "Share"),
                translate("ParcelPanel", "Plan"),
            ],
            "planningTable",
        )
        self.tabs.addTab(self.planning, translate("ParcelPanel", "Planning"))

        self.documents = _table(
            [
                translate("ParcelPanel", "Type"),
                translate("ParcelPanel", "Number"),
                translate("ParcelPanel", "Date"),
                translate("ParcelPanel", "Pages"),
                translate("ParcelPanel", "File"),
            ],
            "documentsTable",
        )
        self.tabs.addTab(self.documents, translate("ParcelPanel", "Scanned documents"))
        self.documents.cellDoubleClicked.connect(self._request_document)

        history = QWidget()
        vl = QVBoxLayout(history)
        top = QHBoxLayout()
        top.addWidget(QLabel(translate("ParcelPanel", "As of")))
        self.as_of = QDateEdit(QDate.currentDate())
        self.as_of.setObjectName("asOfDate")
        self.as_of.setDisplayFormat("dd/MM/yyyy")
        self.as_of.setCalendarPopup(True)
        self.as_of.dateChanged.connect(self._date_changed)
        top.addWidget(self.as_of)
        top.addStretch(1)
        vl.addLayout(top)
        self.as_of_label = QLabel("—")
        self.as_of_label.setObjectName("asOfLabel")
        self.as_of_label.setWordWrap(True)
        vl.addWidget(self.as_of_label)
        vl.addWidget(QLabel(translate("ParcelPanel", "Lineage")))
        self.lineage = QListWidget()
        self.lineage.setObjectName("lineageList")
        vl.addWidget(self.lineage, 1)
        self.tabs.addTab(history, translate("ParcelPanel", "History"))

    # -- loading ------------------------------------------------------------------------
    def _at(self) -> dt.datetime:
        d = self.as_of.date()
        # end of the chosen day, local time: "as of 01/03/2020" includes that day's changes
        return dt.datetime(d.year(), d.month(), d.day(), 23, 59, 59).astimezone()

    @Slot(int)
    def _request_document(self, row: int, _column: int = 0) -> None:
        documents = (self.details or {}).get("documents") or []
        if 0 <= row < len(documents):
            self.documentRequested.emit(int(documents[row]["id"]))

    def show_parcel(self, parcel_id: int) -> None:
        self.parcel_id = int(parcel_id)
        self._generation += 1
        generation = self._generation
        self.status.setText(translate("ParcelPanel", "Reading parcel…"))
        dsn, at = self._dsn(), self._at()
        self._runner.submit(
            lambda: load_panel(dsn, parcel_id, at),
            lambda d: self._show(generation, d),
            lambda exc: self._failed(generation, exc),
        )

    def _date_changed(self, _date: QDate) -> None:
        if self.parcel_id is None:
            return
        self._generation += 1
        generation, pid, dsn, at = self._generation, self.parcel_id, self._dsn(), self._at()

        def work() -> dict[str, Any]:
            with psycopg.connect(dsn, autocommit=True) as conn:
                return fetch_history(conn, pid, at)

        self._runner.submit(
            work, lambda h: self._show_history(generation, h), lambda e: self._failed(generation, e)
        )

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        diag = getattr(exc, "diag", None)
        self.status.setText(getattr(diag, "message_primary", None) or str(exc))

    # -- showing ------------------------------------------------------------------------
    def _show(self, generation: int, d: dict[str, Any]) -> None:
        if generation != self._generation:
            return
        self.details = d
        p = d["parcel"]
        self.status.setText(
            translate("ParcelPanel", "Parcel %1, sheet %2, %3")
            .replace("%1", str(p["parcel_number"]))
            .replace("%2", str(p["sheet_number"]))
            .replace("%3", p["commune_name"])
        )
        f = self.fields
        f["commune"].setText(f"{p['commune_name']} ({p['commune_code']})")
        f["sheet"].setText(
            f"{p['sheet_number']} (1:{fmt_number(p['sheet_scale'], 0)}, {p['survey_commune_name']})"
        )
        f["number"].setText(
            str(p["parcel_number"]) + (f" ({p['duplicate_seq'] + 1})" if p["duplicate_seq"] else "")
        )
        f["national_id"].setText(p["national_id"] or "—")
        f["address"].setText(p["address"] or "—")
        f["area_legal"].setText(fmt_area(p["area_legal"]))
        f["area_computed"].setText(fmt_area(p["area_computed"]))
        f["land_use"].setText(p["main_land_use"] or "—")
        f["version"].setText(str(p["version"]))
        f["restrictions"].setText(
            "; ".join(
                f"{RESTRICTIONS.get(r['kind'], r['kind'])}: {r['description']}"
                for r in d["restrictions"]
            )
            or translate("ParcelPanel", "None")
        )
        f["mortgages"].setText(_mortgages_text(d.get("mortgages") or []))

        _fill(
            self.uses,
            [
                [
                    u["code"],
                    u["name"],
                    fmt_area(u["area"]),
                    fmt_date(u["term_until"])
                    if u["term_until"]
                    else translate("ParcelPanel", "Long-term"),
                    u["origin"] or "",
                ]
                for u in d["land_uses"]
            ],
        )

        rows, self._holder_parties = [], []
        for h in d["holders"]:
            rows.append(
                [
                    h["full_name"],
                    RIGHT_KINDS.get(h["kind"], h["kind"]),
                    fmt_share(h["share"]),
                    h["id_number_masked"] or "",
                    fmt_date(h["valid_from"]),
                    fmt_date(h["valid_to"]) if h["valid_to"] else "",
                ]
            )
            self._holder_parties.append(h["party_id"] if h["id_number_masked"] else None)
            for m in h.get("members") or []:
                rows.append(
                    [
                        f"  {m['full_name']} ({m['role']})",
                        "",
                        "",
                        m["id_number_masked"] or "",
                        "",
                        "",
                    ]
                )
                self._holder_parties.append(m["party_id"] if m["id_number_masked"] else None)
        _fill(self.holders, rows)
        self.reveal_button.setVisible(bool(d.get("may_reveal_id")))

        _fill(
            self.certs,
            [
                [
                    c["serial"],
                    c["register_number"],
                    fmt_date(c["issued_on"]),
                    c["issuer"],
                    CERT_STATUS.get(c["status"], c["status"]),
                ]
                for c in d["certificates"]
            ],
        )
        _fill(
            self.mutations,
            [
                [
                    fmt_date(m["decided_at"] or m["created_at"]),
                    MUTATION_KINDS.get(m["kind"], m["kind"]),
                    MUTATION_STATUS.get(m["status"], m["status"]),
                    m["reason"],
                ]
                for m in d["mutations"]
            ],
        )
        self._show_price(d)
        denied = translate("ParcelPanel", "Your account has no right to read this subsystem")
        if d.get("planning") is None:
            _fill(self.planning, [[denied, "", "", "", ""]])
        else:
            _fill(
                self.planning,
                [
                    [
                        f"{z['planned_code']} — {z['planned_name']}",
                        z["zone_name"] or "",
                        fmt_area(z["area"]),
                        fmt_share(z["share"]),
                        f"{z['plan_name']} ({z['period']})",
                    ]
                    for z in d["planning"]
                ],
            )
        if d.get("documents") is None:
            _fill(self.documents, [[denied, "", "", "", ""]])
        else:
            _fill(
                self.documents,
                [
                    [
                        DOC_TYPES.get(x["doc_type"], x["doc_type"]),
                        x["number"] or "",
                        fmt_date(x["issued_on"]),
                        str(x["page_count"] or ""),
                        x["original_name"] or "",
                    ]
                    for x in d["documents"]
                ],
            )
        self._show_history(generation, d.get("history") or {})

    def _show_price(self, d: dict[str, Any]) -> None:
        pf = self.price_fields
        pr = d.get("price")
        if pr is None:
            text = (
                translate("ParcelPanel", "Your account has no right to read this subsystem")
                if "land_price" in d.get("denied", [])
                else translate("ParcelPanel", "Not priced")
            )
            for label in pf.values():
                label.setText("—")
            pf["table"].setText(text)
            return
        pf["table"].setText(f"{pr['year']} — {pr['decision']}")
        place = f"{pr['road']}: {pr['segment']}" if pr.get("road") else (pr.get("zone") or "—")
        pf["place"].setText(place)
        pf["position"].setText(pr.get("position") or "—")
        unit = fmt_money(pr["unit_price"], per_m2=True)
        pf["unit_price"].setText(
            f"{unit} ({pr['land_use_code']})" if pr.get("land_use_code") else unit
        )
        pf["depth_rule"].setText(pr.get("depth_rule") or "—")
        pf["coefficient"].setText(fmt_number(pr["coefficient"], 3))
        pf["value"].setText(fmt_money(pr["value"]))

    def _show_history(self, generation: int, h: dict[str, Any]) -> None:
        if generation != self._generation:
            return
        a = h.get("as_of")
        if a:
            self.as_of_label.setText(
                translate("ParcelPanel", "Parcel %1, sheet %2, %3 — %4, version %5, valid %6 – %7")
                .replace("%1", str(a["parcel_number"]))
                .replace("%2", str(a["sheet_number"]))
                .replace("%3", a["commune_name"])
                .replace("%4", fmt_area(a["area_legal"]))
                .replace("%5", str(a["version"]))
                .replace("%6", fmt_date(a["valid_from"]))
                .replace("%7", fmt_date(a["valid_to"]) if a["valid_to"] else "…")
            )
        else:
            self.as_of_label.setText(
                translate("ParcelPanel", "The parcel did not exist on that date")
            )
        self.lineage.clear()
        for row in h.get("lineage") or []:
            rel = (
                translate("ParcelPanel", "from")
                if row["depth"] < 0
                else translate("ParcelPanel", "to")
            )
            what = (
                translate("ParcelPanel", "parcel %1, sheet %2")
                .replace("%1", str(row["parcel_number"]))
                .replace("%2", str(row["sheet_number"]))
                if row.get("parcel_number") is not None
                else f"#{row['parcel_id']}"
            )
            kind = MUTATION_KINDS.get(
                row.get("mutation_kind") or "", row.get("mutation_kind") or ""
            )
            self.lineage.addItem(f"{rel} {what} — {kind} {fmt_date(row.get('decided_at'))}")

    # -- ID numbers ---------------------------------------------------------------------
    def _reveal(self) -> None:
        row = self.holders.currentRow()
        if row < 0:
            row = next((i for i, p in enumerate(self._holder_parties) if p is not None), -1)
        if row < 0 or self._holder_parties[row] is None:
            return
        party_id, dsn, generation = self._holder_parties[row], self._dsn(), self._generation

        def work() -> str | None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                return reveal_personal_id(conn, party_id)

        def done(number: str | None) -> None:
            if generation == self._generation and number:
                self.holders.setItem(row, 3, QTableWidgetItem(number))

        self._runner.submit(work, done, lambda e: self._failed(generation, e))
