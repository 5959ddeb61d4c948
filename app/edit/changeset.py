"""Change sets (biến động) from the client: draft, validate, submit, approve, reject (Qt-free).

A change set is a ``cad.mutation``; its edits are draft items on the server
(``cad.change_item``) and become official only when another person with the cadastral
approver right approves the whole set (``api.approve_change_set``, one transaction: parents
retired, children numbered with national IDs, lineage, history, audit). Every function here
is ONE statement, so ONE round trip on an autocommit connection (the session's connections
are autocommit; on a non-autocommit connection the caller commits). Geometries travel as
WKB in the province CRS (shapely in, shapely out). Validation runs only on the server
(``sys.cs_problems``): the draft functions return a list of :class:`Problem` and keep the
item only when that list is empty (the list's ``item_id`` says which item was stored);
``submit``/``approve`` refuse while problems remain. Refusals raise
:class:`ChangeSetError` subclasses (all :class:`app.errors.UserFacingError`) carrying the
server's Vietnamese message and SQLSTATE: :class:`ConflictError` (40001: a parcel changed
since the draft began; the message names it, the versions, who and when),
:class:`PermissionDenied` (42501), :class:`ValidationFailed` (23514, with ``problems``),
:class:`InvalidInput` (22023), :class:`WrongState` (55000). See docs/change-sets.md.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from app.errors import UserFacingError

# Change-set kinds (cad.mutation.kind) with their Vietnamese names.
KINDS: dict[str, str] = {
    "tach_thua": "Tách thửa",
    "hop_thua": "Hợp thửa",
    "dinh_chinh_ranh_gioi": "Đính chính ranh giới",
    "thua_moi": "Thửa mới",
    "thay_doi_thuoc_tinh": "Thay đổi thuộc tính",
    "chuyen_muc_dich": "Chuyển mục đích sử dụng",
    "chuyen_quyen": "Chuyển quyền",
    "the_chap": "Thế chấp",
    "xoa_the_chap": "Xóa thế chấp",
}
# Item ops (cad.change_item.op) with their Vietnamese names, for lists and the review.
OPS: dict[str, str] = {
    "split": "Tách thửa",
    "merge": "Hợp thửa",
    "reshape": "Sửa ranh giới",
    "new": "Thửa mới",
    "attributes": "Thay đổi thuộc tính",
    "rights": "Chuyển quyền",
    "mortgage": "Đăng ký thế chấp",
    "mortgage_release": "Xóa thế chấp",
    "certificate": "Cấp giấy chứng nhận",
    "party": "Sửa thông tin người sử dụng đất",
    "party_members": "Thay đổi thành viên hộ gia đình, vợ chồng",
}
# Roles of a household / couple / community member (cad.party_member.role, as written in
# the records); migration 0029's sys.cs_member_roles().
MEMBER_ROLES: tuple[str, ...] = ("chủ hộ", "vợ", "chồng", "con", "thành viên")
# Party kinds that have members.
GROUP_KINDS: tuple[str, ...] = ("ho_gia_dinh", "vo_chong", "cong_dong")
# Right kinds (cad.land_right.kind) and party kinds (cad.party.kind).
RIGHT_KINDS: dict[str, str] = {
    "su_dung": "Quyền sử dụng đất",
    "quan_ly": "Quyền quản lý đất",
    "so_huu_tai_san": "Quyền sở hữu tài sản gắn liền với đất",
}
PARTY_KINDS: dict[str, str] = {
    "ca_nhan": "Cá nhân",
    "ho_gia_dinh": "Hộ gia đình",
    "vo_chong": "Vợ chồng",
    "to_chuc": "Tổ chức",
    "cong_dong": "Cộng đồng dân cư",
}
STATUSES: dict[str, str] = {
    "nhap": "Bản nháp",
    "da_nop": "Đã nộp, chờ duyệt",
    "da_duyet": "Đã duyệt",
    "tu_choi": "Bị từ chối",
}


# --- errors ---------------------------------------------------------------------------
class ChangeSetError(UserFacingError):
    """A refusal by the server, with its Vietnamese message and SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail


class ConflictError(ChangeSetError):
    """40001: a parcel changed since the clerk started; nothing was overwritten."""


