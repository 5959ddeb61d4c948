"""Geometry tools of the parcel editor, Qt-free: split by a line, merge, vertex edits with
shared-vertex propagation, snapping, corner tables, measurement and an undo stack.

Coordinates are the province CRS (VN-2000 / TM-3, metres): ``x`` east, ``y`` north. The
surveyors' tables call the northing **X** and the easting **Y**; :func:`corner_table`
follows them. These tools only *propose* geometry: the database validates every draft
(validity, overlaps, gaps, areas) and is the single source of truth (docs/editing.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import nearest_points
from shapely.ops import split as shapely_split

#: Vertices of different parcels closer than this (m) are one shared vertex (1 mm).
SHARED_TOLERANCE = 0.001
#: A split part smaller than this (m²) is a sliver from a line that grazed a corner.
MIN_PART_AREA = 0.01
#: Snap distance on screen (pixels), converted to metres with the view's resolution.
DEFAULT_SNAP_PX = 10.0

XY = tuple[float, float]
#: A vertex address: (polygon part, ring — 0 is the shell, then holes —, index in ring).
VertexRef = tuple[int, int, int]


class GeometryError(ValueError):
    """Bad input for a geometry tool, with its message in Vietnamese and English."""

    def __init__(self, code: str, vi: str, en: str, location: Any = None) -> None:
        super().__init__(vi)
        self.code, self.vi, self.en, self.location = code, vi, en, location

    def text(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi


# -- polygons as editable lists ----------------------------------------------------------
def polygons_of(geom: Polygon | MultiPolygon) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    raise GeometryError(
        "not_polygon", "Hình không phải là vùng (polygon)", "The shape is not a polygon"
    )


def single_polygon(geom: Polygon | MultiPolygon) -> Polygon:
    """The parcel's one polygon (a parcel in several pieces cannot be split or merged)."""
    parts = polygons_of(geom)
    if len(parts) != 1:
        raise GeometryError(
            "multipart",
            f"Thửa gồm {len(parts)} phần rời nhau: hãy sửa từng phần bằng công cụ sửa ranh giới",
            f"The parcel has {len(parts)} separate pieces: edit them with the boundary tool",
        )
    return parts[0]


def _rings(geom: Polygon | MultiPolygon) -> list[list[list[XY]]]:
    """[[shell, hole, ...] per part], rings without the closing vertex."""
    out = []
    for poly in polygons_of(geom):
        rings = [poly.exterior, *poly.interiors]
        out.append([[(float(x), float(y)) for x, y in r.coords[:-1]] for r in rings])
    return out


