"""Viewport reads: the parcels and map sheets in a box, as the signed-in person may see them.

Qt-free. The server side is ``api.parcels_in_bbox`` / ``api.sheets_in_bbox``
(db/sql/0006_rls_api.sql): SECURITY DEFINER functions that apply the area rule and the box
together, so the GiST index stays in use under row-level security (DESIGN pitfall P2).

Geometry travels as TWKB (centimetre integers, delta-encoded: ~4× smaller than WKB) in
binary result format (text format would send bytea as hex, doubling it). ``decode_twkb``
turns a viewport's worth of TWKB into shapely geometries with numpy, without a Python loop
per vertex (DESIGN §4: a plain-Python TWKB decoder took 250 ms for 20 000 parcels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class ViewportParcels:
    """Columns of the parcels in a view, one entry per parcel."""

    ids: np.ndarray  # int64
    parcel_numbers: np.ndarray  # int32
    sheet_numbers: np.ndarray  # int32
    land_use_codes: list[str | None]  # main purpose (largest area)
    areas: np.ndarray  # float64, m² (legal area, else computed)
    twkb: list[bytes]

    def __len__(self) -> int:
        return len(self.twkb)

    def geometries(self) -> np.ndarray:
        """Shapely MultiPolygons in the province CRS."""
        return decode_twkb(self.twkb)


@dataclass(frozen=True)
class ViewportSheets:
    ids: np.ndarray
    commune_ids: np.ndarray
    sheet_numbers: np.ndarray
    scales: np.ndarray
    twkb: list[bytes]

    def geometries(self) -> np.ndarray:
        return decode_twkb(self.twkb)


def fetch_parcels(conn: psycopg.Connection, bbox: BBox, simplify: float = 0.0) -> ViewportParcels:
    """Current parcels meeting ``bbox`` (province CRS, metres) that the caller may see.

    ``simplify`` is a tolerance in metres for overviews (0 = exact geometry, centimetres).
    Raises psycopg errors with the server's Vietnamese message: 42501 without the cadastral
    viewer right, 22023 for a bad box.
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    rows = conn.execute(
        "SELECT id, parcel_number, sheet_number, land_use_code, area, geom "
        "FROM api.parcels_in_bbox(%s, %s, %s, %s, %s)",
        (minx, miny, maxx, maxy, float(simplify)),
        binary=True,
    ).fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return ViewportParcels(
        ids=np.array(cols[0], dtype=np.int64),
        parcel_numbers=np.array(cols[1], dtype=np.int32),
        sheet_numbers=np.array(cols[2], dtype=np.int32),
        land_use_codes=list(cols[3]),
        areas=np.array(cols[4], dtype=np.float64),
        twkb=list(cols[5]),
    )


def fetch_sheets(conn: psycopg.Connection, bbox: BBox) -> ViewportSheets:
    """Map sheet frames meeting ``bbox`` that the caller may see."""
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    rows = conn.execute(
        "SELECT id, commune_id, sheet_number, scale, geom FROM api.sheets_in_bbox(%s, %s, %s, %s)",
        (minx, miny, maxx, maxy),
        binary=True,
    ).fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 5
    return ViewportSheets(
        ids=np.array(cols[0], dtype=np.int64),
        commune_ids=np.array(cols[1], dtype=np.int64),
        sheet_numbers=np.array(cols[2], dtype=np.int32),
        scales=np.array(cols[3], dtype=np.int32),
        twkb=list(cols[4]),
    )


# --- TWKB (https://github.com/TWKB/Specification) ----------------------------------------
def decode_twkb(blobs: Sequence[bytes]) -> np.ndarray:
    """Decode TWKB polygons / multipolygons (2D, as ST_AsTWKB writes them) to MultiPolygons.

    The vectorised decoder lives in app.map.geometry (the map paints straight from its
    ragged arrays); this builds shapely geometries from them for everyone else.
    """
    from app.map.geometry import decode_twkb_ragged

    return decode_twkb_ragged(blobs).geometries()
