"""Geometry of the demo province: communes, roads, a river, blocks, parcels, map sheets.

How the map is built, and why it has no overlaps by construction:

* The province is a grid of old communes (pre-2025) whose shared corners are jittered, so
  boundaries are irregular but every cell is a convex quadrilateral and cells tile exactly.
* Inside a cell, point (u, v) of the unit square maps to the quadrilateral bilinearly. Lines
  of constant u or v map to *straight* lines, so roads at chosen u and v are straight but not
  parallel: a road network that is not a perfect grid.
* The land between roads forms blocks; each block is cut into rows parallel to its long
  sides (residential rows fronting the roads, agricultural land behind) and each row into
  parcels by dividers that are skewed and bent a little. Neighbouring parcels use the very
  same divider vertices, and row boundaries are straight iso-lines, so the parcels of a
  block tile it exactly (with T-junctions, as real cadastral maps have).
* What is not block is road surface; a meandering river is cut out of both. Road and river
  surfaces become DGT and SON parcels, split along the map-sheet grid.

Everything is driven by one ``numpy.random.Generator``: same seed, same province.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

# Road classes: (price.road.road_class, corridor half-width in metres, frontage position)
MAIN, BRANCH, ALLEY = "main", "branch", "alley"
ROAD_HALF_WIDTH = {MAIN: 9.0, BRANCH: 5.0, ALLEY: 2.5}
FRONT_POSITION = {MAIN: "VT1", BRANCH: "VT2", ALLEY: "VT3"}
REAR_POSITION = "VT4"

#: Parcels per km² of an average cell, measured on generated provinces; sizes the cells
#: so that ``parcels`` asked for is met within a few per cent.
PARCELS_PER_KM2 = 960.0
#: Old communes in a new (post-2025) commune, and parcels per new commune.
PARCELS_PER_NEW_COMMUNE = 6000
MIN_PARCEL_AREA = 30.0  # m²; smaller pieces are slivers and merge into a neighbour
SHEET_GRID = 500.0  # m: a 1:1000 frame is 50 cm × 50 cm; a 1:2000 frame is 2 × 2 of them

# Province origin (north-west corner) in VN-2000 / TM-3 106°15′: near Đồng Xoài.
ORIGIN_X = 548_000.0
ORIGIN_Y = 1_318_000.0


@dataclass
class Cell:
    """An old commune: a convex quadrilateral cell of the province grid."""

    index: int
    row: int
    col: int
    corners: np.ndarray  # (4, 2): corners at (u, v) = (0,0), (1,0), (1,1), (0,1)
    urbanity: float  # 0 rural … 1 town centre: denser, more residential land
    new_commune: int = -1


@dataclass
class RoadLine:
    """A straight road across one cell, at constant u (``axis`` 0) or v (``axis`` 1)."""

    cell: int
    axis: int
    position: float  # the u or v of the line
    road_class: str
    name: str


@dataclass
class Segment:
    """A road segment between two crossings: the unit of the land-price table."""

    road: int  # index into World.roads
    cell: int
    geom: shapely.LineString
    from_desc: str
    to_desc: str


@dataclass
class ParcelRows:
    """Parcels as parallel arrays (one entry per parcel)."""

    geom: list = field(default_factory=list)  # shapely Polygons (vertices in metres)
    cell: list[int] = field(default_factory=list)  # old commune cell
    kind: list[str] = field(default_factory=list)  # 'front', 'rear', 'inner', 'road', 'river'
    segment: list[int] = field(default_factory=list)  # fronting segment or -1
    position: list[str | None] = field(default_factory=list)  # VT1…VT4 for residential rows
    residential: list[bool] = field(default_factory=list)
    public: list[bool] = field(default_factory=list)
    row_id: list[int] = field(default_factory=list)  # parcels of one row are neighbours
    order_in_row: list[int] = field(default_factory=list)


@dataclass
class World:
    cells: list[Cell]
    n_cols: int
    n_rows: int
    cell_size: float
    roads: list[RoadLine]
    segments: list[Segment]
    river: shapely.Geometry
    river_name: str
    parcels: ParcelRows


def bilinear(corners: np.ndarray, u, v) -> np.ndarray:
    """Map (u, v) in the unit square to the quadrilateral ``corners`` (broadcasts)."""
    u = np.asarray(u, dtype=float)[..., None]
    v = np.asarray(v, dtype=float)[..., None]
    p00, p10, p11, p01 = corners
    return (1 - u) * (1 - v) * p00 + u * (1 - v) * p10 + u * v * p11 + (1 - u) * v * p01


# --------------------------------------------------------------------------------------
# The province grid


def province_grid(rng: np.random.Generator, n_cells: int, cell_size: float):
    """Jittered grid corners for ``n_cells`` cells in rows of ~6 (2–3 new communes a row)."""
    n_cols = min(6, n_cells)
    n_rows = math.ceil(n_cells / n_cols)
    xs = ORIGIN_X + np.arange(n_cols + 1) * cell_size
    ys = ORIGIN_Y - np.arange(n_rows + 1) * cell_size
    gx, gy = np.meshgrid(xs, ys)
    jitter = rng.uniform(-0.13, 0.13, size=(*gx.shape, 2)) * cell_size
    return np.stack([gx, gy], axis=-1) + jitter, n_cols, n_rows


def make_cells(rng: np.random.Generator, n_cells: int, cell_size: float):
    grid, n_cols, n_rows = province_grid(rng, n_cells, cell_size)
    # Towns: a few cells are urban centres; urbanity decays with grid distance to them.
    n_towns = max(1, n_cells // 5)
    towns = rng.choice(n_cells, size=n_towns, replace=False)
    cells = []
    for i in range(n_cells):
        r, c = divmod(i, n_cols)
        corners = np.array([grid[r + 1, c], grid[r + 1, c + 1], grid[r, c + 1], grid[r, c]])
        dist = min(abs(r - t // n_cols) + abs(c - t % n_cols) for t in towns)
        urbanity = float(np.clip(0.95 - 0.35 * dist + rng.normal(0, 0.05), 0.05, 1.0))
        cells.append(Cell(i, r, c, corners, urbanity))
    return cells, n_cols, n_rows


# --------------------------------------------------------------------------------------
# Roads and blocks inside a cell


def spacing_positions(rng, length: float, lo: float, hi: float) -> np.ndarray:
    """Positions in (0, 1) of lines spaced lo…hi metres apart across ``length`` metres."""
    n = max(1, round(length / ((lo + hi) / 2)))
    gaps = rng.uniform(lo, hi, size=n)
    return np.cumsum(gaps)[:-1] / gaps.sum()


def cell_extent(cell: Cell) -> tuple[float, float]:
    """Mean length of the cell along u and along v, in metres."""
    p00, p10, p11, p01 = cell.corners
    along_u = (np.linalg.norm(p10 - p00) + np.linalg.norm(p11 - p01)) / 2
    along_v = (np.linalg.norm(p01 - p00) + np.linalg.norm(p11 - p10)) / 2
    return float(along_u), float(along_v)


@dataclass
class Block:
    cell: int
    u: tuple[float, float]
    v: tuple[float, float]
    # Road line index facing each long side (v low, v high), or -1 at the cell boundary.
    side_roads: tuple[int, int]
    side_segments: tuple[int, int]


def cell_roads_and_blocks(rng, cell: Cell, world_roads: list, segments: list, names) -> list:
    along_u, along_v = cell_extent(cell)
    urban = cell.urbanity
    # Blocks are long along u (frontage) and shallower along v (depth).
    long_lo, long_hi = (160, 280) if urban > 0.6 else (260, 520)
    deep_lo, deep_hi = (80, 130) if urban > 0.6 else (120, 320)
    u_lines = spacing_positions(rng, along_u, long_lo, long_hi)
    v_lines = spacing_positions(rng, along_v, deep_lo, deep_hi)

    def classify(lines: np.ndarray) -> list[str]:
        if len(lines) == 0:
            return []
        classes = [BRANCH if urban > 0.3 else ALLEY] * len(lines)
        classes[int(np.argmin(np.abs(lines - 0.5)))] = MAIN
        for k in range(len(lines)):
            if classes[k] != MAIN and rng.random() < 0.25 * urban:
                classes[k] = ALLEY
        return classes

    line_ids: dict[tuple[int, int], int] = {}
    for axis, lines in ((0, u_lines), (1, v_lines)):
        for k, (pos, cls) in enumerate(zip(lines, classify(lines), strict=True)):
            line_ids[(axis, k)] = len(world_roads)
            world_roads.append(RoadLine(cell.index, axis, float(pos), cls, names.road_name(cls)))

    # Half-widths in parameter units (metres over the cell's extent along that axis).
    def half(axis: int, k: int) -> float:
        cls = world_roads[line_ids[(axis, k)]].road_class
        return ROAD_HALF_WIDTH[cls] / (along_u if axis == 0 else along_v)

    u_bounds = np.concatenate([[0.0], u_lines, [1.0]])
    v_bounds = np.concatenate([[0.0], v_lines, [1.0]])

    # Segments: each v-line (road along u) is cut by the u-lines, and vice versa.
    seg_ids: dict[tuple[int, int, int], int] = {}
    for axis, lines, cross in ((1, v_lines, u_bounds), (0, u_lines, v_bounds)):
        for k, pos in enumerate(lines):
            road = line_ids[(axis, k)]
            for i in range(len(cross) - 1):
                a, b = cross[i], cross[i + 1]
                if axis == 1:
                    ends = bilinear(cell.corners, [a, b], [pos, pos])
                else:
                    ends = bilinear(cell.corners, [pos, pos], [a, b])
                cross_axis = 1 - axis
                frm = (
                    f"Ngã tư {world_roads[line_ids[(cross_axis, i - 1)]].name}"
                    if i > 0
                    else "Giáp ranh xã"
                )
                to = (
                    f"Ngã tư {world_roads[line_ids[(cross_axis, i)]].name}"
                    if i < len(cross) - 2
                    else "Giáp ranh xã"
                )
                seg_ids[(axis, k, i)] = len(segments)
                segments.append(Segment(road, cell.index, shapely.LineString(ends), frm, to))

    blocks = []
    for i in range(len(u_bounds) - 1):
        u0 = u_bounds[i] + (half(0, i - 1) if i > 0 else 0.0)
        u1 = u_bounds[i + 1] - (half(0, i) if i < len(u_lines) else 0.0)
        for j in range(len(v_bounds) - 1):
            v0 = v_bounds[j] + (half(1, j - 1) if j > 0 else 0.0)
            v1 = v_bounds[j + 1] - (half(1, j) if j < len(v_lines) else 0.0)
            low = line_ids[(1, j - 1)] if j > 0 else -1
            high = line_ids[(1, j)] if j < len(v_lines) else -1
            low_seg = seg_ids[(1, j - 1, i)] if j > 0 else -1
            high_seg = seg_ids[(1, j, i)] if j < len(v_lines) else -1
            blocks.append(Block(cell.index, (u0, u1), (v0, v1), (low, high), (low_seg, high_seg)))
    return blocks


# --------------------------------------------------------------------------------------
# Parcels inside a block


def row_plan(rng, block: Block, depth: float, urban: float, roads: list) -> list[tuple]:
    """Rows of a block as (t0, t1, kind, side) with t across the depth, 0 at the low side."""
    rows: list[tuple] = []
    front_a = block.side_roads[0] >= 0
    front_b = block.side_roads[1] >= 0
    fd = (lambda: rng.uniform(18, 30)) if urban > 0.6 else (lambda: rng.uniform(25, 50))
    da = fd() if front_a else 0.0
    db = fd() if front_b else 0.0
    if da + db > depth * 0.8:  # shallow block: front rows share it
        scale = depth / max(da + db, 1e-9)
        da, db = da * scale, db * scale
    t_a, t_b = da / depth, 1 - db / depth
    if front_a:
        rows.append((0.0, t_a, "front", 0))
    inner_lo, inner_hi = t_a, t_b
    # Towns have a second, deeper residential row reached by alleys (position VT4).
    rear = urban > 0.6 and (inner_hi - inner_lo) * depth > 45
    if rear:
        t_r = inner_lo + rng.uniform(15, 22) / depth
        rows.append((inner_lo, t_r, "rear", 0))
        inner_lo = t_r
    if inner_hi - inner_lo > 1e-9:
        if (inner_hi - inner_lo) * depth < 12 and rows:  # too thin for a row: widen the last
            t0, _, kind, side = rows.pop()
            rows.append((t0, inner_hi, kind, side))
        else:
            rows.append((inner_lo, inner_hi, "inner", -1))
    if front_b:
        rows.append((t_b, 1.0, "front", 1))
    return rows


def parcel_widths(rng, length: float, kind: str, urban: float) -> tuple[np.ndarray, np.ndarray]:
    """Frontage widths (m) filling ``length`` and whether each parcel is residential."""
    widths, resid = [], []
    total = 0.0
    p_res = {"front": 0.25 + 0.7 * urban, "rear": 0.9, "inner": 0.0}[kind]
    while total < length:
        is_res = rng.random() < p_res
        if is_res:
            w = rng.uniform(4.5, 8.0) if urban > 0.6 else rng.uniform(6.0, 15.0)
        elif kind == "inner":
            w = rng.uniform(18.0, 55.0)
        else:
            w = rng.uniform(15.0, 45.0)
        widths.append(w)
        resid.append(is_res)
        total += w
    widths_a = np.array(widths)
    excess = total - length
    if len(widths_a) > 1 and widths_a[-1] - excess < 0.6 * widths_a[-1]:
        # The last one would be too narrow: drop it and stretch the others.
        widths_a, resid = widths_a[:-1], resid[:-1]
    widths_a *= length / widths_a.sum()
    return widths_a, np.array(resid, dtype=bool)


def block_parcels(rng, block: Block, cell: Cell, roads: list, out: ParcelRows, row_counter):
    corners = bilinear(
        cell.corners,
        [block.u[0], block.u[1], block.u[1], block.u[0]],
        [block.v[0], block.v[0], block.v[1], block.v[1]],
    )
    length = (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    depth = (np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2
    for t0, t1, kind, side in row_plan(rng, block, depth, cell.urbanity, roads):
        widths, resid = parcel_widths(rng, length, kind, cell.urbanity)
        s = np.concatenate([[0.0], np.cumsum(widths) / length])
        s[-1] = 1.0
        n = len(widths)
        # Skew the dividers at the far edge and bend them at mid-row, never past a quarter
        # of the narrower neighbour, so parcels stay simple polygons.
        room = np.minimum(np.r_[widths[0], widths], np.r_[widths, widths[-1]]) / length
        skew = np.clip(rng.normal(0, 1.5, n + 1) / length, -0.25 * room, 0.25 * room)
        bend = np.clip(rng.normal(0, 0.8, n + 1) / length, -0.2 * room, 0.2 * room)
        skew[[0, -1]] = 0.0
        bend[[0, -1]] = 0.0
        s_far = s + skew
        s_mid = (s + s_far) / 2 + bend
        tm = (t0 + t1) / 2
        t_near, t_far = (t0, t1)
        # Ring per parcel in (s, t): near-left, near-right, mid-right, far-right, far-left,
        # mid-left. Row side 1 fronts the high-t road; vertex order does not change that.
        ss = np.stack([s[:-1], s[1:], s_mid[1:], s_far[1:], s_far[:-1], s_mid[:-1]], axis=1)
        tt = np.array([t_near, t_near, tm, t_far, t_far, tm])[None, :].repeat(n, axis=0)
        bs = block.u[0] + ss * (block.u[1] - block.u[0])
        bt = block.v[0] + tt * (block.v[1] - block.v[0])
        xy = bilinear(cell.corners, bs, bt)
        polys = shapely.polygons(xy)
        segment = block.side_segments[side] if side >= 0 else -1
        road_cls = roads[block.side_roads[side]].road_class if side >= 0 else None
        row = next(row_counter)
        for k in range(n):
            residential = bool(resid[k])
            out.geom.append(polys[k])
            out.cell.append(cell.index)
            out.kind.append(kind)
            out.segment.append(segment if kind in ("front", "rear") else -1)
            if residential and kind == "front":
                out.position.append(FRONT_POSITION[road_cls])
            elif residential:
                out.position.append(REAR_POSITION)
            else:
                out.position.append(None)
            out.residential.append(residential)
            out.public.append(False)
            out.row_id.append(row)
            out.order_in_row.append(k)
    return corners


# --------------------------------------------------------------------------------------
# River, road surface, sheets


def make_river(rng, cells: list[Cell], n_cols: int, n_rows: int, size: float):
    """A meandering river across the province (west to east), 30–45 m wide."""
    x = np.linspace(ORIGIN_X - size, ORIGIN_X + (n_cols + 1) * size, 400)
    base = ORIGIN_Y - size * n_rows * rng.uniform(0.35, 0.65)
    phase = rng.uniform(0, 2 * np.pi, 3)
    y = (
        base
        + 0.18 * size * np.sin(x / (0.9 * size) + phase[0])
        + 0.06 * size * np.sin(x / (0.23 * size) + phase[1])
        + 0.02 * size * np.sin(x / (0.07 * size) + phase[2])
    )
    line = shapely.LineString(np.column_stack([x, y]))
    return shapely.buffer(line, rng.uniform(15, 22), cap_style="flat", quad_segs=4)


def without_hairlines(geom, width: float = 0.01):
    """Drop parts thinner than ``width`` metres (a morphological opening).

    Blocks on the cell boundary lie on it only to rounding, so cell minus blocks leaves
    hair-thin strips along the boundary; GEOS computes garbage overlaps with them later.
    Mitred joins keep the corners of the real road surface where they are.
    """
    shrunk = shapely.buffer(geom, -width / 2, join_style="mitre")
    return shapely.make_valid(shapely.buffer(shrunk, width / 2, join_style="mitre"))


def sliver(geoms: np.ndarray) -> np.ndarray:
    """True for pieces too small or too thin to be a parcel (< 30 m² or ~< 1.5 m wide)."""
    area = shapely.area(geoms)
    thin = area < 0.75 * shapely.length(geoms)
    return (area < MIN_PARCEL_AREA) | thin


def split_on_grid(geom, size: float) -> np.ndarray:
    """Cut a polygon along the sheet grid (squares of ``size`` metres)."""
    minx, miny, maxx, maxy = geom.bounds
    xs = np.arange(math.floor(minx / size), math.ceil(maxx / size)) * size
    ys = np.arange(math.floor(miny / size), math.ceil(maxy / size)) * size
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    pieces = shapely.intersection(geom, boxes)
    pieces = shapely.get_parts(pieces[~shapely.is_empty(pieces)])
    pieces = pieces[shapely.get_type_id(pieces) == 3]  # polygons only
    return merge_slivers(pieces)


def merge_slivers(pieces: np.ndarray) -> np.ndarray:
    """Union each sliver into a neighbour it touches, so no area is lost or left thin."""
    small = sliver(pieces)
    big = list(pieces[~small])
    if not big:
        return pieces[:0]
    tree = shapely.STRtree(big)
    for piece in pieces[small]:
        hits = tree.query(piece, predicate="intersects")
        if len(hits):
            k = int(hits[0])
            big[k] = shapely.union(big[k], piece)
    # A union along a shared edge can leave a multipart shape: keep its parts apart, and
    # drop the rare crumb that touched nothing (a few square metres at most).
    parts = shapely.get_parts(shapely.make_valid(np.array(big, dtype=object)))
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[~sliver(parts)]


def build_world(seed: int, parcels: int) -> World:
    """The province for ``seed`` with about ``parcels`` parcels (within ~5 %).

    How many parcels a cell holds depends on how urban the draw made it, so the cell size
    is first estimated from an average density, then corrected from what was built.
    """
    from app.demo.names import RoadNamer

    density = PARCELS_PER_KM2
    world = None
    for _attempt in range(4):
        rng = np.random.default_rng([seed, 1])
        world = _build_world(rng, parcels, RoadNamer(rng), density)
        ratio = len(world.parcels.geom) / parcels
        if abs(ratio - 1) < 0.05:
            break
        density *= ratio
    assert world is not None
    return world


def _build_world(rng: np.random.Generator, parcels: int, names, density: float) -> World:
    n_new = max(5, round(parcels / PARCELS_PER_NEW_COMMUNE))
    # 2–3 old communes per new one, grouped along grid rows (so each group is contiguous).
    group_sizes = rng.choice([2, 3], size=n_new, p=[0.5, 0.5])
    n_old = int(group_sizes.sum())
    cell_size = math.sqrt(parcels / n_old / density) * 1000.0
    cells, n_cols, n_rows = make_cells(rng, n_old, cell_size)
    k = 0
    for g, size in enumerate(group_sizes):
        # A group never wraps to the next grid row: start a new row if it would.
        row_start = (k // n_cols) * n_cols
        if k + size > row_start + n_cols:
            size = row_start + n_cols - k
        for _ in range(size):
            cells[k].new_commune = g
            k += 1
    # Cells left over by shortened groups join the commune beside them (or above them
    # when they start a row), so every new commune stays one piece of land.
    for cell in cells[k:]:
        beside = cells[cell.index - 1]
        above = cells[cell.index - n_cols]
        cell.new_commune = (beside if beside.row == cell.row else above).new_commune

    river = make_river(rng, cells, n_cols, n_rows, cell_size)
    roads: list[RoadLine] = []
    segments: list[Segment] = []
    out = ParcelRows()
    row_counter = iter(range(10**9))
    surfaces = []  # (cell, road surface, river surface)
    for cell in cells:
        blocks = cell_roads_and_blocks(rng, cell, roads, segments, names)
        start = len(out.geom)
        block_polys = [
            shapely.Polygon(block_parcels(rng, b, cell, roads, out, row_counter)) for b in blocks
        ]
        cell_poly = shapely.Polygon(cell.corners)
        road_surface = without_hairlines(
            shapely.difference(cell_poly, shapely.union_all(block_polys))
        )
        river_in_cell = shapely.intersection(cell_poly, river)
        road_surface = shapely.difference(road_surface, river)
        # Cut the river out of the parcels it crosses; slivers go to the river.
        geoms = np.array(out.geom[start:], dtype=object)
        crossing = np.nonzero(shapely.intersects(geoms, river))[0]
        absorbed = []
        for idx in crossing:
            parts = shapely.get_parts(shapely.difference(geoms[idx], river))
            parts = parts[shapely.get_type_id(parts) == 3]
            small = sliver(parts)
            absorbed.extend(parts[small])
            keep = parts[~small]
            # The parcel keeps its largest piece; a piece across the river becomes a
            # parcel of its own with the same use (the river splits land in reality too).
            keep = keep[np.argsort(-shapely.area(keep))]
            out.geom[start + idx] = keep[0] if len(keep) else None
            for extra in keep[1:]:
                copy_parcel(out, start + idx, extra)
        if absorbed:
            river_in_cell = shapely.union_all([river_in_cell, *absorbed])
        surfaces.append((cell.index, road_surface, river_in_cell))

    for cell_index, road_surface, river_surface in surfaces:
        for kind, surface in (("road", road_surface), ("river", river_surface)):
            if surface.is_empty:
                continue
            for piece in split_on_grid(surface, SHEET_GRID):
                out.geom.append(piece)
                out.cell.append(cell_index)
                out.kind.append(kind)
                out.segment.append(-1)
                out.position.append(None)
                out.residential.append(False)
                out.public.append(True)
                out.row_id.append(-1)
                out.order_in_row.append(0)

    drop_removed(out)
    return World(cells, n_cols, n_rows, cell_size, roads, segments, river, names.river_name(), out)


def copy_parcel(out: ParcelRows, index: int, geom) -> None:
    """Append a parcel with the attributes of parcel ``index`` and another geometry."""
    for name in ParcelRows.__dataclass_fields__:
        values = getattr(out, name)
        values.append(geom if name == "geom" else values[index])


def drop_removed(out: ParcelRows) -> None:
    keep = [i for i, g in enumerate(out.geom) if g is not None]
    if len(keep) == len(out.geom):
        return
    for name in ParcelRows.__dataclass_fields__:
        values = getattr(out, name)
        setattr(out, name, [values[i] for i in keep])
