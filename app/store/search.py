"""Search box and parcel panel reads (Qt-free): thin wrappers over migration 0009's API.

Every read goes through a SECURITY DEFINER function that applies the caller's area rule
itself (docs/security-rls.md: under RLS a LIKE / trigram filter would run the policy per
person first). Pass a connection of the signed-in person.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

#: Result kinds of api.search, in the order the UI groups them.
KINDS = ("owner", "id_number", "certificate", "parcel_key", "national_id", "address")


@dataclass(frozen=True)
class SearchHit:
    kind: str
    parcel_id: int
    label: str
    detail: str
    bbox: tuple[float, float, float, float] | None


def search(conn: psycopg.Connection, text: str, limit: int = 50) -> list[SearchHit]:
    """Rows of ``api.search``; an empty or one-letter query gives no rows."""
    if len(text.strip()) < 2:
        return []
    rows = conn.execute(
        "SELECT kind, parcel_id, label, detail, bbox FROM api.search(%s, %s)", (text, limit)
    ).fetchall()
    return [
        SearchHit(k, int(pid), lab or "", det or "", tuple(box) if box else None)  # type: ignore[arg-type]
        for k, pid, lab, det, box in rows
    ]


def search_dsn(dsn: str, text: str, limit: int = 50) -> list[SearchHit]:
    """Same on a short-lived connection (for worker threads)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return search(conn, text, limit)
