"""Finding an existing holder (cad.party) for a transfer of rights (Qt-free).

There is no party search in the API; ``api.search`` finds parcels by owner name or ID
number (area rule, audit of ID-number reads), and ``api.parcel_details`` names the
holders of a parcel with their party ids and masked documents. Joined in ONE statement,
they give the parties the person may see — no new grant, no read of ``cad.party``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class PartyHit:
    party_id: int
    full_name: str
    id_number_masked: str | None
    party_kind: str | None
    birth_year: int | None


_SQL = """
SELECT DISTINCT ON ((h->>'party_id')::bigint)
       (h->>'party_id')::bigint, h->>'full_name', h->>'id_number_masked',
       h->>'party_kind', (h->>'birth_year')::integer
FROM (SELECT DISTINCT s.parcel_id, s.label FROM api.search(%s, 20) s
      WHERE s.kind IN ('owner', 'id_number')) s
CROSS JOIN LATERAL jsonb_array_elements(api.parcel_details(s.parcel_id) -> 'holders') h
WHERE h->>'full_name' = s.label AND h->>'valid_to' IS NULL
ORDER BY (h->>'party_id')::bigint
LIMIT %s
"""


def find_parties(conn: psycopg.Connection, text: str, limit: int = 10) -> list[PartyHit]:
    """Holders in force whose name or ID number matches ``text`` (as the search box
    matches them); empty for fewer than 2 characters. One round trip."""
    if len(text.strip()) < 2:
        return []
    rows = conn.execute(_SQL, (text.strip(), limit)).fetchall()
    return [PartyHit(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
