"""Finding persons and organisations (cad.party) for the editor's forms (Qt-free).

``api.search_parties`` (migration 0029) does the work in the database, in ONE round trip:
name without diacritics ("nguyen thi hong" finds Nguyễn Thị Hồng; words in order anywhere
in the name) or document number (exact, audited), limited to the parties the person may see
(holding or having held a right on a parcel of their communes; whole-province accounts see
all), documents masked unless the person may read them, each hit with its version, the
parcels it holds in the person's area and a group's members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg


@dataclass(frozen=True)
class PartyHit:
    party_id: int
    full_name: str
    # The document number as the person may see it: in clear for cadastral editors and
    # approvers, masked ("0791******77") for viewers. Named for what the forms show.
    id_number_masked: str | None
    party_kind: str | None
    birth_year: int | None
    id_kind: str | None = None
    gender: str | None = None
    address: str | None = None
    version: int | None = None
    # Parcels held in force in the person's area (at most 20): parcel_id, commune,
    # commune_code, sheet, parcel; ``parcel_count`` how many in all.
    parcels: tuple[dict[str, Any], ...] = field(default=())
    parcel_count: int = 0
    # A household's, couple's or community's members: party_id, full_name, birth_year,
    # id_kind, id_number (as above), role. Empty for persons and organisations.
    members: tuple[dict[str, Any], ...] = field(default=())

    def parcels_text(self) -> str:
        """ "thửa 45 tờ 12 (Phường Bến Nghé); …" — for a result list."""
        text = "; ".join(
            f"thửa {p['parcel']} tờ {p['sheet']} ({p['commune']})" for p in self.parcels[:3]
        )
        if self.parcel_count > 3:
            text += f" … ({self.parcel_count} thửa)"
        return text


_SQL = """
SELECT party_id, full_name, id_number, kind, birth_year, id_kind, gender, address, version,
       parcels, parcel_count, members
FROM api.search_parties(%s, %s)
"""


def find_parties(conn: psycopg.Connection, text: str, limit: int = 10) -> list[PartyHit]:
    """Persons and organisations whose name or document number matches ``text``; empty
    for fewer than 2 characters. One round trip."""
    if len(text.strip()) < 2:
        return []
    rows = conn.execute(_SQL, (text.strip(), limit)).fetchall()
    return [
        PartyHit(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            tuple(r[9] or ()),
            int(r[10] or 0),
            tuple(r[11] or ()),
        )
        for r in rows
    ]
