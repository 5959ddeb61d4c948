"""The audit log from Python (Qt-free): verify the hash chain, read entries, report events.

The rules live in the database (db/sql/0005_audit_history.sql): every change of a data
table and every security event is an entry of ``audit.log``, chained by SHA-256, readable
only by audit viewers (lr_admin_viewer). This module is a thin client over that SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from app.errors import UserFacingError

#: Reasons audit.verify() gives for the first broken entry.
REASONS = {
    "edited": "was edited (its content no longer matches its hash)",
    "deleted": "was deleted (the chain skips it)",
    "re-ordered": "was moved (it is chained to an entry elsewhere in the log)",
}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entry_id: int | None  # first broken entry, or the last entry checked when ok
    reason: str  # 'ok', 'edited', 'deleted' or 're-ordered'
    checked: int

    def message(self) -> str:
        if self.ok:
            last = self.entry_id
            return f"audit chain intact: {self.checked:,} entries checked (last entry {last})"
        return (
            f"AUDIT CHAIN BROKEN: entry {self.entry_id} {REASONS.get(self.reason, self.reason)}; "
            f"{self.checked:,} entries read"
        )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    logged_at: datetime
    actor: str
    client_addr: Any  # ipaddress object or None (Unix socket)
    application: str | None
    change_set: int | None
    action: str
    table_name: str | None
    row_key: dict | None
    old_row: dict | None
    new_row: dict | None
    target: str | None
    detail: dict | None


def verify(conn: psycopg.Connection, since: datetime | None = None) -> VerifyResult:
    """Check the chain (from ``since``, trusting the first entry there, or from the start)."""
    row = conn.execute("SELECT * FROM audit.verify(%s)", (since,)).fetchone()
    ok, entry_id, reason, checked = row
    return VerifyResult(bool(ok), entry_id, reason, int(checked))


def head(conn: psycopg.Connection) -> tuple[int, str]:
    """(last id, hex hash) of the committed chain: write it down outside the database."""
    last_id, last_hash = conn.execute("SELECT * FROM audit.head()").fetchone()
    return int(last_id), last_hash


def read_entries(
    conn: psycopg.Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    table_name: str | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Newest entries first, filtered; page with ``before_id`` = the last id of a page."""
    if not 1 <= limit <= 10_000:
        raise UserFacingError("limit must be between 1 and 10 000 entries")
    filters = [
        ("logged_at >= %s", since),
        ("logged_at < %s", until),
        ("actor = %s", actor),
        ("table_name = %s", table_name),
        ("action = %s", action),
        ("id < %s", before_id),
    ]
    used = [(sql, value) for sql, value in filters if value is not None]
    where = " AND ".join(sql for sql, _ in used) or "true"
    cur = conn.cursor(row_factory=class_row(AuditEntry))
    return cur.execute(
        "SELECT id, logged_at, actor, client_addr, application, change_set, action, "
        "table_name, row_key, old_row, new_row, target, detail "
        f"FROM audit.log WHERE {where} ORDER BY id DESC LIMIT %s",
        [value for _, value in used] + [limit],
    ).fetchall()


def log_event(
    conn: psycopg.Connection, action: str, target: str | None = None, detail: dict | None = None
) -> int:
    """Report a client-side event (EXPORT, READ_PERSONAL_ID, …); returns the entry id.

    The database decides what a person may report (audit.event_action.client_may_report);
    anything else is refused with SQLSTATE 42501.
    """
    return conn.execute(
        "SELECT audit.log_event(%s, %s, %s::jsonb)",
        (action, target, None if detail is None else json.dumps(detail, ensure_ascii=False)),
    ).fetchone()[0]
