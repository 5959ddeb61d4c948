"""The editor dock's record forms: transfer of rights, mortgage, mortgage release and
certificate (change-set items of migration 0024, app.edit.changeset.draft_*), and the
correction of a person's details with a household's / couple's members (0027, 0029).

The forms only collect and check what the clerk types (shares adding up to 1, dates
dd/mm/yyyy, amounts with dot thousands, the "AB 123456" serial); the dock
(app/ui/edit_panel.py) sends the draft off the UI thread and shows the store's problems.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.edit.changeset import (
    GROUP_KINDS,
    MEMBER_ROLES,
    PARTY_KINDS,
    RIGHT_KINDS,
    Certificate,
    Holder,
    Member,
    Mortgage,
    NewParty,
    PartyUpdate,
)
from app.ui.i18n import translate

SERIAL_RE = re.compile(r"^[A-Z]{2} [0-9]{6,8}$")
_ERR = "color: #b00020;"
_OK = "color: #1b5e20;"
#: Which record forms a change set of each kind offers; a certificate goes with any kind
#: (a split, merge or transfer ends with new certificates).
FORMS_BY_KIND: dict[str, tuple[str, ...]] = {
    "chuyen_quyen": ("rights", "certificate"),
    "the_chap": ("mortgage",),
    "xoa_the_chap": ("mortgage_release",),
    "thay_doi_thuoc_tinh": ("certificate", "party"),
}
#: Kinds whose record forms sit beside the geometry tools (a parcel's attributes and a
#: person's details are both "thay đổi thuộc tính").
KEEPS_TOOLS: frozenset[str] = frozenset({"thay_doi_thuoc_tinh"})
ID_KINDS = ("", "cccd", "cmnd", "ho_chieu", "mst")


def op_name(op: str) -> str:
    """A change-set item's op in the interface language (the Qt-free OPS stay Vietnamese)."""
    return {
        "split": translate("EditPanel", "split"),
        "merge": translate("EditPanel", "merge"),
        "reshape": translate("EditPanel", "boundary change"),
        "new": translate("EditPanel", "new parcel"),
        "attributes": translate("EditPanel", "attributes"),
        "rights": translate("EditPanel", "transfer of rights"),
        "mortgage": translate("EditPanel", "mortgage registration"),
        "mortgage_release": translate("EditPanel", "mortgage release"),
        "certificate": translate("EditPanel", "certificate issue"),
        "party": translate("EditPanel", "correction of a person's details"),
        "party_members": translate("EditPanel", "household or couple members"),
    }.get(op, op)


def right_kind_name(code: str | None) -> str:
    return {
        "su_dung": translate("RecordForms", "Land use right"),
        "quan_ly": translate("RecordForms", "Land management right"),
        "so_huu_tai_san": translate("RecordForms", "Ownership of assets on the land"),
    }.get(code or "", RIGHT_KINDS.get(code or "", code or ""))


def party_kind_name(code: str | None) -> str:
    return {
        "ca_nhan": translate("RecordForms", "Individual"),
        "ho_gia_dinh": translate("RecordForms", "Household"),
        "vo_chong": translate("RecordForms", "Married couple"),
        "to_chuc": translate("RecordForms", "Organisation"),
        "cong_dong": translate("RecordForms", "Residential community"),
    }.get(code or "", PARTY_KINDS.get(code or "", code or ""))


def role_name(role: str) -> str:
    """A member's role (stored in Vietnamese, as the records write it)."""
    return {
        "chủ hộ": translate("RecordForms", "head of household"),
        "vợ": translate("RecordForms", "wife"),
        "chồng": translate("RecordForms", "husband"),
        "con": translate("RecordForms", "child"),
        "thành viên": translate("RecordForms", "member"),
    }.get(role, role)


def id_problem(kind: str | None, number: str) -> str | None:
    """Why a document number does not fit its kind (the store's rules of
    sys.api_check_identity), or None."""
    if not number:
        return None
    if not kind:
        return translate("RecordForms", "Choose the kind of document of the number")
    ok = {
        "cccd": re.fullmatch(r"[0-9]{12}", number),
        "cmnd": re.fullmatch(r"[0-9]{9}", number),
        "ho_chieu": re.fullmatch(r"[A-Z0-9]{6,12}", number) and re.search(r"[0-9]", number),
        "mst": re.fullmatch(r"[0-9]{10}(-[0-9]{3})?", number),
    }.get(kind)
    if ok:
        return None
    return {
        "cccd": translate("RecordForms", "A CCCD number has exactly 12 digits ({n} typed)"),
        "cmnd": translate("RecordForms", "A CMND number has exactly 9 digits ({n} typed)"),
        "ho_chieu": translate("RecordForms", "A passport number has 6 to 12 capitals and digits"),
        "mst": translate("RecordForms", "A tax code has 10 digits, or 10 digits, a dash and 3"),
    }.get(kind, "").format(n=len(number))


class FormError(ValueError):
    """What the clerk typed cannot be sent; the message is for them."""


