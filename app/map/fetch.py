"""Per-layer fetching for a view: one statement per layer, all sent in one pipeline (one
round trip on a WAN), compact geometry (TWKB, simplified for overviews), a small cache,
and cancellation of stale requests. Qt-free.

Everything is read through the person's own connection: parcels and sheets through the
SECURITY DEFINER functions ``api.parcels_in_bbox`` / ``api.sheets_in_bbox`` (area rule and
bbox together, DESIGN P2), boundaries from ``ref.admin_unit`` (reference data every person
may read), the subsystems' tables with their row-level security.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import psycopg
import shapely
from psycopg import sql

from app.map.geometry import Ragged, Rings, decode_twkb_buffer, decode_twkb_ragged, rings_of
from app.map.layers import MapLayer
from app.map.viewport import BBox, Viewport

#: Simplify when a pixel is larger than this (metres): parcels are then a few pixels.
SIMPLIFY_FROM_RES = 0.7  # ≈ 1:2 650: label scales (≤ 1:2 500) always get exact geometry


def is_link_error(exc: BaseException) -> bool:
    """A lost or refused link (retry later), as opposed to the server refusing the request
    (psycopg files SQLSTATE class 28, e.g. "no LandRec account", under OperationalError
    too; retrying that would not help)."""
    if isinstance(exc, OSError):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    return state == "" or state.startswith(("08", "57P"))


class Cancelled(Exception):
    """The view changed while this request was running: drop its result."""


def simplify_for(resolution: float) -> float:
    """Tolerance (m) for a view of ``resolution`` m/px: ~0.6 pixel, 0 when zoomed in."""
    if resolution < SIMPLIFY_FROM_RES:
        return 0.0
    # Round down to 1, 2 or 5 × 10^k so nearby views share cache entries and precision.
    t = resolution * 0.6  # just over half a pixel: invisible, and whole metres sooner
    k = math.floor(math.log10(t))
    m = t / 10**k
    return (5 if m >= 5 else 2 if m >= 2 else 1) * 10.0**k


class LayerData:
    """One layer's features in a box: geometry plus attribute columns.

    Geometry is kept as decoded (ragged arrays for TWKB layers); shapely objects and
    paint rings are derived on first use only.
    """

    def __init__(
        self,
        layer_id: str,
        kind: str,
        bbox: BBox,
        simplify: float,
        geoms: np.ndarray | None,
        ids: np.ndarray,
        attrs: dict[str, object] | None = None,
        ragged: Ragged | None = None,
    ) -> None:
        self.layer_id, self.kind, self.bbox, self.simplify = layer_id, kind, bbox, simplify
        self.ids = ids
        self.attrs = attrs or {}
        self.fetch_ms = 0.0
        self.decode_ms = 0.0
        #: How many strips around cached data this came as (0: fetched whole).
        self.strips = 0
        self._geoms = geoms
        self._ragged = ragged
        self._rings: Rings | None = None
        self._tree: shapely.STRtree | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"LayerData({self.layer_id!r}, {len(self)} features, bbox={self.bbox})"

    @property
    def geoms(self) -> np.ndarray:
        """Shapely geometries (province CRS), built on first use."""
        if self._geoms is None:
            self._geoms = (
                self._ragged.geometries() if self._ragged is not None else np.empty(0, object)
            )
        return self._geoms

    @property
    def rings(self) -> Rings:
        """Every ring with its feature index, for painting."""
        if self._rings is None:
            self._rings = self._ragged.rings() if self._ragged is not None else rings_of(self.geoms)
        return self._rings

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:  # built on first identify / select only
            self._tree = shapely.STRtree(self.geoms)
        return self._tree

    def hit(self, x: float, y: float, tolerance: float = 0.0) -> np.ndarray:
        """Ids of features containing (x, y) (within ``tolerance`` metres)."""
        if not len(self):
            return np.empty(0, dtype=np.int64)
        probe = shapely.Point(x, y)
        if tolerance > 0:
            idx = self.tree.query(probe, predicate="dwithin", distance=tolerance)
        else:
            idx = self.tree.query(probe, predicate="intersects")
        return self.ids[np.sort(idx)]

    def in_box(self, bbox: BBox) -> np.ndarray:
        if not len(self):
            return np.empty(0, dtype=np.int64)
        idx = self.tree.query(shapely.box(*bbox), predicate="intersects")
        return self.ids[np.sort(idx)]


#: A cached view is extended by strips when it covers at least this share of the new one
#: (a pan): the strips are fetched, the rest comes from the cache.
STRIP_MIN_OVERLAP = 0.3


def _overlap_share(old: BBox, new: BBox) -> float:
    w = min(old[2], new[2]) - max(old[0], new[0])
    h = min(old[3], new[3]) - max(old[1], new[1])
    area = (new[2] - new[0]) * (new[3] - new[1])
    return max(0.0, w) * max(0.0, h) / area if area > 0 else 0.0


def strips(new: BBox, old: BBox) -> list[BBox]:
    """The parts of box ``new`` outside box ``old``, as up to four boxes that do not
    overlap: left and right full height, then bottom and top between them."""
    nx0, ny0, nx1, ny1 = new
    ox0, oy0, ox1, oy1 = old
    out: list[BBox] = []
    if nx0 < ox0:
        out.append((nx0, ny0, min(nx1, ox0), ny1))
    if nx1 > ox1:
        out.append((max(nx0, ox1), ny0, nx1, ny1))
    cx0, cx1 = max(nx0, ox0), min(nx1, ox1)
    if cx0 < cx1:
        if ny0 < oy0:
            out.append((cx0, ny0, cx1, min(ny1, oy0)))
        if ny1 > oy1:
            out.append((cx0, max(ny0, oy1), cx1, ny1))
    return out


def merge_parcels(base: LayerData, parts: Sequence[LayerData], bbox: BBox) -> LayerData:
    """The features of ``base`` whose box meets ``bbox``, then those of ``parts`` not
    already there (a parcel crossing a strip's edge comes in both): every feature one
    fetch of ``bbox`` would have returned (and at most a few within the simplification
    tolerance of its edge)."""
    assert base._ragged is not None and all(p._ragged is not None for p in parts)
    b = base._ragged.bounds()
    # The server picked by the stored geometry's box; what arrived is simplified by up
    # to the tolerance and rounded: widen the test by that much so no parcel the server
    # would send goes missing (a few more just outside the view cost nothing).
    pad = base.simplify + 0.01
    keep = np.flatnonzero(
        (b[:, 0] <= bbox[2] + pad)
        & (b[:, 2] >= bbox[0] - pad)
        & (b[:, 1] <= bbox[3] + pad)
        & (b[:, 3] >= bbox[1] - pad)
    )
    pieces = [(base, keep)]
    taken = base.ids[keep]
    for part in parts:
        new = np.flatnonzero(~np.isin(part.ids, taken))
        taken = np.concatenate([taken, part.ids[new]])
        pieces.append((part, new))
    attrs: dict[str, object] = {}
    for key, value in base.attrs.items():
        if isinstance(value, np.ndarray):
            attrs[key] = np.concatenate([np.asarray(d.attrs[key])[i] for d, i in pieces])
        elif isinstance(value, list):
            attrs[key] = [d.attrs[key][j] for d, i in pieces for j in i.tolist()]  # type: ignore[index]
        else:
            attrs[key] = value
    ragged = Ragged.concat([d._ragged.take(i) for d, i in pieces])  # type: ignore[union-attr]
    ids = np.concatenate([d.ids[i] for d, i in pieces])
    return LayerData(base.layer_id, base.kind, bbox, base.simplify, None, ids, attrs, ragged)


def _contains(outer: BBox, inner: BBox) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


class Fetcher:
    """Fetches layers for views over one connection of the signed-in person.

    Thread use: :meth:`fetch` runs on one worker at a time (a lock serialises it);
    :meth:`cancel` may be called from any thread and interrupts the running statement.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection] | str,
        cache_entries: int = 24,
    ) -> None:
        self._connect = (
            (lambda: psycopg.connect(connect, autocommit=True))
            if isinstance(connect, str)
            else connect
        )
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, float, BBox], LayerData] = OrderedDict()
        self._cache_entries = cache_entries
        self._cancel_gen = 0
        self._readable: dict[str, bool] = {}
        self._in_flight = False
        self._cancelling = False
        self.srid: int | None = None

    # -- connection ------------------------------------------------------------------------
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def layer_extent(self, m: MapLayer) -> BBox | None:
        """Extent of everything of layer ``m`` the person may see, or None. Parcels, sheets
        and boundaries: the person's current communes (the province for a whole-province
        account) — one small read instead of an extent over a million parcels."""
        if m.kind in ("parcels", "sheets", "admin"):
            query: sql.Composable = sql.SQL(
                "SELECT ST_Extent(geom) FROM ref.admin_unit WHERE level = 'commune' "
                "AND valid_to IS NULL AND (sys.sees_whole_province() "
                "OR id = ANY ((SELECT sys.my_units())::bigint[]))"
            )
        elif m.kind == "inventory":
            # The communes the layer draws: those of the newest period.
            query = sql.SQL(
                _NEWEST_INVENTORY + "SELECT ST_Extent(u.geom) FROM ref.admin_unit u "
                "WHERE u.level = 'commune' AND u.id IN "
                "(SELECT unit_id FROM inv.result WHERE period_id = (SELECT id FROM newest))"
            )
        elif m.kind == "relation":
            schema, _, table = m.decl.source.partition(".")
            query = sql.SQL("SELECT ST_Extent({}) FROM {}").format(
                sql.Identifier(m.decl.geometry_column), sql.Identifier(schema, table)
            )
        else:
            return None
        with self._lock:
            row = (
                self.conn()
                .execute(
                    sql.SQL(
                        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ({}) x(e)"
                    ).format(query)
                )
                .fetchone()
            )
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def cancel(self) -> None:
        """Interrupt the statement in flight (a stale view); safe from any thread and
        never blocking: a cancel request is a new connection to the server (2 round trips
        on a WAN, seconds on a dropped link), so it is sent from a short-lived thread, and
        only while a fetch is actually waiting on the server."""
        self._cancel_gen += 1
        conn = self._conn
        if not self._in_flight or self._cancelling or conn is None or conn.closed:
            return
        self._cancelling = True

        def send() -> None:
            try:
                with contextlib.suppress(psycopg.Error, AttributeError, OSError):
                    conn.cancel_safe(timeout=5.0)
            finally:
                self._cancelling = False

        threading.Thread(target=send, name="landrec-map-cancel", daemon=True).start()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- reference reads -------------------------------------------------------------------
    def read_srid(self) -> int:
        with self._lock:
            (value,) = (
                self.conn().execute("SELECT value FROM sys.setting WHERE key = 'srid'").fetchone()
            )
        self.srid = int(value)
        return self.srid

    def communes(self) -> list[tuple[int, str, BBox]]:
        """Communes in force, with their extent, for 'zoom to commune'."""
        with self._lock:
            rows = (
                self.conn()
                .execute(
                    "SELECT id, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
                    "FROM ref.admin_unit WHERE level = 'commune' AND valid_to IS NULL "
                    "AND geom IS NOT NULL ORDER BY name"
                )
                .fetchall()
            )
        return [(r[0], r[1], (r[2], r[3], r[4], r[5])) for r in rows]

    def run(self, fn: Callable[[psycopg.Connection], object]) -> object:
        with self._lock:
            return fn(self.conn())

    # -- the view ---------------------------------------------------------------------------
    def fetch(
        self,
        view: Viewport,
        layers: Sequence[MapLayer],
        on_layer: Callable[[LayerData], None] | None = None,
        is_stale: Callable[[], bool] | None = None,
    ) -> list[LayerData]:
        """The layers' data for ``view``; cached layers come back without a query.

        ``on_layer`` is called as each layer is ready (partial results early: the small
        layers arrive first). Raises :class:`Cancelled` when ``is_stale()`` turns true or
        :meth:`cancel` interrupted the statement.
        """
        bbox = view.bbox
        tol = simplify_for(view.resolution)
        out: dict[str, LayerData] = {}
        stale = is_stale or (lambda: False)
        with self._lock:
            gen = self._cancel_gen
            todo = []
            for m in layers:
                hit = self._cached(m.id, bbox, tol)
                if hit is not None:
                    out[m.id] = hit
                    if on_layer:
                        on_layer(hit)
                else:
                    todo.append(m)
            todo = self._drop_unreadable(todo, bbox, tol, out, on_layer)
            # Small layers first so their results can be shown while parcels travel.
            todo.sort(key=lambda m: m.kind == "parcels")
            for attempt in (1, 2):
                if not todo:
                    break
                try:
                    self._fetch_pipeline(self._requests(todo, bbox, tol), bbox, tol, out,
                                         on_layer, stale, gen)  # fmt: skip
                    break
                except psycopg.errors.QueryCanceled:
                    # A cancel meant for the previous view can land on this one: then
                    # this view is still wanted, and asked again once.
                    if attempt == 2 or stale() or gen != self._cancel_gen:
                        raise Cancelled() from None
                    todo = [m for m in todo if m.id not in out]
                except psycopg.OperationalError as exc:
                    if is_link_error(exc) or self._conn is None or self._conn.broken:
                        self._drop_conn()
                    raise
        return [out[m.id] for m in layers if m.id in out]

    def _drop_unreadable(self, todo, bbox, tol, out, on_layer) -> list[MapLayer]:
        """Subsystem tables the person may not read come back empty (one error would
        abort the whole pipeline). Privileges are asked once per table."""
        unknown = [m.decl.source for m in todo if m.kind in ("relation", "inventory")]
        unknown = [s for s in unknown if s not in self._readable]
        if unknown:
            rows = (
                self.conn()
                .execute(
                    "SELECT r, has_schema_privilege(split_part(r, '.', 1), 'USAGE') "
                    "AND has_table_privilege(r, 'SELECT') FROM unnest(%s::text[]) r",
                    (unknown,),
                )
                .fetchall()
            )
            self._readable.update({r: bool(ok) for r, ok in rows})
        keep = []
        for m in todo:
            if m.kind in ("relation", "inventory") and not self._readable.get(m.decl.source, False):
                empty = LayerData(
                    m.id, m.kind, bbox, tol, np.empty(0, dtype=object),
                    np.empty(0, dtype=np.int64), {"label": [], "refused": True},
                )  # fmt: skip
                out[m.id] = empty
                if on_layer:
                    on_layer(empty)
            else:
                keep.append(m)
        return keep

    def _drop_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _requests(
        self, todo: Sequence[MapLayer], bbox: BBox, tol: float
    ) -> list[tuple[MapLayer, BBox, LayerData | None]]:
        """What to ask the server: (layer, box, cached data the box extends). After a
        pan the parcels come as the strips the cache does not cover (a half-screen pan
        reads half the parcels); everything else, and other moves, as the whole box."""
        out: list[tuple[MapLayer, BBox, LayerData | None]] = []
        for m in todo:
            base = self._strip_base(m, bbox, tol) if m.kind == "parcels" else None
            if base is None:
                out.append((m, bbox, None))
            else:
                out.extend((m, box, base) for box in strips(bbox, base.bbox))
        return out

    def _strip_base(self, m: MapLayer, bbox: BBox, tol: float) -> LayerData | None:
        best, best_share = None, STRIP_MIN_OVERLAP
        for key, data in self._cache.items():
            if key[0] != m.id or key[1] != tol or data._ragged is None:
                continue
            share = _overlap_share(data.bbox, bbox)
            if share >= best_share:
                best, best_share = data, share
        return best

    def _cached(self, layer_id: str, bbox: BBox, tol: float) -> LayerData | None:
        for key in reversed(self._cache):
            data = self._cache[key]
            if key[0] == layer_id and key[1] == tol and _contains(data.bbox, bbox):
                self._cache.move_to_end(key)
                return data
        return None

    def _remember(self, data: LayerData) -> None:
        # Keyed by (layer, tolerance, box): recent boxes stay, the oldest go first.
        self._cache[(data.layer_id, data.simplify, data.bbox)] = data
        while len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)

    def _fetch_pipeline(self, requests, bbox, tol, out, on_layer, stale, gen) -> None:
        conn = self.conn()
        self._in_flight = True
        try:
            self._pipeline(conn, requests, bbox, tol, out, on_layer, stale, gen)
        finally:
            self._in_flight = False

    def _pipeline(self, conn, requests, bbox, tol, out, on_layer, stale, gen) -> None:
        t0 = time.perf_counter()
        cursors = []
        left: dict[str, int] = {}
        for m, _box, _base in requests:
            left[m.id] = left.get(m.id, 0) + 1
        parts: dict[str, list[LayerData]] = {}
        with conn.pipeline():
            for m, box, base in requests:
                query, params = _statement(m, box, tol)
                cursors.append((m, box, base, conn.cursor(binary=True).execute(query, params)))
            for m, box, base, cur in cursors:
                rows = cur.fetchall()
                t1 = time.perf_counter()
                if stale() or gen != self._cancel_gen:
                    raise Cancelled()
                try:
                    data = _decode(m, rows, box, tol)
                except _NeedsWide:
                    query, params = _statement(m, box, tol, wide=True)
                    rows = conn.cursor(binary=True).execute(query, params).fetchall()
                    data = _decode(m, rows, box, tol, wide=True)
                t2 = time.perf_counter()
                data.fetch_ms, data.decode_ms = (t1 - t0) * 1000, (t2 - t1) * 1000
                t0 = t2  # the next layer's wait starts after this decode
                parts.setdefault(m.id, []).append(data)
                left[m.id] -= 1
                if left[m.id]:
                    continue
                got = parts.pop(m.id)
                if base is not None:
                    t3 = time.perf_counter()
                    data = merge_parcels(base, got, bbox)
                    data.fetch_ms = sum(d.fetch_ms for d in got)
                    data.decode_ms = sum(d.decode_ms for d in got)
                    data.decode_ms += (time.perf_counter() - t3) * 1000
                    data.strips = len(got)
                    t0 = time.perf_counter()
                self._remember(data)
                out[m.id] = data
                if on_layer:
                    on_layer(data)


