"""The administrators' calls to the database (Qt-free).

Every function takes the administrator's own psycopg connection — the one whose second
factor was verified (``Session.run``) — and calls one ``admin.*`` function of migrations
0007/0013. Nothing here reads or writes an account table directly: the database checks
the administrator, the second factor, the input, and audits each action. Server errors
come back as :class:`AdminError` with the server's Vietnamese sentence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from app.errors import UserFacingError
from app.store.audit import AuditEntry

# --- errors -----------------------------------------------------------------------------


class AdminError(UserFacingError):
    """A refusal of the server (or of the form) in plain Vietnamese; ``sqlstate`` says which."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate

    @property
    def denied(self) -> bool:
        return self.sqlstate == "42501"

    @property
    def duplicate(self) -> bool:
        return self.sqlstate == "23505"


#: PostgreSQL's own English messages for what LandRec's functions do not phrase themselves.
_GENERIC = {
    "42501": "Tài khoản của bạn không có quyền quản trị hệ thống (cần quyền quản trị và xác "
    "thực hai lớp trong phiên này).",
    "57014": "Máy chủ đã dừng truy vấn vì chạy quá lâu; hãy thu hẹp điều kiện lọc.",
    "40001": "Máy chủ đang bận với thay đổi khác; hãy thử lại.",
    "42883": "Cơ sở dữ liệu chưa được nâng cấp cho chức năng quản trị (landrec db migrate).",
}


def admin_error(exc: BaseException) -> AdminError:
    """The sentence to show for a failed call. LandRec's functions raise Vietnamese
    messages (shown as is); PostgreSQL's English ones get a Vietnamese sentence."""
    if isinstance(exc, AdminError):
        return exc
    state = getattr(exc, "sqlstate", None)
    diag = getattr(exc, "diag", None)
    message = (diag.message_primary if diag is not None else None) or str(exc)
    if state in _GENERIC and _looks_english(message):
        return AdminError(_GENERIC[state], state)
    if isinstance(exc, psycopg.OperationalError) and state is None:
        return AdminError(f"Mất kết nối tới máy chủ: {_first_line(str(exc))}", state)
    return AdminError(message, state)


def _looks_english(text: str) -> bool:
    # Vietnamese sentences carry letters outside ASCII; PostgreSQL's own do not.
    return all(ord(ch) < 128 for ch in text)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _call(conn: psycopg.Connection, sql: str, params: tuple | list = ()) -> list[dict]:
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    except psycopg.Error as exc:
        raise admin_error(exc) from None


# --- accounts ---------------------------------------------------------------------------
#: Subsystem codes (sys.subsystem) in menu order, and the four account kinds.
SUBSYSTEMS = ("cadastral", "land_price", "planning", "inventory", "dossier", "workflow", "admin")
KINDS = ("viewer", "editor", "approver", "administrator")


@dataclass(frozen=True)
class AccountRow:
    """One row of ``admin.account_overview()``."""

    role_name: str
    full_name: str
    person_id_number: str
    unit: str
    position: str | None
    phone: str | None
    email: str | None
    kinds: dict[str, list[str]]
    account_kind: str  # administration / update / read / none
    whole_province: bool
    communes: list[int]
    commune_names: list[str]
    state: str  # active / locked / disabled
    effective_state: str  # … or expired
    lock_kind: str | None
    lock_reason: str | None
    locked_at: datetime | None
    locked_until: datetime | None
    must_change_password: bool
    last_login_at: datetime | None
    issued_at: datetime
    issued_by: str
    contractor_project: str | None
    access_until: date | None
    has_totp: bool


def list_accounts(conn: psycopg.Connection) -> list[AccountRow]:
    """Every account at once (exports, small stores); the window pages with
    :func:`account_page`."""
    return [_account_row(r) for r in _call(conn, "SELECT * FROM admin.account_overview()")]


@dataclass(frozen=True)
class AccountFilter:
    """The accounts list's filters, applied by the server (``admin.account_page``)."""

    unit: str | None = None  # a unit key (:func:`account_facets`), not a spelling
    commune: int | None = None
    kind: str | None = None  # administration / update / read / none
    state: str | None = None  # active / locked / disabled / expired
    login: str | None = None  # 7d / 30d / never
    text: str | None = None
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True)
class AccountPage:
    rows: list[AccountRow]
    total: int  # accounts matching the filters, all pages
    offset: int