# --- parsing and formatting (pure) ------------------------------------------------------------
def parse_share(text: str) -> Fraction:
    """ "1/2", "0,5", "0.5", "50%" -> Fraction(1, 2); FormError otherwise or outside (0, 1]."""
    t = text.strip().replace(" ", "")
    try:
        if t.endswith("%"):
            value = Fraction(Decimal(t[:-1].replace(",", "."))) / 100
        elif "/" in t:
            num, den = t.split("/", 1)
            value = Fraction(int(num), int(den))
        else:
            value = Fraction(Decimal(t.replace(",", ".")))
    except (ValueError, ArithmeticError, ZeroDivisionError):
        raise FormError(
            translate("RecordForms", "Share «{s}» is not a number (write 1/2, 0,5 or 50%)").format(
                s=text
            )
        ) from None
    if not 0 < value <= 1:
        raise FormError(translate("RecordForms", "A share must be more than 0 and at most 1"))
    return value


def format_share(value: Fraction) -> str:
    """1/2 -> "1/2 (50%)"; 1 -> "1 (100%)"; percentages with comma decimals."""
    pct = format(Decimal(value.numerator * 100) / Decimal(value.denominator), ".2f")
    pct = pct.rstrip("0").rstrip(".").replace(".", ",")
    frac = (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )
    return f"{frac} ({pct}%)"


def share_decimal(value: Fraction) -> Decimal:
    """At most 6 decimals, as the store keeps shares (1/3 -> 0.333333)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.000001"))


def parse_date(text: str, what: str) -> dt.date:
    m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", text)
    try:
        if m is None:
            raise ValueError
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        raise FormError(
            translate("RecordForms", "{what}: «{t}» is not a date dd/mm/yyyy").format(
                what=what, t=text
            )
        ) from None


def format_vnd(digits: str) -> str:
    """ "500000000" -> "500.000.000"."""
    d = re.sub(r"\D", "", digits).lstrip("0")
    return f"{int(d):,}".replace(",", ".") if d else ""


def parse_vnd(text: str) -> int | None:
    if not text.strip():
        return None
    if not re.fullmatch(r"[\d. ]+", text.strip()):
        raise FormError(
            translate("RecordForms", "The secured amount is written in digits: 500.000.000")
        )
    return int(re.sub(r"\D", "", text))


def today_text() -> str:
    return dt.date.today().strftime("%d/%m/%Y")


def _line(name: str, placeholder: str = "") -> QLineEdit:
    e = QLineEdit()
    e.setObjectName(name)
    if placeholder:
        e.setPlaceholderText(placeholder)
    return e


def _narrow(combo: QComboBox) -> None:
    """Long entries ("Quyền sở hữu tài sản gắn liền với đất", "name — document (year)")
    must not widen the dock; the open list still shows them whole."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)


def _top_form(widget: QWidget) -> QFormLayout:
    """A form at the top of its tab (not spread over the tab's height)."""
    outer = QVBoxLayout(widget)
    form = QFormLayout()
    outer.addLayout(form)
    outer.addStretch(1)
    return form


def _people_table(
    name: str, headers: list[str], *, stretch_document: bool, min_height: int
) -> QTableWidget:
    """A three-column table of people (name, document, share or role): the name takes the
    width, the last column fits its contents."""
    table = QTableWidget(0, 3)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    header = table.horizontalHeader()
    fit = QHeaderView.ResizeMode.ResizeToContents
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch if stretch_document else fit)
    header.setSectionResizeMode(2, fit)
    table.verticalHeader().setVisible(False)
    table.setMinimumHeight(min_height)
    return table


def _button(name: str, text: str, slot: Callable[[], Any]) -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.clicked.connect(slot)
    return b