def _envelope_params(bbox: BBox) -> tuple[float, float, float, float]:
    return tuple(float(v) for v in bbox)  # type: ignore[return-value]


#: Packed parcel columns: (name, narrow SQL, narrow dtype, wide SQL, wide dtype). Narrow
#: is the usual case; the row's first column says whether every value fitted.
_PACKED = (
    ("ids", "int4send((id & 2147483647)::int4)", ">i4", "int8send(id)", ">i8"),
    ("sizes", "int2send(least(length(geom), 32767)::int2)", ">i2",
     "int4send(length(geom))", ">i4"),
)  # fmt: skip
_LABEL_COLUMNS = (
    ("parcel_number", "int4send(parcel_number)", ">i4", "int4send(parcel_number)", ">i4"),
    ("sheet_number", "int2send(least(sheet_number, 32767)::int2)", ">i2",
     "int4send(sheet_number)", ">i4"),
    # Tenths of m², what labels show.
    ("area10", "int4send(least(round(coalesce(area, -0.1) * 10), 2147483647)::int4)", ">i4",
     "float8send(coalesce(area, 'NaN'))", ">f8"),
)  # fmt: skip
_FITS = (
    "bool_and(id <= 2147483647 AND length(geom) <= 32767 "
    "AND coalesce(sheet_number, 0) <= 32767 AND coalesce(area, 0) < 214748364)"
)