def account_page(conn: psycopg.Connection, f: AccountFilter) -> AccountPage:
    """One page of the accounts matching ``f``, ordered by user name (filters in SQL)."""
    rows = _call(
        conn,
        "SELECT * FROM admin.account_page(%s, %s, %s, %s, %s, %s, %s, %s)",
        (f.unit, f.commune, f.kind, f.state, f.login, (f.text or "").strip() or None,
         f.limit, f.offset),
    )  # fmt: skip
    total = int(rows[0]["total"]) if rows else 0
    if not rows and f.offset:
        # Past the end (e.g. after a filter shrank the list): count without rows.
        total = account_page(conn, AccountFilter(**{**f.__dict__, "offset": 0})).total
    return AccountPage([_account_row(r) for r in rows], total, f.offset)


def _account_row(r: dict) -> AccountRow:
    values = {k: v for k, v in r.items() if k != "total"}
    values["communes"] = list(values["communes"] or [])
    return AccountRow(**values)


@dataclass(frozen=True)
class Facet:
    key: str
    label: str
    accounts: int


def account_facets(conn: psycopg.Connection) -> dict[str, list[Facet]]:
    """{"unit": [Facet(key, most common spelling, n)], "commune": [Facet(id, name, n)]}."""
    out: dict[str, list[Facet]] = {"unit": [], "commune": []}
    for r in _call(conn, "SELECT * FROM admin.account_facets()"):
        out.setdefault(r["facet"], []).append(Facet(r["key"], r["label"], int(r["accounts"])))
    return out


@dataclass(frozen=True)
class PersonMatch:
    role_name: str
    full_name: str
    unit: str
    state: str


def find_person(conn: psycopg.Connection, id_number: str) -> list[PersonMatch]:
    """Accounts already held by this citizen ID number (disabled ones last)."""
    return [
        PersonMatch(**r) for r in _call(conn, "SELECT * FROM admin.find_person(%s)", (id_number,))
    ]


@dataclass
class AccountDraft:
    """What the create dialog collects; :func:`create_account` sends it as is."""

    role_name: str
    person_id_number: str
    full_name: str
    unit: str
    position: str | None = None
    phone: str | None = None
    email: str | None = None
    rights: dict[str, list[str]] = field(default_factory=dict)
    communes: list[int] = field(default_factory=list)
    whole_province: bool = False
    contractor_project: str | None = None
    access_until: date | None = None


def create_account(conn: psycopg.Connection, draft: AccountDraft) -> str:
    """``admin.create_account`` → the one-time temporary password (show it once, keep it
    nowhere)."""
    rows = _call(
        conn,
        "SELECT admin.create_account(%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::bigint[], "
        "%s, %s, %s) AS password",
        (
            draft.role_name, draft.person_id_number, draft.full_name, draft.unit,
            draft.position or None, draft.phone or None, draft.email or None,
            json.dumps(draft.rights), list(draft.communes), draft.whole_province,
            draft.contractor_project or None, draft.access_until,
        ),
    )  # fmt: skip
    return rows[0]["password"]


@dataclass
class AccountProfile:
    """A person's details as :func:`update_account` sets them (the whole profile)."""

    person_id_number: str
    full_name: str
    unit: str
    position: str | None = None
    phone: str | None = None
    email: str | None = None
    contractor_project: str | None = None
    access_until: date | None = None

    @classmethod
    def of(cls, row: AccountRow) -> AccountProfile:
        return cls(
            row.person_id_number, row.full_name, row.unit, row.position, row.phone, row.email,
            row.contractor_project, row.access_until,
        )  # fmt: skip


def update_account(
    conn: psycopg.Connection, role: str, profile: AccountProfile
) -> dict[str, dict[str, Any]]:
    """``admin.update_account`` → {field: {"old": …, "new": …}} of what changed."""
    rows = _call(
        conn,
        "SELECT admin.update_account(%s, %s, %s, %s, %s, %s, %s, %s, %s) AS changes",
        (
            role, profile.person_id_number, profile.full_name, profile.unit,
            profile.position or None, profile.phone or None, profile.email or None,
            profile.contractor_project or None, profile.access_until,
        ),
    )  # fmt: skip
    return dict(rows[0]["changes"])