# --- the forms ------------------------------------------------------------------------------
class TransferForm(QWidget):
    """New holders with their shares; an existing person found by the search, or a new
    one typed in. ``send(holders, right_kind)`` is the dock's draft call."""

    def __init__(self, send: Callable[[list[Holder], str], None],
                 find: Callable[[str, Callable[[list[Any]], None]], None],
                 say: Callable[[str, bool], None]) -> None:  # fmt: skip
        super().__init__()
        self.setObjectName("transferForm")
        self.send, self.find, self.say = send, find, say
        self.rows: list[tuple[Holder, str, str]] = []  # holder, name, document
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        self.current = QLabel("")
        self.current.setObjectName("transferCurrentHolders")
        self.current.setWordWrap(True)
        v.addWidget(self.current)
        form = QFormLayout()
        self.right_kind = QComboBox()
        self.right_kind.setObjectName("transferRightKind")
        _narrow(self.right_kind)
        for code in RIGHT_KINDS:
            self.right_kind.addItem(right_kind_name(code), code)
        form.addRow(translate("RecordForms", "Right"), self.right_kind)
        self.share = _line("transferShare", "1/2, 0,5, 50%")
        self.share.setText("1")
        form.addRow(translate("RecordForms", "Share of the next holder"), self.share)
        v.addLayout(form)

        found = QGroupBox(translate("RecordForms", "A person already in the records"))
        fl = QGridLayout(found)
        self.search = _line("partySearch", translate("RecordForms", "ID number or full name"))
        self.search.returnPressed.connect(self._find)
        fl.addWidget(self.search, 0, 0)
        fl.addWidget(
            _button("partySearchButton", translate("RecordForms", "Find"), self._find), 0, 1
        )
        self.results = QComboBox()
        self.results.setObjectName("partyResults")
        _narrow(self.results)
        fl.addWidget(self.results, 1, 0)
        fl.addWidget(
            _button("addFoundParty", translate("RecordForms", "Add"), self.add_found), 1, 1
        )
        fl.setColumnStretch(0, 1)
        v.addWidget(found)

        new = QGroupBox(translate("RecordForms", "A new person, household or organisation"))
        nf = QFormLayout(new)
        self.kind = QComboBox()
        self.kind.setObjectName("newPartyKind")
        for code in PARTY_KINDS:
            self.kind.addItem(party_kind_name(code), code)
        nf.addRow(translate("RecordForms", "Kind"), self.kind)
        self.name = _line("newPartyName")
        nf.addRow(translate("RecordForms", "Full name"), self.name)
        ident = QHBoxLayout()
        self.id_kind = QComboBox()
        self.id_kind.setObjectName("newPartyIdKind")
        names = {
            "": translate("RecordForms", "none"),
            "cccd": "CCCD",
            "cmnd": "CMND",
            "ho_chieu": translate("RecordForms", "passport"),
            "mst": translate("RecordForms", "tax code"),
        }
        for code in ID_KINDS:
            self.id_kind.addItem(names[code], code or None)
        self.id_kind.setCurrentIndex(1)
        ident.addWidget(self.id_kind)
        self.id_number = _line("newPartyIdNumber")
        ident.addWidget(self.id_number, 1)
        nf.addRow(translate("RecordForms", "Document"), ident)
        self.birth_year = _line("newPartyBirthYear")
        self.birth_year.setValidator(QIntValidator(1900, 2100, self))
        nf.addRow(translate("RecordForms", "Birth year"), self.birth_year)
        self.address = _line("newPartyAddress")
        nf.addRow(translate("RecordForms", "Address"), self.address)
        nf.addRow(
            _button("addNewParty", translate("RecordForms", "Add this new holder"), self.add_new)
        )
        v.addWidget(new)

        self.table = _people_table(
            "transferHolders",
            [
                translate("RecordForms", "New holder"),
                translate("RecordForms", "Document"),
                translate("RecordForms", "Share"),
            ],
            stretch_document=False,
            min_height=90,
        )
        self.table.itemChanged.connect(self._share_edited)
        v.addWidget(self.table)
        row = QHBoxLayout()
        self.total = QLabel("")
        self.total.setObjectName("transferTotal")
        row.addWidget(self.total, 1)
        row.addWidget(
            _button("removeHolder", translate("RecordForms", "Remove row"), self.remove_row)
        )
        v.addLayout(row)
        v.addWidget(
            _button("saveTransfer", translate("RecordForms", "Save the transfer"), self.save)
        )
        self._refresh()

    # the existing person
    def _find(self) -> None:
        self.find(self.search.text(), self.show_found)

    def show_found(self, hits: list[Any]) -> None:
        self.results.clear()
        for h in hits:
            self.results.addItem(_hit_label(h), h)
        if not hits:
            self.say(translate("RecordForms", "Nobody in your area matches"), True)

    def add_found(self) -> None:
        hit = self.results.currentData()
        if hit is None:
            self.say(translate("RecordForms", "Find the person first"), True)
            return
        if any(h.party_id == hit.party_id for h, _n, _d in self.rows):
            self.say(translate("RecordForms", "This person is already in the table"), True)
            return
        self._add(Holder(Decimal(0), party_id=hit.party_id), hit.full_name,
                  hit.id_number_masked or "")  # fmt: skip

    def add_new(self) -> None:
        name = " ".join(self.name.text().split())
        if not name:
            self.say(translate("RecordForms", "Give the new holder's full name"), True)
            return
        id_kind = self.id_kind.currentData()
        number = self.id_number.text().strip() or None
        if number and not id_kind:
            self.say(translate("RecordForms", "Choose the kind of document of the number"), True)
            return
        year = int(self.birth_year.text()) if self.birth_year.text().strip() else None
        party = NewParty(self.kind.currentData(), name, id_kind if number else None, number,
                         year, None, self.address.text().strip() or None)  # fmt: skip
        doc = f"{self.id_kind.currentText()} {number}" if number else ""
        if self._add(Holder(Decimal(0), party=party), name, doc):
            for e in (self.name, self.id_number, self.birth_year, self.address):
                e.clear()

    def _add(self, holder: Holder, name: str, doc: str) -> bool:
        try:
            share = parse_share(self.share.text())
        except FormError as exc:
            self.say(str(exc), True)
            return False
        self.rows.append((holder, name, doc))
        r = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(r)
        for c, text in enumerate((name, doc)):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, c, item)
        self.table.setItem(r, 2, QTableWidgetItem(format_share(share)))
        self.table.blockSignals(False)
        # The next holder gets what is left, so two clicks make 1/2 + 1/2.
        rest = 1 - (self.total_share() or 0)
        self.share.setText(format_share(rest).split(" ")[0] if rest > 0 else "")
        self._refresh()
        self.say(translate("RecordForms", "{name} added").format(name=name), False)
        return True

    def remove_row(self) -> None:
        r = self.table.currentRow()
        if r < 0:
            r = self.table.rowCount() - 1
        if r < 0:
            return
        self.table.removeRow(r)
        del self.rows[r]
        self._refresh()

    def _share_edited(self, _item: QTableWidgetItem) -> None:
        self._refresh()

    def shares(self) -> list[Fraction]:
        """The shares as typed in the table (its third column); FormError if one is bad."""
        out = []
        for r in range(self.table.rowCount()):
            cell = self.table.item(r, 2)
            text = (cell.text() if cell else "").split(" (")[0]
            out.append(parse_share(text))
        return out

    def total_share(self) -> Fraction | None:
        try:
            return sum(self.shares(), Fraction(0))
        except FormError:
            return None

    def _refresh(self) -> None:
        total = self.total_share()
        if total is None:
            self.total.setText(translate("RecordForms", "A share in the table is not a number"))
            self.total.setStyleSheet(_ERR)
            return
        text = translate("RecordForms", "Total of shares: {t}").format(
            t=format_share(total) if total else "0"
        )
        if total == 1:
            self.total.setText(text + " ✓")
            self.total.setStyleSheet(_OK)
        else:
            self.total.setText(text + " — " + translate("RecordForms", "must be 1"))
            self.total.setStyleSheet(_ERR)

    def set_parcel(self, details: dict[str, Any] | None) -> None:
        if not details:
            self.current.setText(translate("RecordForms", "Select the parcel on the map"))
            return
        holders = [h for h in details.get("holders") or [] if not h.get("valid_to")]
        names = "; ".join(
            f"{h['full_name']} ({format_share(Fraction(Decimal(str(h['share']))))})"
            for h in holders
        )
        self.current.setText(
            translate("RecordForms", "Holders now: {names}").format(names=names or "—")
        )

    def save(self) -> None:
        if not self.rows:
            self.say(translate("RecordForms", "Add at least one new holder"), True)
            return
        try:
            shares = self.shares()
        except FormError as exc:
            self.say(str(exc), True)
            return
        total = sum(shares, Fraction(0))
        decimals = [share_decimal(s) for s in shares]
        if abs(sum(decimals) - 1) > Decimal("0.00001"):
            pct = format(Decimal(total.numerator) / Decimal(total.denominator), "f")
            pct = pct.rstrip("0").rstrip(".").replace(".", ",")
            self.say(
                translate(
                    "RecordForms", "Not sent: the shares add up to {t}, they must make 1"
                ).format(t=pct),
                True,
            )
            return
        holders = [Holder(d, party_id=h.party_id, party=h.party)
                   for (h, _n, _d), d in zip(self.rows, decimals, strict=True)]  # fmt: skip
        self.send(holders, self.right_kind.currentData())

    def clear(self) -> None:
        self.rows.clear()
        self.table.setRowCount(0)
        self.share.setText("1")
        self._refresh()