def _build(parts: list[list[list[XY]]], like: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    polys = [Polygon(rings[0], rings[1:]) for rings in parts]
    if isinstance(like, MultiPolygon):
        return MultiPolygon(polys)
    return polys[0]


def vertex_refs(geom: Polygon | MultiPolygon) -> list[tuple[VertexRef, XY]]:
    """Every vertex of ``geom`` with its address (closing vertices left out)."""
    return [
        ((pi, ri, vi), xy)
        for pi, rings in enumerate(_rings(geom))
        for ri, ring in enumerate(rings)
        for vi, xy in enumerate(ring)
    ]


def _check_valid(geoms: Mapping[int, Polygon | MultiPolygon]) -> None:
    for key, g in geoms.items():
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            where = _reason_point(reason)
            raise GeometryError(
                "invalid",
                f"Ranh giới thửa {key} tự cắt hoặc không hợp lệ ({reason})",
                f"The boundary of parcel {key} crosses itself or is invalid ({reason})",
                Point(where) if where else None,
            )


def _reason_point(reason: str) -> XY | None:
    # GEOS: "Self-intersection[548010.8 1316447.6]".
    if "[" in reason and reason.endswith("]"):
        try:
            x, y = reason[reason.index("[") + 1 : -1].split()[:2]
            return float(x), float(y)
        except ValueError:
            return None
    return None


def _close(a: XY, b: XY, tol: float) -> bool:
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol and math.dist(a, b) <= tol


def move_vertex(
    geoms: Mapping[int, Polygon | MultiPolygon],
    key: int,
    ref: VertexRef,
    to: XY,
    tolerance: float = SHARED_TOLERANCE,
) -> dict[int, Polygon | MultiPolygon]:
    """Move vertex ``ref`` of ``geoms[key]`` to ``to``, and with it every vertex of every
    other geometry within ``tolerance`` of its old place (a shared boundary stays shared).
    Returns the changed geometries only; raises :class:`GeometryError` if one becomes
    invalid (e.g. a self-crossing ring)."""
    pi, ri, vi = ref
    old = _rings(geoms[key])[pi][ri][vi]
    to = (float(to[0]), float(to[1]))
    out: dict[int, Polygon | MultiPolygon] = {}
    every = shapely.get_coordinates(np.array(list(geoms.values()), dtype=object))
    for k, g in geoms.items():
        parts = _rings(g)
        hit = False
        for rings in parts:
            for ring in rings:
                if any(_close(xy, old, tolerance) for xy in ring):
                    # Vertices of other parcels lying on the two edges that will turn
                    # (T-junctions) are added to them first: those points stay where they
                    # are, so the common boundary stays common.
                    ring[:] = _noded(ring, old, every, tolerance)
                for i, xy in enumerate(ring):
                    if _close(xy, old, tolerance):
                        ring[i] = to
                        hit = True
        if not hit and k != key:
            # Topological editing: the vertex lies on this neighbour's edge (a T-junction):
            # the neighbour gets the vertex too, so moving it opens no gap.
            hit = _insert_on_edge(parts, old, to, tolerance)
        if hit:
            out[k] = _build(parts, g)
    _check_valid(out)
    return out


def _noded(ring: list[XY], old: XY, every: np.ndarray, tolerance: float) -> list[XY]:
    """``ring`` with the points of ``every`` that lie on an edge touching ``old`` (but are
    not its ends) inserted in order along that edge."""
    out: list[XY] = []
    n = len(ring)
    for i in range(n):
        a, b = ring[i], ring[(i + 1) % n]
        out.append(a)
        if _close(a, old, tolerance) or _close(b, old, tolerance):
            out.extend(_on_edge(a, b, every, tolerance, out[-1]))
    return out


def _on_edge(a: XY, b: XY, every: np.ndarray, tolerance: float, last: XY) -> list[XY]:
    """The points of ``every`` lying on the edge a→b (not at its ends), in order."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    L2 = dx * dx + dy * dy
    if L2 == 0 or not len(every):
        return []
    t = ((every[:, 0] - a[0]) * dx + (every[:, 1] - a[1]) * dy) / L2
    px, py = a[0] + t * dx, a[1] + t * dy
    d = np.hypot(every[:, 0] - px, every[:, 1] - py)
    L = math.sqrt(L2)
    inner = (d <= tolerance) & (t * L > tolerance) & ((1 - t) * L > tolerance)
    out: list[XY] = []
    for j in np.argsort(t[inner]):
        q = (float(every[inner][j, 0]), float(every[inner][j, 1]))
        if not _close(q, out[-1] if out else last, tolerance):
            out.append(q)
    return out


def _insert_on_edge(parts: list[list[list[XY]]], at: XY, to: XY, tolerance: float) -> bool:
    for rings in parts:
        for ring in rings:
            n = len(ring)
            for i in range(n):
                a, b = ring[i], ring[(i + 1) % n]
                if math.dist(_project(at, a, b), at) <= tolerance:
                    ring.insert(i + 1, to)
                    return True
    return False


def insert_vertex(
    geoms: Mapping[int, Polygon | MultiPolygon],
    key: int,
    ref: VertexRef,
    at: XY,
    tolerance: float = SHARED_TOLERANCE,
) -> dict[int, Polygon | MultiPolygon]:
    """Insert ``at`` after vertex ``ref`` of ``geoms[key]`` (on the edge ``ref``→next).
    Neighbours having the same edge (both ends shared, either direction) get the vertex
    too, so that moving it later moves the common boundary."""
    pi, ri, vi = ref
    ring0 = _rings(geoms[key])[pi][ri]
    a, b = ring0[vi], ring0[(vi + 1) % len(ring0)]
    at = (float(at[0]), float(at[1]))
    out: dict[int, Polygon | MultiPolygon] = {}
    for k, g in geoms.items():
        parts = _rings(g)
        hit = False
        for rings in parts:
            for ring in rings:
                n = len(ring)
                for i in range(n - 1, -1, -1):
                    p, q = ring[i], ring[(i + 1) % n]
                    if (_close(p, a, tolerance) and _close(q, b, tolerance)) or (
                        _close(p, b, tolerance) and _close(q, a, tolerance)
                    ):
                        ring.insert(i + 1, at)
                        hit = True
        if hit:
            out[k] = _build(parts, g)
    _check_valid(out)
    return out


def delete_vertex(
    geoms: Mapping[int, Polygon | MultiPolygon],
    key: int,
    ref: VertexRef,
    tolerance: float = SHARED_TOLERANCE,
) -> dict[int, Polygon | MultiPolygon]:
    """Remove vertex ``ref`` from ``geoms[key]`` and from every neighbour sharing it.

    A T-junction on one of the two edges that meet there (a neighbour's corner lying on
    the edge without being a vertex of it) is kept as a vertex, and neighbours' vertices
    lying on the new edge are inserted into it: the boundary then still runs through every
    point the neighbours have on it, so the removal opens no gap (the store's GAP rule)."""
    pi, ri, vi = ref
    old = _rings(geoms[key])[pi][ri][vi]
    every = shapely.get_coordinates(np.array(list(geoms.values()), dtype=object))
    every = every[np.hypot(every[:, 0] - old[0], every[:, 1] - old[1]) > tolerance]
    out: dict[int, Polygon | MultiPolygon] = {}
    for k, g in geoms.items():
        parts = _rings(g)
        hit = False
        for rings in parts:
            for ring in rings:
                if not any(_close(xy, old, tolerance) for xy in ring):
                    continue
                noded = _noded(ring, old, every, tolerance)
                keep: list[XY] = []
                n = len(noded)
                for i, xy in enumerate(noded):
                    if _close(xy, old, tolerance):
                        continue
                    keep.append(xy)
                    nxt = noded[(i + 1) % n]
                    if _close(nxt, old, tolerance):  # the new edge: xy → after old
                        after = next(
                            noded[(i + j) % n]
                            for j in range(2, n + 1)
                            if not _close(noded[(i + j) % n], old, tolerance)
                        )
                        keep.extend(_on_edge(xy, after, every, tolerance, xy))
                if len(keep) < 3:
                    raise GeometryError(
                        "too_few_vertices",
                        "Không xóa được: ranh giới thửa cần ít nhất 3 đỉnh",
                        "Cannot delete: a boundary needs at least 3 vertices",
                        Point(old),
                    )
                ring[:] = keep
                hit = True
        if hit:
            out[k] = _build(parts, g)
    _check_valid(out)
    return out


def nearest_vertex(geom: Polygon | MultiPolygon, x: float, y: float) -> tuple[VertexRef, float]:
    """The vertex of ``geom`` closest to (x, y) and its distance."""
    refs = vertex_refs(geom)
    xy = np.array([p for _, p in refs])
    d = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
    i = int(np.argmin(d))
    return refs[i][0], float(d[i])


def nearest_edge(geom: Polygon | MultiPolygon, x: float, y: float) -> tuple[VertexRef, XY, float]:
    """The edge of ``geom`` closest to (x, y): its first vertex, the closest point on it
    and the distance."""
    best: tuple[VertexRef, XY, float] | None = None
    for pi, rings in enumerate(_rings(geom)):
        for ri, ring in enumerate(rings):
            n = len(ring)
            for i in range(n):
                a, b = ring[i], ring[(i + 1) % n]
                q = _project((x, y), a, b)
                d = math.dist(q, (x, y))
                if best is None or d < best[2]:
                    best = ((pi, ri, i), q, d)
    assert best is not None
    return best


def _project(p: XY, a: XY, b: XY) -> XY:
    dx, dy = b[0] - a[0], b[1] - a[1]
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / L2))
    return (a[0] + t * dx, a[1] + t * dy)