class PermissionDenied(ChangeSetError):
    """42501: no right, outside the area, the author approving, another person's draft."""


class ValidationFailed(ChangeSetError):
    """23514: submit or approve refused while validation problems remain."""

    def __init__(self, message: str, sqlstate: str | None = None, detail: str | None = None):
        super().__init__(message, sqlstate, detail)
        self.problems: list[Problem] = []
        if detail:
            try:
                self.problems = [_problem(p) for p in json.loads(detail)]
            except (ValueError, TypeError, KeyError):
                self.problems = []


class InvalidInput(ChangeSetError):
    """22023: bad arguments (too few parts, unknown attribute, broken WKB …)."""


class WrongState(ChangeSetError):
    """55000: e.g. editing a submitted change set, approving a draft."""


_BY_STATE: dict[str, type[ChangeSetError]] = {
    "40001": ConflictError,
    "42501": PermissionDenied,
    "23514": ValidationFailed,
    "22023": InvalidInput,
    "55000": WrongState,
}


@contextmanager
def _server_errors() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        state = exc.sqlstate or ""
        cls = _BY_STATE.get(state)
        if cls is None and not state.startswith("28"):
            raise
        diag = exc.diag
        cls = cls or PermissionDenied
        raise cls(diag.message_primary or str(exc), state, diag.message_detail) from exc


# --- data -------------------------------------------------------------------------------
@dataclass
class Problem:
    """One validation failure: code (e.g. OVERLAP), Vietnamese message, where to look."""

    code: str
    message: str
    parcel_id: int | None
    item_id: int | None
    location: BaseGeometry | None


class Problems(list[Problem]):
    """The problems of a draft; ``item_id`` is the stored item's id (None: not stored) and
    ``change_set`` the change set as the store holds it after the draft (same reply)."""

    item_id: int | None = None
    change_set: ChangeSet | None = None


@dataclass
class NewParty:
    """A holder not yet in the records: validated like cad.party (NFC name, CCCD 12 digits,
    CMND 9, passport, tax code for organisations). A document number already known makes
    the server reuse that party instead of creating a second one."""

    kind: str  # 'ca_nhan' | 'ho_gia_dinh' | 'vo_chong' | 'to_chuc' | 'cong_dong'
    full_name: str
    id_kind: str | None = None  # 'cccd' | 'cmnd' | 'ho_chieu' | 'mst'
    id_number: str | None = None
    birth_year: int | None = None
    gender: str | None = None  # 'nam' | 'nu'
    address: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "full_name": unicodedata.normalize("NFC", self.full_name),
            "id_kind": self.id_kind,
            "id_number": self.id_number,
            "birth_year": self.birth_year,
            "gender": self.gender,
            "address": self.address,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class Holder:
    """One new holder of a transfer: an existing party (``party_id``) or a new one
    (``party``), with its share (0 < share <= 1, at most 6 decimals; shares sum to 1)."""

    share: Decimal | float | str
    party_id: int | None = None
    party: NewParty | None = None

    def as_json(self) -> dict[str, Any]:
        if (self.party_id is None) == (self.party is None):
            raise InvalidInput("Người nhận quyền cần mã chủ thể đã có hoặc thông tin người mới")
        try:
            share = float(Decimal(str(self.share)))
        except (ArithmeticError, ValueError) as exc:
            raise InvalidInput(f"Phần quyền «{self.share}» không phải là một số") from exc
        if self.party_id is not None:
            return {"party_id": int(self.party_id), "share": share}
        assert self.party is not None
        return {"party": self.party.as_json(), "share": share}


@dataclass
class Mortgage:
    """A mortgage (thế chấp) to register: lender, contract number, registration date and the
    secured amount in VND (optional)."""

    lender: str
    contract_number: str
    registered_on: dt.date
    secured_amount: int | None = None


@dataclass
class Certificate:
    """A land-use-right certificate (giấy chứng nhận): serial "AB 123456", register number
    (số vào sổ), issue date (not in the future) and issuing authority."""

    serial: str
    register_number: str
    issued_on: dt.date
    issuer: str