class MortgageForm(QWidget):
    def __init__(self, send: Callable[[Mortgage], None], say: Callable[[str, bool], None]) -> None:
        super().__init__()
        self.setObjectName("mortgageForm")
        self.send, self.say = send, say
        f = _top_form(self)
        self.current = QLabel("")
        self.current.setObjectName("mortgageCurrent")
        self.current.setWordWrap(True)
        f.addRow(self.current)
        self.lender = _line(
            "mortgageLender", translate("RecordForms", "bank or credit institution")
        )
        f.addRow(translate("RecordForms", "Lender"), self.lender)
        self.contract = _line("mortgageContract", "HĐTC-2026/0001")
        f.addRow(translate("RecordForms", "Contract number"), self.contract)
        self.registered = _line("mortgageDate", "dd/mm/yyyy")
        self.registered.setText(today_text())
        f.addRow(translate("RecordForms", "Registered on"), self.registered)
        self.amount = _line("mortgageAmount", translate("RecordForms", "optional, VND"))
        self.amount.textEdited.connect(self._amount_edited)
        f.addRow(translate("RecordForms", "Secured amount (VND)"), self.amount)
        f.addRow(_button("saveMortgage", translate("RecordForms", "Save the mortgage"), self.save))

    def _amount_edited(self, text: str) -> None:
        # Thousands grouped as typed: "500000000" shows "500.000.000", cursor at the end.
        if re.fullmatch(r"[\d. ]*", text):
            self.amount.setText(format_vnd(text))

    def set_parcel(self, details: dict[str, Any] | None) -> None:
        self.current.setText(mortgages_text(details))

    def save(self) -> None:
        lender, contract = self.lender.text().strip(), self.contract.text().strip()
        if not lender or not contract:
            self.say(translate("RecordForms", "Give the lender and the contract number"), True)
            return
        try:
            day = parse_date(self.registered.text(), translate("RecordForms", "Registered on"))
            amount = parse_vnd(self.amount.text())
        except FormError as exc:
            self.say(str(exc), True)
            return
        self.send(Mortgage(lender, contract, day, amount))

    def clear(self) -> None:
        for e in (self.lender, self.contract, self.amount):
            e.clear()


def mortgages_text(details: dict[str, Any] | None) -> str:
    if not details:
        return translate("RecordForms", "Select the parcel on the map")
    rows = [m for m in details.get("mortgages") or [] if m.get("in_force")]
    if not rows:
        return translate("RecordForms", "No mortgage in force on this parcel")
    return translate("RecordForms", "Mortgages in force: {n}").format(n=len(rows))


def mortgage_line(m: dict[str, Any]) -> str:
    day = dt.date.fromisoformat(m["registered_on"]).strftime("%d/%m/%Y")
    text = translate("RecordForms", "{lender}, contract {contract}, registered {day}").format(
        lender=m["lender"], contract=m["contract_number"], day=day
    )
    if m.get("secured_amount") is not None:
        text += f" ({format_vnd(str(int(Decimal(str(m['secured_amount'])))))} đ)"
    return text