# -- split and merge ---------------------------------------------------------------------
def _extended(coords: Sequence[XY], by: float) -> list[XY]:
    """The line with both end segments stretched by ``by`` metres: an end snapped onto the
    boundary then really crosses it (floating point would otherwise leave it a hair
    short)."""
    pts = [(float(x), float(y)) for x, y in coords]

    def stretch(p: XY, q: XY) -> XY:  # q moved away from p
        d = math.dist(p, q)
        if d == 0:
            return q
        return (q[0] + (q[0] - p[0]) / d * by, q[1] + (q[1] - p[1]) / d * by)

    pts[0] = stretch(pts[1], pts[0])
    pts[-1] = stretch(pts[-2], pts[-1])
    return pts


def boundary_crossings(polygon: Polygon, line: LineString) -> int:
    """How many times ``line`` crosses the polygon's boundary (touching points count)."""
    inter = polygon.boundary.intersection(line)
    if inter.is_empty:
        return 0
    pts = shapely.get_coordinates(shapely.extract_unique_points(inter))
    return len(pts)


def split_polygon(
    geom: Polygon | MultiPolygon,
    line_coords: Sequence[XY],
    snap_extension: float = 0.01,
    min_area: float = MIN_PART_AREA,
) -> list[Polygon]:
    """Cut a parcel by a drawn polyline; the parts, largest first.

    The line must cross the boundary at least twice (enter and leave): 0 crossings, or a
    line that only reaches into the parcel, is refused with a clear message. A line
    crossing more than twice yields more than two parts.
    """
    poly = single_polygon(geom)
    if len(line_coords) < 2:
        raise GeometryError(
            "line_too_short",
            "Đường cắt cần ít nhất 2 điểm",
            "The split line needs at least 2 points",
        )
    raw = LineString(line_coords)
    if raw.length == 0:
        raise GeometryError(
            "line_too_short", "Đường cắt có độ dài bằng 0", "The split line has zero length"
        )
    line = LineString(_extended(line_coords, snap_extension))
    crossings = boundary_crossings(poly, line)
    if crossings == 0:
        raise GeometryError(
            "no_crossing",
            "Đường cắt không cắt qua thửa đất: hãy vẽ đường đi từ ranh giới bên này sang "
            "ranh giới bên kia",
            "The split line does not cross the parcel: draw it from one side of the "
            "boundary to the other",
            raw,
        )
    if crossings == 1:
        raise GeometryError(
            "one_crossing",
            "Đường cắt chỉ cắt ranh giới thửa một lần: điểm đầu và điểm cuối phải nằm trên "
            "hoặc ngoài ranh giới",
            "The split line crosses the boundary only once: both ends must lie on or "
            "outside the boundary",
            raw,
        )
    pieces = [g for g in shapely_split(poly, line).geoms if isinstance(g, Polygon)]
    if len(pieces) < 2:
        raise GeometryError(
            "no_split",
            "Đường cắt không chia được thửa thành hai phần (đường chạy dọc ranh giới?)",
            "The line does not divide the parcel (does it run along the boundary?)",
            raw,
        )
    small = [p for p in pieces if p.area < min_area]
    if small:
        raise GeometryError(
            "sliver",
            f"Đường cắt tạo ra phần quá nhỏ ({small[0].area:.4f} m²): hãy bắt điểm vào đỉnh thửa",
            f"The line makes a sliver part ({small[0].area:.4f} m²): snap to the corner",
            small[0],
        )
    return sorted(pieces, key=lambda p: -p.area)