def _parcels_statement(labels: bool, wide: bool) -> sql.Composable:
    """Columnar: one row of packed columns instead of a row per parcel. Per-row and
    per-value headers were ~60 % of the bytes (1.7 MB for a 20 000-parcel view with
    0.45 MB of TWKB) and unpacking 200 000 rows in Python cost more than decoding them.
    Overviews leave out what only labels need. Aggregates of one SELECT read the rows
    in the same order."""
    cols = _PACKED + (_LABEL_COLUMNS if labels else ())
    parts = [f"string_agg({c[3] if wide else c[1]}, ''::bytea)" for c in cols]
    return sql.SQL(
        "SELECT " + _FITS + ", count(*), " + ", ".join(parts) + ", "
        "string_agg(coalesce(land_use_code, ''), ','), string_agg(geom, ''::bytea) "
        "FROM api.parcels_in_bbox(%s, %s, %s, %s, %s) WHERE geom IS NOT NULL"
    )


def _decode_parcels(m: MapLayer, row: tuple, bbox: BBox, tol: float, wide: bool) -> LayerData:
    fits, n = row[0], row[1]
    if n and not fits and not wide:
        raise _NeedsWide()
    cols = _PACKED + (_LABEL_COLUMNS if tol == 0 else ())
    packed = {c[0]: _packed(v, c[4] if wide else c[2]) for c, v in zip(cols, row[2:], strict=False)}
    codes, geoms = row[-2], row[-1]
    attrs: dict[str, object] = {
        "land_use_code": [c or None for c in codes.split(",")] if n else [],
    }
    if "parcel_number" in packed:
        attrs["parcel_number"] = packed["parcel_number"].astype(np.int32)
        attrs["sheet_number"] = packed["sheet_number"].astype(np.int32)
        area = packed["area10"]
        attrs["area"] = area.astype(np.float64) if wide else np.where(area < 0, np.nan, area / 10.0)
    return LayerData(
        m.id, m.kind, bbox, tol, None, packed["ids"].astype(np.int64), attrs,
        decode_twkb_buffer(geoms or b"", packed["sizes"].astype(np.int64)),
    )  # fmt: skip