@dataclass
class ChangeItem:
    id: int
    # 'split' | 'merge' | 'reshape' | 'new' | 'attributes' | 'rights' | 'mortgage' |
    # 'mortgage_release' | 'certificate' | 'party' | 'party_members' (record items keep
    # their data in attributes)
    op: str
    parcel_ids: list[int]
    base_versions: list[int]
    new_geometries: list[BaseGeometry]
    attributes: dict[str, Any]
    # Per proposed geometry: its attributes and, for a reshape, the parcel it replaces.
    part_attributes: list[dict[str, Any]] = field(default_factory=list)
    geometry_parcel_ids: list[int | None] = field(default_factory=list)


@dataclass
class ChangeSet:
    id: int
    kind: str
    status: str
    reason: str
    dossier_number: str | None
    created_by: str
    created_at: dt.datetime | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_comment: str | None
    items: list[ChangeItem] = field(default_factory=list)
    submitted_at: dt.datetime | None = None
    # From sys.account, in the same reply (migration 0021); None for a role without account.
    created_by_name: str | None = None
    created_by_unit: str | None = None
    decided_by_name: str | None = None
    decided_by_unit: str | None = None

    @property
    def author_label(self) -> str:
        """ "Nguyễn Thị Lan — Văn phòng đăng ký đất đai tỉnh (demo_clerk)"."""
        return person_label(self.created_by, self.created_by_name, self.created_by_unit)

    @property
    def decider_label(self) -> str | None:
        if not self.decided_by:
            return None
        return person_label(self.decided_by, self.decided_by_name, self.decided_by_unit)


def person_label(role: str, full_name: str | None, unit: str | None) -> str:
    """The person first, the role name kept in parentheses to tell namesakes apart."""
    if not full_name:
        return role
    who = f"{full_name} — {unit}" if unit else full_name
    return f"{who} ({role})"


def _wkb(geom: BaseGeometry) -> bytes:
    if not isinstance(geom, BaseGeometry):
        raise InvalidInput(f"cần một hình học shapely, nhận {type(geom).__name__}")
    return shapely.to_wkb(geom, hex=False, output_dimension=2)


def _geom_hex(value: str | None) -> BaseGeometry | None:
    return shapely.from_wkb(bytes.fromhex(value)) if value else None


def _problem(p: dict[str, Any]) -> Problem:
    return Problem(
        p["code"], p["message"], p.get("parcel_id"), p.get("item_id"), _geom_hex(p.get("location"))
    )


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _draft_result(doc: dict[str, Any]) -> Problems:
    out = Problems(_problem(p) for p in doc.get("problems") or [])
    out.item_id = doc.get("item_id")
    if doc.get("change_set"):
        out.change_set = _change_set(doc["change_set"])
    return out


def _with_change_set(call: str) -> str:
    """One statement: the draft call, then the change set as it is after it (migration
    0016's api.cs_draft_reply), so a draft costs one round trip, not draft + reload."""
    return f"SELECT api.cs_draft_reply(%s, {call})"


def _change_set(doc: dict[str, Any]) -> ChangeSet:
    items = []
    for it in doc.get("items") or []:
        geoms = it.get("geoms") or []
        items.append(
            ChangeItem(
                id=it["id"],
                op=it["op"],
                parcel_ids=list(it["parcel_ids"]),
                base_versions=list(it["base_versions"]),
                new_geometries=[_geom_hex(g["wkb"]) for g in geoms],
                attributes=it.get("attributes") or {},
                part_attributes=[g.get("attributes") or {} for g in geoms],
                geometry_parcel_ids=[g.get("parcel_id") for g in geoms],
            )
        )
    return ChangeSet(
        id=doc["id"],
        kind=doc["kind"],
        status=doc["status"],
        reason=doc["reason"],
        dossier_number=doc.get("dossier_number"),
        created_by=doc["created_by"],
        created_at=_time(doc.get("created_at")),
        decided_by=doc.get("decided_by"),
        decided_at=_time(doc.get("decided_at")),
        decision_comment=doc.get("decision_comment"),
        items=items,
        submitted_at=_time(doc.get("submitted_at")),
        created_by_name=doc.get("created_by_name"),
        created_by_unit=doc.get("created_by_unit"),
        decided_by_name=doc.get("decided_by_name"),
        decided_by_unit=doc.get("decided_by_unit"),
    )