def merge_polygons(
    geoms: Sequence[Polygon | MultiPolygon], tolerance: float = SHARED_TOLERANCE
) -> Polygon:
    """The union of parcels that share boundary lines (touching at a point is not enough).
    Vertices within ``tolerance`` are snapped together first so that floating-point seams
    do not leave a crack."""
    if len(geoms) < 2:
        raise GeometryError(
            "merge_count",
            "Cần chọn ít nhất hai thửa để hợp (giữ phím Shift khi bấm chọn)",
            "Select at least two parcels to merge (hold Shift while clicking)",
        )
    polys = [shapely.make_valid(g) if not g.is_valid else g for g in geoms]
    # Snap each parcel onto the others' vertices: a floating-point seam is no crack.
    snapped = [polys[0]]
    for p in polys[1:]:
        snapped.append(shapely.snap(p, shapely.union_all(snapped), tolerance))
    # Each parcel must share a boundary line with the group merged so far.
    order = list(range(1, len(snapped)))
    group = snapped[0]
    while order:
        for i in order:
            shared = group.boundary.intersection(snapped[i].boundary).length
            if shared > tolerance:
                group = shapely.union(group, snapped[i])
                order.remove(i)
                break
        else:
            lonely = snapped[order[0]]
            raise GeometryError(
                "not_adjacent",
                "Các thửa không liền kề (không chung cạnh) nên không hợp được",
                "The parcels are not adjacent (they share no boundary line) and cannot be merged",
                lonely.representative_point(),
            )
    merged = group
    if isinstance(merged, MultiPolygon) or not isinstance(merged, Polygon):
        raise GeometryError(
            "not_adjacent",
            "Các thửa không liền kề (không chung cạnh) nên không hợp được",
            "The parcels are not adjacent (they share no boundary line) and cannot be merged",
        )
    # Drop slivers of holes left by floating-point seams.
    holes = [h for h in merged.interiors if Polygon(h).area > MIN_PART_AREA]
    merged = Polygon(merged.exterior, holes)
    # Collinear vertices where the old common boundary met the outline are kept: they
    # are the neighbours' vertices too (shared boundary).
    return merged