class _NeedsWide(Exception):
    """A value did not fit the narrow packing: ask again with the wide one."""


def _statement(
    m: MapLayer, bbox: BBox, tol: float, wide: bool = False
) -> tuple[sql.Composable, tuple]:
    b = _envelope_params(bbox)
    if m.kind == "parcels":
        return _parcels_statement(tol == 0, wide), (*b, tol)
    if m.kind == "sheets":
        return (
            sql.SQL(
                "SELECT id, commune_id, sheet_number, scale, geom "
                "FROM api.sheets_in_bbox(%s, %s, %s, %s)"
            ),
            b,
        )
    geom = sql.Identifier("geom" if m.kind in ("admin", "inventory") else m.decl.geometry_column)
    shape = (
        sql.SQL("ST_Simplify({}, %s, true)").format(geom) if tol > 0 else sql.SQL("{}").format(geom)
    )
    if m.kind == "admin":
        return (
            sql.SQL(
                "SELECT id, name, ST_AsBinary({shape}) FROM ref.admin_unit "
                "WHERE level = 'commune' AND valid_to IS NULL AND geom && "
                "ST_MakeEnvelope(%s, %s, %s, %s, ST_SRID(geom))"
            ).format(shape=shape),
            ((tol,) if tol > 0 else ()) + b,
        )
    if m.kind == "inventory":
        return _inventory_statement(shape), ((tol,) if tol > 0 else ()) + b
    schema, _, table = m.decl.source.partition(".")
    label_sql = label_expression(m.decl.style.get("label"))
    return (
        sql.SQL(
            "SELECT id, {label}::text, ST_AsBinary({shape}) FROM {rel} "
            "WHERE {geom} && ST_MakeEnvelope(%s, %s, %s, %s, ST_SRID({geom}))"
        ).format(label=label_sql, shape=shape, rel=sql.Identifier(schema, table), geom=geom),
        ((tol,) if tol > 0 else ()) + b,
    )


