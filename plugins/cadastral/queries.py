"""Store queries of the cadastral subsystem (Qt-free, run on a worker thread)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg

from app.store.summary import StoreUnavailable


@dataclass(frozen=True)
class CommuneParcelStats:
    code: str  # 5-digit commune code
    name: str  # e.g. "Tân Thành"
    kind: str  # xã, phường, thị trấn, đặc khu …
    in_force: bool  # False for a commune that no longer exists (legacy parcels)
    parcels: int  # current parcels (not retired)
    area_m2: float  # computed from the geometry
    legal_area_m2: Decimal | None  # sum of areas on certificates (None when none known)
    duplicates: int  # parcels whose number repeats on their sheet (duplicate_seq > 0)


_SQL = """
WITH p AS (
    SELECT commune_id,
           count(*) AS parcels,
           coalesce(sum(area_computed), 0) AS area_m2,
           sum(area_legal) AS legal_area_m2,
           count(*) FILTER (WHERE duplicate_seq > 0) AS duplicates
    FROM cad.parcel
    WHERE retired_at IS NULL
    GROUP BY commune_id
)
SELECT u.code, u.name, u.kind,
       (u.valid_from <= current_date AND (u.valid_to IS NULL OR u.valid_to > current_date)),
       coalesce(p.parcels, 0), coalesce(p.area_m2, 0), p.legal_area_m2,
       coalesce(p.duplicates, 0)
FROM ref.admin_unit u
LEFT JOIN p ON p.commune_id = u.id
WHERE u.level = 'commune'
  AND (p.parcels IS NOT NULL
       OR u.valid_from <= current_date AND (u.valid_to IS NULL OR u.valid_to > current_date))
ORDER BY u.code, u.valid_from
"""


def parcel_stats_by_commune(dsn: str, connect_timeout: int = 5) -> list[CommuneParcelStats]:
    """Parcel count and areas per commune (current parcels; communes with none included).

    Row-level security applies: a commune officer sees the communes of their area.
    """
    try:
        with psycopg.connect(
            dsn,
            connect_timeout=connect_timeout,
            autocommit=True,
            options="-c statement_timeout=60000",
            application_name="landrec",
        ) as conn:
            rows = conn.execute(_SQL).fetchall()
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(str(exc).strip().splitlines()[0]) from exc
    return [
        CommuneParcelStats(
            code=r[0],
            name=r[1],
            kind=r[2],
            in_force=bool(r[3]),
            parcels=int(r[4]),
            area_m2=float(r[5]),
            legal_area_m2=r[6],
            duplicates=int(r[7]),
        )
        for r in rows
    ]
