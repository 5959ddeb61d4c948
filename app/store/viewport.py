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
import shapely

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
_POLYGON, _MULTIPOLYGON = 3, 6


def _varints(buf: np.ndarray) -> np.ndarray:
    """Every unsigned LEB128 varint in ``buf``, in order.

    The TWKB header bytes the server writes (type/precision, metadata) are below 0x80, so
    they decode as one-byte varints holding their own value and the whole buffer can be
    read in one pass.
    """
    ends = np.flatnonzero(buf < 0x80)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    values = np.zeros(len(ends), dtype=np.uint64)
    for k in range(int(lengths.max(initial=0))):  # ≤ 10 rounds, usually 4
        has = lengths > k
        chunk = (buf[starts[has] + k] & 0x7F).astype(np.uint64)
        values[has] |= chunk << np.uint64(7 * k)
    return values


def _unzigzag(v: np.ndarray) -> np.ndarray:
    return (v >> np.uint64(1)).astype(np.int64) ^ -(v & np.uint64(1)).astype(np.int64)


def decode_twkb(blobs: Sequence[bytes]) -> np.ndarray:
    """Decode TWKB polygons / multipolygons (2D, as ST_AsTWKB writes them) to MultiPolygons.

    Vectorised: one pass over all bytes for the varints; the structure of the common case
    (one polygon with one ring) is read with array operations, other shapes in a short loop
    over their counts only; vertices never go through Python one by one.
    """
    n = len(blobs)
    if n == 0:
        return np.empty(0, dtype=object)
    sizes = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=n)
    buf = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    vals = _varints(buf)
    # Index of each blob's first varint: count varint ends before the blob's first byte.
    byte_start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    ends = np.flatnonzero(buf < 0x80)
    first = np.searchsorted(ends, byte_start)

    header = vals[first]
    kind = (header & np.uint64(0x0F)).astype(np.int64)
    precision = _unzigzag(header >> np.uint64(4))
    meta = vals[first + 1]
    if np.any((kind != _POLYGON) & (kind != _MULTIPOLYGON)):
        raise ValueError("decode_twkb reads polygons and multipolygons only")
    if np.any(meta & np.uint64(0x0F)):
        raise ValueError("decode_twkb reads TWKB without bbox, size, id list or Z/M")
    empty = (meta & np.uint64(0x10)) != 0

    # The common case: one polygon with one ring.
    body = first + 2  # first count: rings (polygon) or polygons (multipolygon)
    last = len(vals) - 1
    count1 = vals[np.minimum(body, last)] == 1  # (clipped: an empty last blob ends early)
    count2 = vals[np.minimum(body + 1, last)] == 1
    simple_poly = (kind == _POLYGON) & ~empty & count1
    simple = simple_poly | ((kind == _MULTIPOLYGON) & ~empty & count1 & count2)
    simple_idx = np.flatnonzero(simple)
    npts_at = np.where(simple_poly, body + 1, body + 2)[simple]
    polys_per_geom = np.where(empty, 0, 1).astype(np.int64)

    # Other shapes: walk their counts (rings and polygons, never vertices) in Python.
    c_geom, c_start, c_npts, c_poly_geom, c_poly_rings = [], [], [], [], []
    for g in np.flatnonzero(~simple & ~empty):
        i = int(body[g])
        npolys = 1
        if kind[g] == _MULTIPOLYGON:
            npolys = int(vals[i])
            i += 1
        polys_per_geom[g] = npolys
        for _ in range(npolys):
            nrings = int(vals[i])
            i += 1
            c_poly_geom.append(g)
            c_poly_rings.append(nrings)
            for _ in range(nrings):
                count = int(vals[i])
                c_geom.append(g)
                c_start.append(i + 1)
                c_npts.append(count)
                i += 1 + 2 * count

    # Rings (owning geometry, first coordinate varint, point count) and rings per polygon,
    # simple and other shapes merged in geometry order (stable keeps the order inside one).
    def merged(simple_part: np.ndarray, other: list, key: np.ndarray) -> np.ndarray:
        return np.concatenate([simple_part, np.array(other, dtype=np.int64)])[key]

    ring_key = np.argsort(
        np.concatenate([simple_idx, np.array(c_geom, dtype=np.int64)]), kind="stable"
    )
    geom_of_ring = merged(simple_idx, c_geom, ring_key)
    start = merged(npts_at + 1, c_start, ring_key)
    npts = merged(vals[npts_at].astype(np.int64), c_npts, ring_key)
    poly_key = np.argsort(
        np.concatenate([simple_idx, np.array(c_poly_geom, dtype=np.int64)]), kind="stable"
    )
    poly_rings = merged(np.ones(len(simple_idx), dtype=np.int64), c_poly_rings, poly_key)

    # Coordinates: gather the zigzag deltas of every ring, then undo the deltas per geometry
    # (TWKB carries the previous point across rings and polygons of one geometry).
    n_coords = int(npts.sum())
    ring_first = np.concatenate(([0], np.cumsum(npts)[:-1]))
    in_ring = np.arange(n_coords, dtype=np.int64) - ring_first.repeat(npts)
    x_idx = start.repeat(npts) + 2 * in_ring
    deltas = np.empty((n_coords, 2), dtype=np.int64)
    deltas[:, 0] = _unzigzag(vals[x_idx])
    deltas[:, 1] = _unzigzag(vals[x_idx + 1])
    summed = np.cumsum(deltas, axis=0)
    coord_geom = geom_of_ring.repeat(npts)
    geom_first_coord = np.full(n, -1, dtype=np.int64)
    if n_coords:
        new_geom = np.concatenate(([True], coord_geom[1:] != coord_geom[:-1]))
        geom_first_coord[coord_geom[new_geom]] = np.flatnonzero(new_geom)
    before = np.zeros((n, 2), dtype=np.int64)
    has_prev = geom_first_coord > 0
    before[has_prev] = summed[geom_first_coord[has_prev] - 1]
    coords = (summed - before[coord_geom]) / (10.0 ** precision[coord_geom])[:, None]

    return shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON,
        coords,
        (
            np.concatenate(([0], np.cumsum(npts))),
            np.concatenate(([0], np.cumsum(poly_rings))),
            np.concatenate(([0], np.cumsum(polys_per_geom))),
        ),
    )