_TEMPLATE_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def label_expression(label: object) -> sql.Composable:
    """A layer's label as SQL: a column name, or a template such as
    "{from_desc} – {to_desc}" (columns in braces, the rest literal text)."""
    if not isinstance(label, str) or not label:
        return sql.SQL("NULL")
    if label.isidentifier():
        return sql.Identifier(label)
    parts: list[sql.Composable] = []
    pos = 0
    for match in _TEMPLATE_FIELD.finditer(label):
        if match.start() > pos:
            parts.append(sql.Literal(label[pos : match.start()]))
        parts.append(sql.Identifier(match.group(1)))
        pos = match.end()
    if pos < len(label):
        parts.append(sql.Literal(label[pos:]))
    if not any(isinstance(x, sql.Identifier) for x in parts):
        return sql.Literal(label)
    return sql.SQL("concat({})").format(sql.SQL(", ").join(parts))


#: The inventory period the map shows: the newest (the layer and its extent agree).
_NEWEST_INVENTORY = (
    "WITH newest AS (SELECT id FROM inv.period ORDER BY reference_date DESC, id DESC LIMIT 1) "
)


def _inventory_statement(shape: sql.Composable) -> sql.Composable:
    """Communes of the newest inventory period with their share of non-agricultural land
    (0–1, NULL without results) and their name (the painter adds the share in the
    language of the map)."""
    return sql.SQL(
        _NEWEST_INVENTORY
        + """,
        share AS (
            SELECT r.unit_id,
                   sum(r.area_ha) FILTER (WHERE c.group_code = 'PNN')
                   / nullif(sum(r.area_ha), 0) AS share
            FROM inv.result r
            JOIN ref.land_use_code c ON c.code = r.land_use_code
            WHERE r.period_id = (SELECT id FROM newest)
            GROUP BY r.unit_id)
        SELECT u.id, u.name,
               ST_AsBinary({shape}), s.share::float8
        FROM share s
        JOIN ref.admin_unit u ON u.id = s.unit_id
        -- Communes of the period (often former ones), not the province's total.
        WHERE u.level = 'commune'
          AND u.geom && ST_MakeEnvelope(%s, %s, %s, %s, ST_SRID(u.geom))
        """
    ).format(shape=shape)