def _one(conn: psycopg.Connection, sql: str, params: tuple) -> Any:
    with _server_errors():
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _attrs(attributes: dict[str, Any] | None) -> str | None:
    return None if attributes is None else json.dumps(attributes, ensure_ascii=False)


# --- the API ----------------------------------------------------------------------------
def open_change_set(
    conn: psycopg.Connection, kind: str, reason: str, dossier_number: str | None = None
) -> int:
    """A new draft change set of the signed-in clerk; returns its id."""
    return _one(conn, "SELECT api.create_mutation(%s, %s, %s)", (kind, reason, dossier_number))


def draft_split(
    conn: psycopg.Connection,
    cs_id: int,
    parcel_id: int,
    base_version: int,
    parts: list[BaseGeometry],
    part_attributes: list[dict[str, Any]] | None = None,
) -> Problems:
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_split(%s, %s, %s, %s, %s::jsonb)"),
        (cs_id, cs_id, parcel_id, base_version, [_wkb(p) for p in parts], _attrs(part_attributes)),
    )
    return _draft_result(doc)


def draft_merge(
    conn: psycopg.Connection,
    cs_id: int,
    parcel_ids: list[int],
    base_versions: list[int],
    merged: BaseGeometry,
    attributes: dict[str, Any] | None = None,
) -> Problems:
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_merge(%s, %s, %s, %s, %s::jsonb)"),
        (cs_id, cs_id, list(parcel_ids), list(base_versions), _wkb(merged), _attrs(attributes)),
    )
    return _draft_result(doc)


def draft_reshape(
    conn: psycopg.Connection, cs_id: int, changes: dict[int, tuple[int, BaseGeometry]]
) -> Problems:
    """parcel_id -> (base_version, new polygon); several parcels for a shared-vertex move."""
    ids = list(changes)
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_reshape(%s, %s, %s, %s)"),
        (cs_id, cs_id, ids, [changes[i][0] for i in ids], [_wkb(changes[i][1]) for i in ids]),
    )
    return _draft_result(doc)


def draft_new_parcel(
    conn: psycopg.Connection, cs_id: int, geometry: BaseGeometry, attributes: dict[str, Any]
) -> Problems:
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_new(%s, %s, %s::jsonb)"),
        (cs_id, cs_id, _wkb(geometry), _attrs(attributes or {})),
    )
    return _draft_result(doc)


def draft_attributes(
    conn: psycopg.Connection,
    cs_id: int,
    parcel_id: int,
    base_version: int,
    attributes: dict[str, Any],
) -> Problems:
    """land_use_code | land_uses [{code, area}] | address | area_legal."""
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_attributes(%s, %s, %s, %s::jsonb)"),
        (cs_id, cs_id, parcel_id, base_version, _attrs(attributes or {})),
    )
    return _draft_result(doc)


def draft_rights(
    conn: psycopg.Connection,
    cs_id: int,
    parcel_id: int,
    base_version: int,
    holders: list[Holder],
    right_kind: str = "su_dung",
) -> Problems:
    """Transfer of rights (chuyển quyền): the new holders of ``right_kind`` on the parcel.
    On approval the current rights of that kind end and these begin (approval date)."""
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_rights(%s, %s, %s, %s::jsonb, %s)"),
        (cs_id, cs_id, parcel_id, base_version,
         json.dumps([h.as_json() for h in holders], ensure_ascii=False), right_kind),
    )  # fmt: skip
    return _draft_result(doc)


def draft_mortgage(
    conn: psycopg.Connection, cs_id: int, parcel_id: int, base_version: int, mortgage: Mortgage
) -> Problems:
    """Register a mortgage on the parcel (a second one is allowed, the same contract not)."""
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_mortgage(%s, %s, %s, %s, %s, %s, %s)"),
        (cs_id, cs_id, parcel_id, base_version, mortgage.lender, mortgage.contract_number,
         mortgage.registered_on, mortgage.secured_amount),
    )  # fmt: skip
    return _draft_result(doc)


def draft_mortgage_release(
    conn: psycopg.Connection,
    cs_id: int,
    parcel_id: int,
    base_version: int,
    mortgage_id: int,
    released_on: dt.date | None = None,
) -> Problems:
    """Release (xóa thế chấp) a mortgage in force on the parcel; default date today."""
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_mortgage_release(%s, %s, %s, %s, %s)"),
        (cs_id, cs_id, parcel_id, base_version, mortgage_id, released_on),
    )
    return _draft_result(doc)