class ReleaseForm(QWidget):
    def __init__(
        self, send: Callable[[int, dt.date], None], say: Callable[[str, bool], None]
    ) -> None:
        super().__init__()
        self.setObjectName("releaseForm")
        self.send, self.say = send, say
        f = _top_form(self)
        f.addRow(QLabel(translate("RecordForms", "Mortgages in force on the selected parcel")))
        self.list = QListWidget()
        self.list.setObjectName("releaseMortgages")
        self.list.setMaximumHeight(100)
        self.list.setWordWrap(True)  # "lender, contract, date (amount)" is long
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        f.addRow(self.list)
        self.released = _line("releaseDate", "dd/mm/yyyy")
        self.released.setText(today_text())
        f.addRow(translate("RecordForms", "Released on"), self.released)
        f.addRow(_button("saveRelease", translate("RecordForms", "Save the release"), self.save))

    def set_parcel(self, details: dict[str, Any] | None) -> None:
        self.list.clear()
        for m in (details or {}).get("mortgages") or []:
            if m.get("in_force"):
                it = QListWidgetItem(mortgage_line(m))
                it.setData(Qt.ItemDataRole.UserRole, m["id"])
                self.list.addItem(it)
        if details is not None and self.list.count() == 0:
            it = QListWidgetItem(translate("RecordForms", "No mortgage in force on this parcel"))
            it.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(it)
        elif self.list.count() == 1:
            self.list.setCurrentRow(0)

    def save(self) -> None:
        item = self.list.currentItem()
        mid = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if mid is None:
            self.say(translate("RecordForms", "Pick the mortgage to release"), True)
            return
        try:
            day = parse_date(self.released.text(), translate("RecordForms", "Released on"))
        except FormError as exc:
            self.say(str(exc), True)
            return
        self.send(int(mid), day)

    def clear(self) -> None:
        self.list.clearSelection()


class CertificateForm(QWidget):
    """Serial checked as typed ("AB 123456"), register number, date, issuer; for the
    parcels selected on the map."""

    def __init__(
        self, send: Callable[[Certificate], None], say: Callable[[str, bool], None]
    ) -> None:
        super().__init__()
        self.setObjectName("certificateForm")
        self.send, self.say = send, say
        f = _top_form(self)
        self.parcels = QLabel("")
        self.parcels.setObjectName("certificateParcels")
        self.parcels.setWordWrap(True)
        f.addRow(translate("RecordForms", "Parcels"), self.parcels)
        self.serial = _line("certificateSerial", "AB 123456")
        self.serial.setMaxLength(11)
        self.serial.textEdited.connect(self._serial_edited)
        f.addRow(translate("RecordForms", "Serial"), self.serial)
        self.serial_check = QLabel("")
        self.serial_check.setObjectName("certificateSerialCheck")
        self.serial_check.setWordWrap(True)
        f.addRow(self.serial_check)
        self.register = _line("certificateRegister", "CS 01234")
        f.addRow(translate("RecordForms", "Register number"), self.register)
        self.issued = _line("certificateDate", "dd/mm/yyyy")
        self.issued.setText(today_text())
        f.addRow(translate("RecordForms", "Issued on"), self.issued)
        self.issuer = _line(
            "certificateIssuer", translate("RecordForms", "e.g. Sở Tài nguyên và Môi trường")
        )
        f.addRow(translate("RecordForms", "Issuer"), self.issuer)
        self.save_button = _button(
            "saveCertificate", translate("RecordForms", "Save the certificate"), self.save
        )
        f.addRow(self.save_button)
        self._serial_edited(self.serial.text())

    def serial_ok(self) -> bool:
        return bool(SERIAL_RE.match(self.serial.text()))

    def _serial_edited(self, text: str) -> None:
        upper = text.upper()
        if upper != text:
            pos = self.serial.cursorPosition()
            self.serial.setText(upper)
            self.serial.setCursorPosition(pos)
        if not upper:
            self.serial_check.setText(
                translate("RecordForms", "Two letters, a space, 6 to 8 digits: AB 123456")
            )
            self.serial_check.setStyleSheet("color: #555555;")
        elif self.serial_ok():
            self.serial_check.setText(translate("RecordForms", "Serial well formed ✓"))
            self.serial_check.setStyleSheet(_OK)
        else:
            self.serial_check.setText(
                translate(
                    "RecordForms",
                    "«{s}» is not a serial: two letters, a space, 6 to 8 digits (AB 123456)",
                ).format(s=upper)
            )
            self.serial_check.setStyleSheet(_ERR)
        self.save_button.setEnabled(self.serial_ok())

    def set_parcels(self, labels: list[str]) -> None:
        self.parcels.setText(
            ", ".join(labels) or translate("RecordForms", "select the parcels on the map")
        )

    def save(self) -> None:
        if not self.serial_ok():
            self.say(self.serial_check.text(), True)
            return
        register, issuer = self.register.text().strip(), self.issuer.text().strip()
        if not register or not issuer:
            self.say(translate("RecordForms", "Give the register number and the issuer"), True)
            return
        try:
            day = parse_date(self.issued.text(), translate("RecordForms", "Issued on"))
        except FormError as exc:
            self.say(str(exc), True)
            return
        self.send(Certificate(self.serial.text(), register, day, issuer))

    def clear(self) -> None:
        self.serial.clear()
        self.register.clear()
        self._serial_edited("")


