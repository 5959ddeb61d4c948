"""Everything the parcel panel shows, in one round trip (Qt-free).

``fetch_details`` returns the JSON of ``api.parcel_details`` (attributes, purposes,
holders with masked ID numbers, certificates, mutations, land price, planning zones,
documents, restrictions); ``fetch_history`` the parcel as of a moment and its lineage;
``reveal_personal_id`` the number in clear for those allowed (audited by the server).
Formatting helpers give Vietnamese numbers: "1.234,5 m²", "12.500.000 đ/m²", dd/mm/yyyy.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg


def fetch_details(conn: psycopg.Connection, parcel_id: int) -> dict[str, Any]:
    return conn.execute("SELECT api.parcel_details(%s)", (parcel_id,)).fetchone()[0]


def fetch_history(conn: psycopg.Connection, parcel_id: int, at: dt.datetime) -> dict[str, Any]:
    return conn.execute("SELECT api.parcel_history(%s, %s)", (parcel_id, at)).fetchone()[0]


def reveal_personal_id(conn: psycopg.Connection, party_id: int) -> str | None:
    return conn.execute("SELECT api.reveal_personal_id(%s)", (party_id,)).fetchone()[0]


def load_panel(dsn: str, parcel_id: int, at: dt.datetime | None = None) -> dict[str, Any]:
    """Details and history on one connection (pipeline: one round trip for both)."""
    at = at or dt.datetime.now(dt.UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.pipeline():
            c1 = conn.execute("SELECT api.parcel_details(%s)", (parcel_id,))
            c2 = conn.execute("SELECT api.parcel_history(%s, %s)", (parcel_id, at))
        details = c1.fetchone()[0]
        details["history"] = c2.fetchone()[0]
        return details


# -- Vietnamese formatting (the panel's labels; kept here so tests need no Qt) ----------
def _group(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def fmt_number(value: float | Decimal | int | None, decimals: int = 1) -> str:
    """1234.5 → "1.234,5"; None → "—"."""
    if value is None:
        return "—"
    v = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals)) if decimals else None
    if decimals == 0:
        return ("-" if value < 0 else "") + _group(abs(round(Decimal(str(value)))))
    sign = "-" if v < 0 else ""
    whole, frac = f"{abs(v):.{decimals}f}".split(".")
    return f"{sign}{_group(int(whole))},{frac}"


def fmt_area(value: float | Decimal | None) -> str:
    return "—" if value is None else f"{fmt_number(value, 1)} m²"


def fmt_money(value: float | Decimal | int | None, per_m2: bool = False) -> str:
    if value is None:
        return "—"
    return f"{fmt_number(value, 0)} đ" + ("/m²" if per_m2 else "")


def fmt_share(value: float | Decimal | None) -> str:
    """0.4567 → "45,7 %"."""
    return "—" if value is None else f"{fmt_number(Decimal(str(value)) * 100, 1)} %"


def fmt_date(value: str | dt.date | None) -> str:
    """ISO date or timestamp → dd/mm/yyyy."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")