# -- snapping -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Snap:
    x: float
    y: float
    kind: str  # "vertex", "edge" or "none"
    key: int | None = None  # which geometry it snapped to

    @property
    def snapped(self) -> bool:
        return self.kind != "none"


def pixels_to_metres(pixels: float, resolution: float) -> float:
    """A screen tolerance in map units (``resolution`` = metres per pixel)."""
    return float(pixels) * float(resolution)


class Snapper:
    """Snaps a point to the nearest vertex, else the nearest edge, of a set of geometries
    within a tolerance. Built once per edit on full-precision geometry (the map layer is
    simplified by scale and rounded to centimetres)."""

    def __init__(self, geoms: Mapping[int, Polygon | MultiPolygon] | None = None) -> None:
        self.set_geometries(geoms or {})

    def set_geometries(self, geoms: Mapping[int, Polygon | MultiPolygon]) -> None:
        self.keys = list(geoms)
        self.geoms = np.array([geoms[k] for k in self.keys], dtype=object)
        self.tree = shapely.STRtree(self.geoms) if len(self.geoms) else None
        coords, index = (
            shapely.get_coordinates(self.geoms, return_index=True)
            if len(self.geoms)
            else (np.empty((0, 2)), np.empty(0, dtype=np.int64))
        )
        self.coords, self.coord_owner = coords, index

    def snap(
        self,
        x: float,
        y: float,
        tolerance: float,
        exclude: Iterable[XY] = (),
    ) -> Snap:
        """Vertices first, then edges; ``exclude`` (e.g. the vertex being dragged) is
        never a snap target."""
        if self.tree is None or tolerance <= 0:
            return Snap(x, y, "none")
        t = tolerance
        near = self.tree.query(shapely.box(x - t, y - t, x + t, y + t))
        if not len(near):
            return Snap(x, y, "none")
        sel = np.isin(self.coord_owner, near)
        pts, owners = self.coords[sel], self.coord_owner[sel]
        if len(pts):
            d = np.hypot(pts[:, 0] - x, pts[:, 1] - y)
            for ex in exclude:
                d[np.hypot(pts[:, 0] - ex[0], pts[:, 1] - ex[1]) <= SHARED_TOLERANCE] = np.inf
            i = int(np.argmin(d))
            if d[i] <= tolerance:
                return Snap(float(pts[i, 0]), float(pts[i, 1]), "vertex", self.keys[owners[i]])
        p = Point(x, y)
        best: tuple[float, XY, int] | None = None
        for j in near:
            g = self.geoms[j]
            q = nearest_points(g.boundary, p)[0]
            d = q.distance(p)
            if d <= tolerance and (best is None or d < best[0]):
                best = (d, (q.x, q.y), int(j))
        if best is not None:
            return Snap(best[1][0], best[1][1], "edge", self.keys[best[2]])
        return Snap(x, y, "none")