def reset_password(conn: psycopg.Connection, role: str) -> str:
    return _call(conn, "SELECT admin.reset_password(%s) AS p", (role,))[0]["p"]


def lock_account(conn: psycopg.Connection, role: str, reason: str) -> None:
    _call(conn, "SELECT admin.lock_account(%s, %s)", (role, reason))


def unlock_account(conn: psycopg.Connection, role: str) -> None:
    _call(conn, "SELECT admin.unlock_account(%s)", (role,))


def disable_account(conn: psycopg.Connection, role: str, reason: str) -> None:
    _call(conn, "SELECT admin.disable_account(%s, %s)", (role, reason))


def issue_totp(conn: psycopg.Connection, role: str) -> str:
    return _call(conn, "SELECT admin.issue_totp(%s) AS uri", (role,))[0]["uri"]


def set_rights(conn: psycopg.Connection, role: str, rights: dict[str, list[str]]) -> None:
    _call(conn, "SELECT admin.set_rights(%s, %s::jsonb)", (role, json.dumps(rights)))


def set_areas(
    conn: psycopg.Connection, role: str, communes: list[int], whole_province: bool
) -> None:
    _call(
        conn,
        "SELECT admin.set_areas(%s, %s::bigint[], %s)",
        (role, list(communes), whole_province),
    )


def save_rights_and_areas(
    conn: psycopg.Connection,
    role: str,
    rights: dict[str, list[str]],
    communes: list[int],
    whole_province: bool,
) -> None:
    """Both in one transaction: an area refused by the server leaves the rights unchanged."""
    try:
        with conn.transaction():
            set_rights(conn, role, rights)
            set_areas(conn, role, communes, whole_province)
    except psycopg.Error as exc:
        raise admin_error(exc) from None


@dataclass(frozen=True)
class Project:
    code: str
    name: str
    contractor: str
    state: str
    accepted_at: datetime | None
    accounts: int


def list_projects(conn: psycopg.Connection) -> list[Project]:
    return [Project(**r) for r in _call(conn, "SELECT * FROM admin.list_projects()")]


# --- areas and the rights preview -------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class AreaTree:
    """The province and its communes in force (ref.admin_unit, readable by every person)."""

    province: Unit | None
    communes: list[Unit]


def area_tree(conn: psycopg.Connection) -> AreaTree:
    rows = _call(
        conn,
        "SELECT id, level, code, name, kind FROM ref.admin_unit "
        "WHERE valid_to IS NULL AND level IN ('province', 'commune') ORDER BY level DESC, code",
    )
    province = next(
        (Unit(r["id"], r["code"], r["name"], r["kind"]) for r in rows if r["level"] == "province"),
        None,
    )
    communes = [
        Unit(r["id"], r["code"], r["name"], r["kind"]) for r in rows if r["level"] == "commune"
    ]
    return AreaTree(province, communes)


@dataclass(frozen=True)
class Preview:
    """``admin.rights_preview``: what the account would see, counted by the server."""

    whole_province: bool
    rights: dict[str, list[str]]
    parcels: int
    communes: list[dict[str, Any]]  # id, code, name, kind, parcels


def rights_preview(
    conn: psycopg.Connection, rights: dict[str, list[str]], communes: list[int], whole: bool
) -> Preview:
    rows = _call(
        conn,
        "SELECT admin.rights_preview(%s::jsonb, %s::bigint[], %s) AS p",
        (json.dumps(rights), list(communes), whole),
    )
    p = rows[0]["p"]
    return Preview(
        bool(p["whole_province"]), dict(p["rights"]), int(p["parcels"]), list(p["communes"])
    )


# --- policies ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    key: str
    description: str
    default_value: int
    min_value: int
    max_value: int
    value: int
    overridden: bool
    updated_at: datetime | None


def list_policies(conn: psycopg.Connection) -> list[Policy]:
    return [Policy(**r) for r in _call(conn, "SELECT * FROM admin.policies()")]