def draft_certificate(
    conn: psycopg.Connection,
    cs_id: int,
    parcels: dict[int, int],
    certificate: Certificate,
) -> Problems:
    """Issue a certificate for parcels (parcel_id -> base version) of the same holders (after
    the set's transfers). The certificates in force on them become 'cap_doi'."""
    ids = list(parcels)
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_certificate(%s, %s, %s, %s, %s, %s, %s)"),
        (cs_id, cs_id, ids, [parcels[i] for i in ids], certificate.serial,
         certificate.register_number, certificate.issued_on, certificate.issuer),
    )  # fmt: skip
    return _draft_result(doc)


@dataclass
class PartyUpdate:
    """Corrected details of a person or organisation (None = unchanged). A document changes
    as a pair: ``id_kind`` and ``id_number`` together (e.g. CMND 9 digits → CCCD 12)."""

    full_name: str | None = None
    gender: str | None = None  # 'nam' | 'nu' (persons only)
    birth_year: int | None = None  # persons only
    id_kind: str | None = None  # 'cccd' | 'cmnd' | 'ho_chieu' | 'mst'
    id_number: str | None = None
    address: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = {
            "full_name": None
            if self.full_name is None
            else unicodedata.normalize("NFC", self.full_name),
            "gender": self.gender,
            "birth_year": self.birth_year,
            "id_kind": self.id_kind,
            "id_number": self.id_number,
            "address": self.address,
        }
        return {k: v for k, v in out.items() if v is not None}


def draft_party_update(
    conn: psycopg.Connection, cs_id: int, party_id: int, base_version: int, update: PartyUpdate
) -> Problems:
    """Correct a party's details (migration 0027: the only way; api.update_party refuses).
    Checked like the old direct function: NFC name, document formats, one document per
    party (23505 → :class:`InvalidInput`), the party in the caller's area (every commune
    where it holds a right in force), and ``base_version`` = the party's version read with
    it (40001 → :class:`ConflictError` naming who changed what). Applied on approval."""
    try:
        doc = _one(
            conn,
            _with_change_set("api.cs_draft_party(%s, %s, %s, %s::jsonb)"),
            (cs_id, cs_id, party_id, base_version, _attrs(update.as_json())),
        )
    except psycopg.errors.UniqueViolation as exc:
        raise InvalidInput(
            exc.diag.message_primary or str(exc), exc.sqlstate, exc.diag.message_detail
        ) from exc
    return _draft_result(doc)


@dataclass
class Member:
    """One member of a household, couple or community after the change: an existing person
    (``party_id``) or a new one (``party``, kind 'ca_nhan'), with a role of
    :data:`MEMBER_ROLES`."""

    role: str
    party_id: int | None = None
    party: NewParty | None = None

    def as_json(self) -> dict[str, Any]:
        if (self.party_id is None) == (self.party is None):
            raise InvalidInput("Thành viên cần mã chủ thể đã có hoặc thông tin người mới")
        role = unicodedata.normalize("NFC", self.role.strip())
        if self.party_id is not None:
            return {"party_id": int(self.party_id), "role": role}
        assert self.party is not None
        return {"party": self.party.as_json(), "role": role}


def draft_party_members(
    conn: psycopg.Connection, cs_id: int, party_id: int, base_version: int, members: list[Member]
) -> Problems:
    """Set the members of a household, couple or community (migration 0029, op
    'party_members'): ``members`` is the whole list after the change. Checked on the server
    (22023 → :class:`InvalidInput`): a couple has exactly two members ("Vợ chồng phải có
    đúng hai thành viên"), one chủ hộ at most, members are persons, none twice, the group
    not in itself; new persons cleaned like a transfer's (a known document reuses its
    person); the group in the caller's area, ``base_version`` its version (40001 →
    :class:`ConflictError`). Applied on approval (audit.log names the approver)."""
    doc = _one(
        conn,
        _with_change_set("api.cs_draft_party_members(%s, %s, %s, %s::jsonb)"),
        (cs_id, cs_id, party_id, base_version,
         json.dumps([m.as_json() for m in members], ensure_ascii=False)),
    )  # fmt: skip
    return _draft_result(doc)