# -- tables and measurement --------------------------------------------------------------
@dataclass(frozen=True)
class Corner:
    """One row of the corner table: point number, X (northing), Y (easting), length of
    the edge to the next point (m)."""

    number: int
    x_north: float
    y_east: float
    edge_to_next: float


def corner_table(geom: Polygon | MultiPolygon) -> list[Corner]:
    """The corners of every ring, numbered from 1 in drawing order, with edge lengths
    (bảng tọa độ góc thửa). X is the northing and Y the easting, as surveyors write them."""
    rows: list[Corner] = []
    n = 0
    for rings in _rings(geom):
        for ring in rings:
            for i, (x, y) in enumerate(ring):
                nx, ny = ring[(i + 1) % len(ring)]
                n += 1
                rows.append(Corner(n, y, x, math.hypot(nx - x, ny - y)))
    return rows


def distance(points: Sequence[XY]) -> float:
    """Length of the polyline through ``points`` (m)."""
    return float(sum(math.dist(a, b) for a, b in itertools.pairwise(points)))


def area(points: Sequence[XY]) -> float:
    """Area of the ring through ``points`` (m², shoelace; 0 for fewer than 3 points)."""
    if len(points) < 3:
        return 0.0
    xy = np.asarray(points, dtype=np.float64)
    x, y = xy[:, 0] - xy[0, 0], xy[:, 1] - xy[0, 1]  # centred: no cancellation at 10⁶ m
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def polygon_from_points(points: Sequence[XY]) -> Polygon:
    """A new parcel's outline from its drawn corners; refuses degenerate or crossing rings."""
    pts = [(float(x), float(y)) for x, y in points]
    if len(pts) >= 2 and _close(pts[0], pts[-1], SHARED_TOLERANCE):
        pts = pts[:-1]
    if len(pts) < 3:
        raise GeometryError(
            "too_few_vertices",
            "Thửa mới cần ít nhất 3 đỉnh",
            "A new parcel needs at least 3 corners",
        )
    poly = Polygon(pts)
    reason = shapely.is_valid_reason(poly)
    if reason.startswith(("Self-intersection", "Ring Self-intersection")):
        where = _reason_point(reason)
        raise GeometryError(
            "self_intersection",
            "Ranh giới thửa mới tự cắt nhau: hãy vẽ lại theo thứ tự các góc",
            "The new boundary crosses itself: draw the corners in order",
            Point(where) if where else None,
        )
    if poly.area <= 0 or not poly.is_valid:
        raise GeometryError(
            "zero_area", "Thửa mới có diện tích bằng 0", "The new parcel has no area"
        )
    return poly