def set_policy(conn: psycopg.Connection, key: str, value: int) -> None:
    _call(conn, "SELECT admin.set_policy(%s, %s::jsonb)", (key, json.dumps(value)))


def save_policies(conn: psycopg.Connection, changes: dict[str, int]) -> None:
    """All changed policies in one transaction: one refusal changes nothing."""
    try:
        with conn.transaction():
            for key, value in changes.items():
                set_policy(conn, key, value)
    except psycopg.Error as exc:
        raise admin_error(exc) from None


# --- audit ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    person: str | None = None  # actor or target
    table_name: str | None = None
    change_set: int | None = None
    action: str | None = None
    before_id: int | None = None
    limit: int = 500


# One audit row has one shape whether the owner's CLI or an administrator reads it.
AuditRow = AuditEntry


def audit_entries(conn: psycopg.Connection, f: AuditFilter) -> list[AuditRow]:
    rows = _call(
        conn,
        "SELECT * FROM admin.audit_entries(%s, %s, %s, %s, %s, %s, %s, %s)",
        (f.since, f.until, f.person or None, f.table_name or None, f.change_set,
         f.action or None, f.before_id, f.limit),
    )  # fmt: skip
    return [AuditRow(**r) for r in rows]


def audit_facets(conn: psycopg.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"action": [], "table": [], "person": []}
    for r in _call(conn, "SELECT facet, value FROM admin.audit_facets()"):
        out.setdefault(r["facet"], []).append(r["value"])
    return out


@dataclass(frozen=True)
class Integrity:
    ok: bool
    entry_id: int | None
    reason: str
    checked: int


def audit_verify(conn: psycopg.Connection, since: datetime | None = None) -> Integrity:
    r = _call(conn, "SELECT * FROM admin.audit_verify(%s)", (since,))[0]
    return Integrity(bool(r["ok"]), r["entry_id"], r["reason"], int(r["checked"]))


#: Entries per step of a chunked check at first (≈ 0.1 s of server time), and the bounds
#: the step size is adapted within so each step takes about VERIFY_STEP_SECONDS.
VERIFY_STEP = 20_000
VERIFY_STEP_MIN, VERIFY_STEP_MAX = 1_000, 200_000
VERIFY_STEP_SECONDS = 0.2


@dataclass(frozen=True)
class VerifyRun:
    """A chunked integrity check begun on the server (``admin.audit_verify_start``)."""

    run_id: int
    total: int  # entries from the first one checked to the head when the run began


@dataclass(frozen=True)
class VerifyProgress:
    """Where a run stands after a step. ``reason`` is None while it runs, 'cancelled' for a
    cancelled run, else audit.verify's 'ok' / 'edited' / 'deleted' / 're-ordered'."""

    run_id: int
    checked: int
    total: int
    done: bool
    ok: bool | None
    entry_id: int | None
    reason: str | None

    @property
    def cancelled(self) -> bool:
        return self.reason in ("cancelled", "abandoned")

    def integrity(self) -> Integrity | None:
        """The result as the one-shot check gives it (None until done, or if cancelled)."""
        if not self.done or self.cancelled or self.ok is None:
            return None
        return Integrity(self.ok, self.entry_id, self.reason or "", self.checked)


def audit_verify_start(conn: psycopg.Connection, since: datetime | None = None) -> VerifyRun:
    """Begin a chunked check from ``since`` (None: the whole chain); the server keeps
    where the walk is, only this administrator can continue it."""
    r = _call(conn, "SELECT * FROM admin.audit_verify_start(%s)", (since,))[0]
    return VerifyRun(int(r["run_id"]), int(r["total"]))


def audit_verify_step(
    conn: psycopg.Connection, run_id: int, limit: int = VERIFY_STEP
) -> VerifyProgress:
    """Check the run's next ``limit`` entries; the step that finds the result writes the
    AUDIT_VERIFY event (server side)."""
    r = _call(conn, "SELECT * FROM admin.audit_verify_step(%s, %s)", (run_id, limit))[0]
    return VerifyProgress(run_id, int(r["checked"]), int(r["total"]), bool(r["done"]), r["ok"],
                          r["entry_id"], r["reason"])  # fmt: skip