def rights_as_of(conn: psycopg.Connection, parcel_id: int, at: dt.datetime) -> list[dict[str, Any]]:
    """The parcel's rights as the records held them at ``at`` (name, kind, share, dates)."""
    return list(_one(conn, "SELECT api.parcel_rights_as_of(%s, %s)", (parcel_id, at)) or [])


def open_and_load(
    conn: psycopg.Connection, kind: str, reason: str, dossier_number: str | None = None
) -> ChangeSet:
    """:func:`open_change_set` and :func:`load` in one statement (one round trip)."""
    doc = _one(
        conn,
        "SELECT api.cs_draft_reply(api.create_mutation(%s, %s, %s), NULL)",
        (kind, reason, dossier_number),
    )
    return _change_set(doc["change_set"])


def remove_item(conn: psycopg.Connection, cs_id: int, item_id: int) -> ChangeSet:
    """Drop a draft item; returns the change set without it (one round trip)."""
    doc = _one(conn, "SELECT api.cs_remove_item_reply(%s, %s)", (cs_id, item_id))
    return _change_set(doc["change_set"])


def validate(conn: psycopg.Connection, cs_id: int) -> list[Problem]:
    with _server_errors():
        rows = conn.execute(
            "SELECT code, message, parcel_id, item_id, public.ST_AsBinary(location) "
            "FROM api.validate_change_set(%s)",
            (cs_id,),
        ).fetchall()
    return [
        Problem(c, m, p, i, shapely.from_wkb(bytes(loc)) if loc is not None else None)
        for c, m, p, i, loc in rows
    ]


def submit(conn: psycopg.Connection, cs_id: int) -> None:
    _one(conn, "SELECT api.submit_change_set(%s)", (cs_id,))


def approve(conn: psycopg.Connection, cs_id: int, comment: str = "") -> list[int]:
    """Apply the whole change set; returns the ids of the parcels created."""
    return list(_one(conn, "SELECT api.approve_change_set(%s, %s)", (cs_id, comment or None)) or [])


def reject(conn: psycopg.Connection, cs_id: int, comment: str) -> None:
    _one(conn, "SELECT api.reject_change_set(%s, %s)", (cs_id, comment))


def load(conn: psycopg.Connection, cs_id: int) -> ChangeSet:
    return _change_set(_one(conn, "SELECT api.change_set(%s)", (cs_id,)))


def review(conn: psycopg.Connection, cs_id: int) -> dict[str, Any]:
    """For the approver's view: ``change_set`` (ChangeSet), ``problems`` (list[Problem]) and
    ``items``: per item ``old`` (official parcels now: geometry, number, sheet, version,
    base_version, area, address, land_uses), ``new`` (proposed geometries with area and
    attributes) and ``diff`` (attribute changes: field, old, new); ``label`` the op's
    Vietnamese name. Record items also carry ``record`` — rights: ``old_holders`` →
    ``new_holders`` (full_name, share, masked document, ``new`` for a person to create);
    mortgage: lender, contract_number, registered_on, secured_amount, ``in_force`` (the
    parcel's other mortgages); mortgage_release: the mortgage released; certificate:
    serial, register_number, issued_on, issuer, parcel_ids, ``replaces``; party (0027):
    party_id, full_name (when drafted), version, base_version, ``fields`` [{field, label,
    old, new}] (document numbers masked for viewers); party_members (0029): party_id,
    full_name, ``before`` → ``after`` member lists (party_id, full_name, birth_year, id_kind,
    id_number masked for viewers, role; ``new`` for persons to create) — and ``summary``,
    one Vietnamese line (see :func:`record_summary`). One round trip."""
    doc = _one(
        conn,
        "SELECT api.review_change_set(%s) "
        "|| jsonb_build_object('records', api.cs_records_review(%s) || api.cs_party_review(%s)"
        " || api.cs_members_review(%s))",
        (cs_id, cs_id, cs_id, cs_id),
    )
    records = doc.get("records") or {}
    items = []
    for it in doc.get("review") or []:
        old = [dict(o, geom=_geom_hex(o.pop("wkb", None))) for o in it["old"]]
        new = [dict(n, geom=_geom_hex(n.pop("wkb", None))) for n in it["new"]]
        rec = records.get(str(it["item_id"]))
        items.append({"item_id": it["item_id"], "op": it["op"],
                      "label": OPS.get(it["op"], it["op"]), "old": old, "new": new,
                      "diff": it.get("diff") or [], "record": rec,
                      "summary": record_summary(it["op"], rec) if rec else None})  # fmt: skip
    return {
        "change_set": _change_set(doc),
        "problems": [_problem(p) for p in doc.get("problems") or []],
        "items": items,
    }