class PartyForm(QWidget):
    """Correct a person's or organisation's details (op 'party') and, for a household,
    couple or community, set its members (op 'party_members'). The person is found with
    the database's party search; only the fields that differ are sent. ``send_update(
    party_id, version, PartyUpdate)``, ``send_members(party_id, version, [Member])`` and
    ``find(text, show)`` are the dock's calls."""

    def __init__(
        self,
        send_update: Callable[[int, int, PartyUpdate], None],
        send_members: Callable[[int, int, list[Member]], None],
        find: Callable[[str, Callable[[list[Any]], None]], None],
        say: Callable[[str, bool], None],
    ) -> None:
        super().__init__()
        self.setObjectName("partyForm")
        self.send_update, self.send_members, self.find, self.say = (
            send_update, send_members, find, say
        )  # fmt: skip
        self.hit: Any = None
        self.members: list[tuple[Member, str, str]] = []  # member (role in the combo), name, doc
        # Details and members are taller than the dock: the form scrolls.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("partyFormScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Width follows the dock (no sideways scrolling); tall enough to read the details
        # or the members at once, the dock's own scroll bar doing the rest.
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setMinimumHeight(420)
        inner = QWidget()
        self.scroll.setWidget(inner)
        outer.addWidget(self.scroll)
        v = QVBoxLayout(inner)
        v.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.search = _line("partyEditSearch", translate("RecordForms", "ID number or full name"))
        self.search.returnPressed.connect(self._find)
        row.addWidget(self.search, 1)
        row.addWidget(_button("partyEditFind", translate("RecordForms", "Find"), self._find))
        v.addLayout(row)
        self.results = QComboBox()
        self.results.setObjectName("partyEditResults")
        _narrow(self.results)
        self.results.activated.connect(self._picked)
        v.addWidget(self.results)
        self.current = QLabel(translate("RecordForms", "Find the person to correct"))
        self.current.setObjectName("partyEditCurrent")
        self.current.setWordWrap(True)
        v.addWidget(self.current)

        self.details = QGroupBox(translate("RecordForms", "Details"))
        f = QFormLayout(self.details)
        self.name = _line("partyEditName")
        f.addRow(translate("RecordForms", "Full name"), self.name)
        ident = QHBoxLayout()
        self.id_kind = QComboBox()
        self.id_kind.setObjectName("partyEditIdKind")
        for code in ID_KINDS:
            self.id_kind.addItem(_id_kind_name(code), code or None)
        ident.addWidget(self.id_kind)
        self.id_number = _line("partyEditIdNumber")
        ident.addWidget(self.id_number, 1)
        f.addRow(translate("RecordForms", "Document"), ident)
        self.id_check = QLabel("")
        self.id_check.setObjectName("partyEditIdCheck")
        f.addRow("", self.id_check)
        self.id_kind.currentIndexChanged.connect(self._id_edited)
        self.id_number.textEdited.connect(self._id_edited)
        self.birth_year = _line("partyEditBirthYear")
        self.birth_year.setValidator(QIntValidator(1880, 2100, self))
        f.addRow(translate("RecordForms", "Birth year"), self.birth_year)
        self.gender = QComboBox()
        self.gender.setObjectName("partyEditGender")
        self.gender.addItem("—", None)
        self.gender.addItem(translate("RecordForms", "male"), "nam")
        self.gender.addItem(translate("RecordForms", "female"), "nu")
        f.addRow(translate("RecordForms", "Gender"), self.gender)
        self.address = _line("partyEditAddress")
        f.addRow(translate("RecordForms", "Address"), self.address)
        self.save_button = _button(
            "savePartyUpdate", translate("RecordForms", "Save the correction"), self.save
        )
        f.addRow(self.save_button)
        v.addWidget(self.details)

        self.members_box = QGroupBox(translate("RecordForms", "Members"))
        self.members_box.setObjectName("partyMembersBox")
        mv = QVBoxLayout(self.members_box)
        self.table = _people_table(
            "partyMembers",
            [
                translate("RecordForms", "Member"),
                translate("RecordForms", "Document"),
                translate("RecordForms", "Role"),
            ],
            stretch_document=True,
            min_height=110,
        )
        self.table.setMinimumWidth(0)
        mv.addWidget(self.table)
        grid = QGridLayout()
        self.member_search = _line(
            "memberSearch", translate("RecordForms", "Existing person: ID number or name")
        )
        self.member_search.returnPressed.connect(self._find_member)
        grid.addWidget(self.member_search, 0, 0)
        grid.addWidget(
            _button("memberFind", translate("RecordForms", "Find"), self._find_member), 0, 1
        )
        self.member_results = QComboBox()
        self.member_results.setObjectName("memberResults")
        _narrow(self.member_results)
        grid.addWidget(self.member_results, 1, 0)
        grid.addWidget(
            _button("addFoundMember", translate("RecordForms", "Add"), self.add_found), 1, 1
        )
        self.new_name = _line("newMemberName", translate("RecordForms", "New person: full name"))
        grid.addWidget(self.new_name, 2, 0)
        self.new_id = _line("newMemberIdNumber", translate("RecordForms", "CCCD (12 digits)"))
        grid.addWidget(self.new_id, 3, 0)
        self.new_year = _line("newMemberBirthYear", translate("RecordForms", "birth year"))
        self.new_year.setValidator(QIntValidator(1880, 2100, self))
        grid.addWidget(self.new_year, 4, 0)
        grid.addWidget(
            _button("addNewMember", translate("RecordForms", "Add this new person"), self.add_new),
            4,
            1,
        )
        self.role = QComboBox()
        self.role.setObjectName("memberRole")
        for r in MEMBER_ROLES:
            self.role.addItem(role_name(r), r)
        grid.addWidget(QLabel(translate("RecordForms", "Role")), 5, 0)
        grid.addWidget(self.role, 5, 1)
        grid.setColumnStretch(0, 1)
        mv.addLayout(grid)
        buttons = QHBoxLayout()
        buttons.addWidget(
            _button("removeMember", translate("RecordForms", "Remove row"), self.remove_member)
        )
        buttons.addWidget(
            _button("saveMembers", translate("RecordForms", "Save the members"), self.save_members)
        )
        mv.addLayout(buttons)
        v.addWidget(self.members_box)
        v.addStretch(1)
        self.clear()

    # finding and loading the person
    def _find(self) -> None:
        self.find(self.search.text(), self.show_found)

    def show_found(self, hits: list[Any]) -> None:
        self.results.clear()
        for h in hits:
            self.results.addItem(_hit_label(h), h)
        if not hits:
            self.say(translate("RecordForms", "Nobody in your area matches"), True)
            return
        self.load(hits[0])

    def _picked(self, index: int) -> None:
        hit = self.results.itemData(index)
        if hit is not None:
            self.load(hit)

    def load(self, hit: Any) -> None:
        """Fill the fields with the person as the store has them now."""
        self.hit = hit
        person = hit.party_kind == "ca_nhan"
        where = hit.parcels_text() if hasattr(hit, "parcels_text") else ""
        self.current.setText(
            translate("RecordForms", "{kind} {name}, version {v}").format(
                kind=party_kind_name(hit.party_kind), name=hit.full_name, v=hit.version
            )
            + (f" — {where}" if where else "")
        )
        self.name.setText(hit.full_name)
        self.id_kind.setCurrentIndex(max(0, self.id_kind.findData(hit.id_kind)))
        self.id_number.setText(hit.id_number_masked or "")
        self.birth_year.setText(str(hit.birth_year) if hit.birth_year else "")
        self.gender.setCurrentIndex(max(0, self.gender.findData(hit.gender)))
        self.address.setText(hit.address or "")
        for w in (self.birth_year, self.gender):
            w.setEnabled(person)
        self.details.setEnabled(True)
        self._id_edited()
        group = hit.party_kind in GROUP_KINDS
        self.members_box.setVisible(group)
        self.members.clear()
        self.table.setRowCount(0)
        for m in getattr(hit, "members", ()) or ():
            doc = f"{(m.get('id_kind') or '').upper()} {m.get('id_number') or ''}".strip()
            self._add_member(Member(m["role"], party_id=m["party_id"]), m["full_name"], doc)

    def _id_edited(self, *_args: Any) -> None:
        number = self.id_number.text().strip().upper()
        problem = None if "*" in number else id_problem(self.id_kind.currentData(), number)
        if problem:
            self.id_check.setText(problem)
            self.id_check.setStyleSheet(_ERR)
        elif number and "*" not in number:
            self.id_check.setText(translate("RecordForms", "Document number well formed ✓"))
            self.id_check.setStyleSheet(_OK)
        else:
            self.id_check.setText("")

    def changes(self) -> PartyUpdate | None:
        """The fields that differ from the record; None (with a message) if none or bad."""
        h = self.hit
        if h is None:
            self.say(translate("RecordForms", "Find the person first"), True)
            return None
        out = PartyUpdate()
        name = " ".join(self.name.text().split())
        if not name:
            self.say(translate("RecordForms", "The full name cannot be empty"), True)
            return None
        if name != h.full_name:
            out.full_name = name
        kind, number = self.id_kind.currentData(), self.id_number.text().strip().upper()
        if (kind, number) != (h.id_kind, h.id_number_masked or ""):
            if "*" in number:
                self.say(translate("RecordForms", "Type the whole new document number"), True)
                return None
            problem = id_problem(kind, number) if number else None
            if problem or not number or not kind:
                self.say(problem or translate("RecordForms", "Give the document number"), True)
                return None
            out.id_kind, out.id_number = kind, number
        if h.party_kind == "ca_nhan":
            year = int(self.birth_year.text()) if self.birth_year.text().strip() else None
            if year is not None and year != h.birth_year:
                out.birth_year = year
            gender = self.gender.currentData()
            if gender is not None and gender != h.gender:
                out.gender = gender
        address = " ".join(self.address.text().split())
        if address and address != (h.address or ""):
            out.address = address
        if not out.as_json():
            self.say(translate("RecordForms", "Nothing changed: edit a field first"), True)
            return None
        return out

    def save(self) -> None:
        out = self.changes()
        if out is not None:
            self.send_update(self.hit.party_id, self.hit.version, out)

    # members
    def _find_member(self) -> None:
        self.find(self.member_search.text(), self.show_member_hits)

    def show_member_hits(self, hits: list[Any]) -> None:
        self.member_results.clear()
        for h in hits:
            if h.party_kind == "ca_nhan":
                self.member_results.addItem(_hit_label(h), h)
        if not self.member_results.count():
            self.say(translate("RecordForms", "Nobody in your area matches"), True)

    def add_found(self) -> None:
        hit = self.member_results.currentData()
        if hit is None:
            self.say(translate("RecordForms", "Find the person first"), True)
            return
        if any(m.party_id == hit.party_id for m, _n, _d in self.members):
            self.say(translate("RecordForms", "This person is already in the table"), True)
            return
        doc = f"{(hit.id_kind or '').upper()} {hit.id_number_masked or ''}".strip()
        self._add_member(Member(self.role.currentData(), party_id=hit.party_id), hit.full_name, doc)

    def add_new(self) -> None:
        name = " ".join(self.new_name.text().split())
        number = self.new_id.text().strip()
        if not name:
            self.say(translate("RecordForms", "Give the new person's full name"), True)
            return
        problem = id_problem("cccd", number)
        if problem:
            self.say(problem, True)
            return
        year = int(self.new_year.text()) if self.new_year.text().strip() else None
        party = NewParty("ca_nhan", name, "cccd" if number else None, number or None, year)
        self._add_member(
            Member(self.role.currentData(), party=party), name, f"CCCD {number}" if number else ""
        )
        for e in (self.new_name, self.new_id, self.new_year):
            e.clear()

    def _add_member(self, member: Member, name: str, doc: str) -> None:
        self.members.append((member, name, doc))
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, text in enumerate((name, doc)):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, c, item)
        role = QComboBox()
        role.setObjectName(f"memberRole{r}")
        for code in MEMBER_ROLES:
            role.addItem(role_name(code), code)
        if role.findData(member.role) < 0:
            role.addItem(member.role, member.role)
        role.setCurrentIndex(role.findData(member.role))
        self.table.setCellWidget(r, 2, role)

    def remove_member(self) -> None:
        r = self.table.currentRow()
        if r < 0:
            r = self.table.rowCount() - 1
        if r < 0:
            return
        self.table.removeRow(r)
        del self.members[r]

    def member_list(self) -> list[Member]:
        """The table as members, each with the role chosen in its row."""
        out = []
        for r, (m, _n, _d) in enumerate(self.members):
            combo = self.table.cellWidget(r, 2)
            role = combo.currentData() if isinstance(combo, QComboBox) else m.role
            out.append(Member(role, party_id=m.party_id, party=m.party))
        return out

    def save_members(self) -> None:
        if self.hit is None:
            self.say(translate("RecordForms", "Find the household or couple first"), True)
            return
        if not self.members:
            self.say(translate("RecordForms", "Add at least one member"), True)
            return
        self.send_members(self.hit.party_id, self.hit.version, self.member_list())

    def clear(self) -> None:
        self.hit = None
        self.results.clear()
        self.members.clear()
        self.table.setRowCount(0)
        for e in (self.name, self.id_number, self.birth_year, self.address):
            e.clear()
        self.id_check.setText("")
        self.details.setEnabled(False)
        self.members_box.setVisible(False)
        self.current.setText(translate("RecordForms", "Find the person to correct"))