def parse_vn2000(text: str) -> XY:
    """Typed surveyed coordinates "X, Y" (X = northing, Y = easting, metres, VN-2000) →
    map (x, y). Accepts "1316443.47 547980.25", "1316443,47; 547980,25" and "X=… Y=…"."""
    t = text.strip().upper().replace("X=", " ").replace("Y=", " ")
    if ";" in t or "\t" in t:
        fields = [f for f in t.replace("\t", ";").split(";") if f.strip()]
        nums = [f.strip().replace(" ", "").replace(",", ".") for f in fields]
    elif t.count(",") == 1 and " " not in t.strip():
        nums = t.split(",")  # "1316443.47,547980.25"
    else:
        nums = [f.replace(",", ".") for f in t.replace(", ", " ").split()]
    try:
        values = [float(v) for v in nums]
    except ValueError:
        values = []
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise GeometryError(
            "bad_coordinates",
            "Tọa độ không hợp lệ: nhập X (Bắc) và Y (Đông) theo VN-2000, ví dụ "
            "«1316443,47; 547980,25»",
            "Invalid coordinates: type X (northing) and Y (easting) in VN-2000, e.g. "
            "'1316443.47; 547980.25'",
        )
    north, east = values
    # TM-3 eastings stay within ~±300 km of the 500 000 m false easting; northings in
    # Viet Nam are 900 000 m or more. Swapped values are a typing slip, said so.
    if not (100_000 <= east <= 900_000) or north < 900_000:
        raise GeometryError(
            "coordinates_swapped",
            "Tọa độ nằm ngoài lãnh thổ: X là tọa độ Bắc (≥ 900.000 m), Y là tọa độ Đông "
            "(khoảng 100.000–900.000 m) — có thể đã nhập ngược X và Y",
            "Coordinates outside the country: X is the northing (≥ 900,000 m), Y the easting "
            "(about 100,000–900,000 m) — X and Y may be swapped",
        )
    return (east, north)


# -- undo / redo --------------------------------------------------------------------------
@dataclass
class Edit:
    """One undoable step: the geometries it replaced and those it put in their place
    (None: the key did not exist / is removed)."""

    label: str
    before: dict[int, Any]
    after: dict[int, Any]


@dataclass
class UndoStack:
    """Undo/redo over a dict of working geometries (the edits inside a change set that
    are not drafted yet). ``on_change`` is called after every change."""

    state: dict[int, Any] = field(default_factory=dict)
    limit: int = 200
    on_change: Callable[[], None] | None = None
    _done: list[Edit] = field(default_factory=list)
    _undone: list[Edit] = field(default_factory=list)

    def push(self, label: str, after: Mapping[int, Any]) -> Edit:
        """Apply ``after`` (changed keys only) as one step."""
        edit = Edit(label, {k: self.state.get(k) for k in after}, dict(after))
        self._apply(edit.after)
        self._done.append(edit)
        del self._done[: -self.limit]
        self._undone.clear()
        self._changed()
        return edit

    def _apply(self, values: Mapping[int, Any]) -> None:
        for k, v in values.items():
            if v is None:
                self.state.pop(k, None)
            else:
                self.state[k] = v

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo(self) -> Edit | None:
        return self._step(self._done, self._undone, forward=False)

    def redo(self) -> Edit | None:
        return self._step(self._undone, self._done, forward=True)

    def _step(self, source: list[Edit], target: list[Edit], *, forward: bool) -> Edit | None:
        """Move the latest edit from one stack to the other, restoring the state it left
        (redo, ``forward``) or found (undo)."""
        if not source:
            return None
        edit = source.pop()
        self._apply(edit.after if forward else edit.before)
        target.append(edit)
        self._changed()
        return edit

    def clear(self, state: Mapping[int, Any] | None = None) -> None:
        self._done.clear()
        self._undone.clear()
        if state is not None:
            self.state = dict(state)
        self._changed()

    def labels(self) -> list[str]:
        return [e.label for e in self._done]
