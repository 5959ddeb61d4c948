"""Versions of a scanned document (Qt-free): the chain a document belongs to, and how the
documents window labels it. A superseded document points to its successor
(``superseded_by``); api.list_documents returns every version of a record's documents."""

from __future__ import annotations

from typing import Any


def vn_date(iso: str | None) -> str:
    """'2024-03-05' (or a timestamp) → '05/03/2024'; '' when unknown."""
    if not iso:
        return ""
    y, m, d = str(iso)[:10].split("-")
    return f"{d}/{m}/{y}"


def version_chain(docs: list[dict[str, Any]], document_id: int) -> list[dict[str, Any]]:
    """The versions of ``document_id``'s document, oldest first, as far as ``docs`` (one
    record's list) holds them."""
    by_id = {int(d["id"]): d for d in docs}
    previous = {int(d["superseded_by"]): int(d["id"]) for d in docs if d.get("superseded_by")}
    if document_id not in by_id:
        return []
    first = document_id
    seen = {first}
    while first in previous and previous[first] not in seen:  # walk back to version 1
        first = previous[first]
        seen.add(first)
    chain, cur, seen = [], first, set()
    while cur in by_id and cur not in seen:  # then forward to the newest
        seen.add(cur)
        chain.append(by_id[cur])
        nxt = by_id[cur].get("superseded_by")
        cur = int(nxt) if nxt else -1
    return chain


def chain_text(chain: list[dict[str, Any]], lang: str = "vi") -> str:
    """'Phiên bản: v1 (mã 12, 05/03/2024) → v2 (mã 15, 25/11/2026, đang dùng)'."""
    if not chain:
        return ""
    vi = lang == "vi"
    parts = []
    for d in chain:
        bits = [f"{'mã' if vi else 'id'} {d['id']}"]
        date = vn_date(d.get("issued_on") or d.get("created_at"))
        if date:
            bits.append(date)
        if not d.get("superseded_by"):
            bits.append("đang dùng" if vi else "current")
        parts.append(f"v{d.get('version', 1)} ({', '.join(bits)})")
    return ("Phiên bản: " if vi else "Versions: ") + " → ".join(parts)