def _id_kind_name(code: str) -> str:
    return {
        "": translate("RecordForms", "none"),
        "cccd": "CCCD",
        "cmnd": "CMND",
        "ho_chieu": translate("RecordForms", "passport"),
        "mst": translate("RecordForms", "tax code"),
    }[code]


def _hit_label(h: Any) -> str:
    label = h.full_name
    if h.id_number_masked:
        label += f" — {h.id_number_masked}"
    if h.birth_year:
        label += f" ({h.birth_year})"
    if getattr(h, "parcels", None):
        label += f" — {h.parcels_text()}"
    return label


class RecordForms(QTabWidget):
    """The four forms as tabs; only those of the open change set's kind are shown."""

    def __init__(self, panel: Any) -> None:
        super().__init__()
        self.setObjectName("recordForms")
        self.transfer = TransferForm(panel.draft_transfer, panel.find_parties, panel.say)
        self.mortgage = MortgageForm(panel.draft_mortgage, panel.say)
        self.release = ReleaseForm(panel.draft_release, panel.say)
        self.certificate = CertificateForm(panel.draft_certificate, panel.say)
        self.party = PartyForm(
            panel.draft_party_update, panel.draft_party_members, panel.find_parties, panel.say
        )
        self.forms: dict[str, QWidget] = {
            "rights": self.transfer,
            "mortgage": self.mortgage,
            "mortgage_release": self.release,
            "certificate": self.certificate,
            "party": self.party,
        }
        self.titles = {
            "rights": translate("RecordForms", "Transfer"),
            "mortgage": translate("RecordForms", "Mortgage"),
            "mortgage_release": translate("RecordForms", "Release"),
            "certificate": translate("RecordForms", "Certificate"),
            "party": translate("RecordForms", "Person"),
        }
        self.shown: tuple[str, ...] = ()

    def show_kind(self, kind: str | None) -> None:
        """Tabs for the change set's kind; none while no change set is open."""
        ops = FORMS_BY_KIND.get(kind or "", ("certificate",)) if kind else ()
        if ops == self.shown:
            return
        self.shown = ops
        self.clear()
        for op in ops:
            self.addTab(self.forms[op], self.titles[op])
        self.setVisible(bool(ops))

    def bring(self, op: str) -> QWidget:
        """Bring a form to the front (the tab of ``op``)."""
        form = self.forms[op]
        self.setCurrentWidget(form)
        return form

    def set_parcel(self, details: dict[str, Any] | None) -> None:
        for form in (self.transfer, self.mortgage, self.release):
            form.set_parcel(details)