def audit_verify_cancel(conn: psycopg.Connection, run_id: int) -> bool:
    """Stop a run (recorded as a cancelled AUDIT_VERIFY event); False if it had finished."""
    return bool(_call(conn, "SELECT admin.audit_verify_cancel(%s) AS c", (run_id,))[0]["c"])


def next_step_size(limit: int, seconds: float, target: float = VERIFY_STEP_SECONDS) -> int:
    """The next step's size so it takes about ``target`` seconds, given that ``limit``
    entries took ``seconds`` (at most doubling at once, within the bounds)."""
    if seconds <= 0:
        return min(limit * 2, VERIFY_STEP_MAX)
    wanted = int(limit * min(2.0, target / seconds))
    return max(VERIFY_STEP_MIN, min(VERIFY_STEP_MAX, wanted))


def audit_verify_chunks(
    conn: psycopg.Connection,
    since: datetime | None = None,
    *,
    limit: int = VERIFY_STEP,
    adapt: bool = True,
    progress: Callable[[VerifyProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> VerifyProgress:
    """The whole chunked check in a loop (CLI, benchmarks, a worker thread): ``progress``
    after every step, ``cancelled()`` asked before every step — when it says yes the run
    is cancelled on the server and its last progress (reason 'cancelled') returned."""
    run = audit_verify_start(conn, since)
    state = VerifyProgress(run.run_id, 0, run.total, False, None, None, None)
    while not state.done:
        if cancelled is not None and cancelled():
            audit_verify_cancel(conn, run.run_id)
            return VerifyProgress(run.run_id, state.checked, state.total, True, None,
                                  state.entry_id, "cancelled")  # fmt: skip
        t0 = time.perf_counter()
        state = audit_verify_step(conn, run.run_id, limit)
        if adapt:
            limit = next_step_size(limit, time.perf_counter() - t0)
        if progress is not None:
            progress(state)
    return state


@dataclass(frozen=True)
class AgentStatus:
    agent: str
    started_at: datetime
    seen_at: datetime


def agent_status(conn: psycopg.Connection) -> list[AgentStatus]:
    """When each lockout agent last reported (newest first); [] when none ever did."""
    return [AgentStatus(**r) for r in _call(conn, "SELECT * FROM admin.agent_status()")]


@dataclass(frozen=True)
class BackupStatus:
    """The newest BACKUP and RESTORE events (``landrec backup``); None when there is none."""

    last_backup_at: datetime | None
    last_backup: str | None
    last_backup_with_scans: bool | None
    last_full_backup_at: datetime | None
    last_restore_at: datetime | None


def backup_status(conn: psycopg.Connection) -> BackupStatus:
    return BackupStatus(**_call(conn, "SELECT * FROM admin.backup_status()")[0])


def report_export(conn: psycopg.Connection, what: str, rows: int, path: str) -> None:
    """Record an export (EXPORT event, which a client may report itself)."""
    _call(
        conn,
        "SELECT audit.log_event('EXPORT', %s, %s::jsonb)",
        (what[:200], json.dumps({"rows": rows, "file": path[-200:]}, ensure_ascii=False)),
    )


# --- reports ----------------------------------------------------------------------------
#: report id → (SQL, needs (from, to) only)
REPORTS = {
    "accounts": "SELECT * FROM admin.report_accounts(%s, %s)",
    "activity": "SELECT * FROM admin.report_activity(%s, %s)",
    "logins": "SELECT * FROM admin.report_logins(%s, %s, %s, %s)",
    "login_summary": "SELECT * FROM admin.report_login_summary(%s, %s)",
    "backups": "SELECT * FROM admin.report_backups(%s, %s)",
}


def run_report(
    conn: psycopg.Connection,
    report: str,
    since: date,
    until: date,
    *,
    role: str | None = None,
    failed_only: bool = False,
) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one report over [since, until] (Vietnam dates)."""
    if report not in REPORTS:
        raise AdminError(f"Không có báo cáo “{report}”.")
    params: tuple = (since, until)
    if report == "logins":
        params = (since, until, role or None, failed_only)
    try:
        with conn.cursor() as cur:
            cur.execute(REPORTS[report], params)
            names = [d.name for d in cur.description or ()]
            return names, cur.fetchall()
    except psycopg.Error as exc:
        raise admin_error(exc) from None