def _packed(value: bytes | None, dtype: str) -> np.ndarray:
    return np.frombuffer(value or b"", dtype=dtype).astype(dtype[1:])


def _decode(
    m: MapLayer, rows: list[tuple], bbox: BBox, tol: float, wide: bool = False
) -> LayerData:
    if m.kind == "parcels":
        return _decode_parcels(m, rows[0], bbox, tol, wide)
    cols = list(zip(*rows, strict=True)) if rows else None
    if m.kind == "sheets":
        if cols is None:
            cols = [()] * 5
        return LayerData(
            m.id, m.kind, bbox, tol, None,
            np.array(cols[0], dtype=np.int64),
            {
                "commune_id": np.array(cols[1], dtype=np.int64),
                "sheet_number": np.array(cols[2], dtype=np.int32),
                "scale": np.array(cols[3], dtype=np.int32),
            },
            decode_twkb_ragged(list(cols[4])),
        )  # fmt: skip
    if cols is None:
        cols = [()] * (4 if m.kind == "inventory" else 3)
    attrs: dict[str, object] = {"label": list(cols[1])}
    if m.kind == "inventory":
        attrs["share"] = np.array([np.nan if v is None else v for v in cols[3]], dtype=float)
    return LayerData(
        m.id, m.kind, bbox, tol,
        shapely.from_wkb(np.array(cols[2], dtype=object)) if rows else np.empty(0, dtype=object),
        np.array(cols[0], dtype=np.int64),
        attrs,
    )  # fmt: skip