def list_change_sets(conn: psycopg.Connection, status: str | None = None) -> list[ChangeSet]:
    """Own change sets, and for approvers the submitted/decided ones of their area."""
    docs = _one(conn, "SELECT api.change_sets(%s)", (status,))
    return [_change_set(d) for d in docs or []]


def _share(value: Any) -> str:
    """0.5 -> "0,5" (shares as the office writes them)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text.replace(".", ",")


def _date_vn(value: str | None) -> str:
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


def _holders(rows: list[dict[str, Any]]) -> str:
    return (
        "; ".join(
            f"{h.get('full_name') or ('mã ' + str(h.get('party_id')))} ({_share(h['share'])})"
            for h in rows
        )
        or "(chưa có)"
    )


def record_summary(op: str, rec: dict[str, Any]) -> str:
    """One Vietnamese line for a record item of the review, e.g.
    "Chuyển quyền sử dụng đất: Nguyễn Văn A (1) → Trần Thị B (0,5); Lê Văn C (0,5)"."""
    if op == "rights":
        kind = RIGHT_KINDS.get(rec.get("right_kind") or "", rec.get("right_kind") or "")
        return (
            f"Chuyển {kind[0].lower() + kind[1:]}: {_holders(rec.get('old_holders') or [])}"
            f" → {_holders(rec.get('new_holders') or [])}"
        )
    if op == "mortgage":
        text = (
            f"Đăng ký thế chấp: {rec.get('lender')}, hợp đồng số {rec.get('contract_number')}"
            f", ngày {_date_vn(rec.get('registered_on'))}"
        )
        if rec.get("secured_amount") is not None:
            amount = f"{int(Decimal(str(rec['secured_amount']))):,}".replace(",", ".")
            text += f", số tiền bảo đảm {amount} đồng"
        return text
    if op == "mortgage_release":
        return (
            f"Xóa thế chấp: {rec.get('lender')}, hợp đồng số {rec.get('contract_number')}"
            f" (đăng ký ngày {_date_vn(rec.get('registered_on'))}),"
            f" xóa ngày {_date_vn(rec.get('released_on'))}"
        )
    if op == "certificate":
        text = (
            f"Cấp giấy chứng nhận số phát hành {rec.get('serial')}, số vào sổ"
            f" {rec.get('register_number')}, ngày {_date_vn(rec.get('issued_on'))},"
            f" {rec.get('issuer')}"
        )
        replaced = [c["serial"] for c in rec.get("replaces") or []]
        if replaced:
            text += f"; cấp đổi giấy {', '.join(replaced)}"
        return text
    if op == "party":
        changes = "; ".join(
            f"{f['label']} «{_field_text(f['old'])}» → «{_field_text(f['new'])}»"
            for f in rec.get("fields") or []
        )
        return (
            f"Sửa thông tin {rec.get('full_name') or 'mã ' + str(rec.get('party_id'))}: {changes}"
        )
    if op == "party_members":
        return (
            f"Thành viên của {rec.get('full_name') or 'mã ' + str(rec.get('party_id'))}: "
            f"{_members(rec.get('before') or [])} → {_members(rec.get('after') or [])}"
        )
    return OPS.get(op, op)


def _members(rows: list[dict[str, Any]]) -> str:
    return (
        "; ".join(
            f"{m.get('full_name') or ('mã ' + str(m.get('party_id')))} ({m.get('role')})"
            + (" — mới" if m.get("new") else "")
            for m in rows
        )
        or "(chưa có)"
    )


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    return {"nam": "nam", "nu": "nữ", "cccd": "CCCD", "cmnd": "CMND", "ho_chieu": "hộ chiếu",
            "mst": "mã số thuế"}.get(str(value), str(value))  # fmt: skip
