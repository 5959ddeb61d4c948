"""The editor's geometry tools without Qt or a database (app/edit/geometry.py)."""

from __future__ import annotations

import math

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from app.edit.geometry import (
    GeometryError,
    Snapper,
    UndoStack,
    area,
    corner_table,
    delete_vertex,
    distance,
    insert_vertex,
    merge_polygons,
    move_vertex,
    nearest_edge,
    nearest_vertex,
    parse_vn2000,
    pixels_to_metres,
    polygon_from_points,
    split_polygon,
)

X0, Y0 = 548_000.0, 1_316_000.0  # a place in the demo province (EPSG:9212)
# Two 20 × 10 m parcels side by side (common edge x = X0 + 20) and one apart.
LEFT = box(X0, Y0, X0 + 20, Y0 + 10)
RIGHT = box(X0 + 20, Y0, X0 + 40, Y0 + 10)
FAR = box(X0 + 100, Y0, X0 + 110, Y0 + 10)
CORNER = box(X0 + 40, Y0 + 10, X0 + 50, Y0 + 20)  # touches RIGHT at one point only


# -- split ----------------------------------------------------------------------------------
def test_split_by_a_line_crossing_twice_gives_two_parts_covering_the_parcel():
    parts = split_polygon(LEFT, [(X0 + 5, Y0 - 3), (X0 + 5, Y0 + 13)])
    assert len(parts) == 2
    assert [round(p.area, 6) for p in parts] == [150.0, 50.0]  # largest first
    assert shapely.union_all(parts).symmetric_difference(LEFT).area < 1e-6
    assert sum(p.area for p in parts) == pytest.approx(LEFT.area, abs=1e-6)


def test_split_line_snapped_exactly_onto_the_boundary_still_cuts():
    # Ends lie on the edges (as after snapping): stretched by 1 cm, the line crosses.
    parts = split_polygon(LEFT, [(X0 + 8, Y0), (X0 + 12, Y0 + 10)])
    assert sorted(round(p.area, 6) for p in parts) == [100.0, 100.0]


def test_split_line_crossing_four_times_gives_three_parts():
    zigzag = [(X0 + 5, Y0 - 1), (X0 + 5, Y0 + 11), (X0 + 10, Y0 + 11), (X0 + 10, Y0 - 1)]
    parts = split_polygon(LEFT, zigzag)
    assert sorted(round(p.area, 6) for p in parts) == [50.0, 50.0, 100.0]


def test_split_line_not_crossing_is_refused_with_its_location():
    line = [(X0 + 30, Y0 + 30), (X0 + 35, Y0 + 40)]
    with pytest.raises(GeometryError) as err:
        split_polygon(LEFT, line)
    assert err.value.code == "no_crossing"
    assert "không cắt qua thửa" in err.value.vi
    assert "does not cross" in err.value.text("en")
    assert err.value.location.equals(shapely.LineString(line))


def test_split_line_crossing_once_is_refused():
    with pytest.raises(GeometryError) as err:
        split_polygon(LEFT, [(X0 - 5, Y0 + 5), (X0 + 10, Y0 + 5)])  # ends inside
    assert err.value.code == "one_crossing"
    assert "một lần" in err.value.vi


def test_split_line_inside_the_parcel_only_is_refused_as_not_crossing():
    with pytest.raises(GeometryError) as err:
        split_polygon(LEFT, [(X0 + 2, Y0 + 2), (X0 + 8, Y0 + 8)])
    assert err.value.code == "no_crossing"


def test_split_of_a_multipart_parcel_and_a_one_point_line_are_refused():
    with pytest.raises(GeometryError) as err:
        split_polygon(MultiPolygon([LEFT, FAR]), [(X0 + 5, Y0 - 3), (X0 + 5, Y0 + 13)])
    assert err.value.code == "multipart"
    with pytest.raises(GeometryError) as err:
        split_polygon(LEFT, [(X0 + 5, Y0 - 3)])
    assert err.value.code == "line_too_short"


def test_split_accepts_a_one_part_multipolygon():
    parts = split_polygon(MultiPolygon([LEFT]), [(X0 + 10, Y0 - 1), (X0 + 10, Y0 + 11)])
    assert [round(p.area, 6) for p in parts] == [100.0, 100.0]


# -- merge ----------------------------------------------------------------------------------
def test_merge_of_touching_parcels_is_their_union():
    merged = merge_polygons([LEFT, RIGHT])
    assert isinstance(merged, Polygon)
    assert merged.area == pytest.approx(400.0)
    assert merged.symmetric_difference(box(X0, Y0, X0 + 40, Y0 + 10)).area < 1e-9


def test_merge_across_a_floating_point_seam_leaves_no_crack():
    nudged = box(X0 + 20.0004, Y0, X0 + 40, Y0 + 10)  # 0.4 mm gap: one shared edge
    merged = merge_polygons([LEFT, nudged])
    assert isinstance(merged, Polygon) and not list(merged.interiors)


def test_merge_of_non_touching_or_corner_touching_parcels_is_refused():
    for others in ([LEFT, FAR], [RIGHT, CORNER]):
        with pytest.raises(GeometryError) as err:
            merge_polygons(others)
        assert err.value.code == "not_adjacent"
        assert "không liền kề" in err.value.vi
    with pytest.raises(GeometryError) as err:
        merge_polygons([LEFT])
    assert err.value.code == "merge_count"


def test_merge_of_three_in_a_row_in_any_order():
    third = box(X0 + 40, Y0, X0 + 60, Y0 + 10)
    merged = merge_polygons([LEFT, third, RIGHT])  # 'third' touches only RIGHT
    assert merged.area == pytest.approx(600.0)


# -- vertex edits with shared-vertex propagation ------------------------------------------
def test_moving_a_shared_vertex_moves_it_in_every_neighbour():
    geoms = {1: LEFT, 2: RIGHT, 3: FAR}
    ref, d = nearest_vertex(LEFT, X0 + 20, Y0 + 10)
    assert d == 0
    out = move_vertex(geoms, 1, ref, (X0 + 25, Y0 + 10))
    assert set(out) == {1, 2}  # FAR untouched
    assert out[1].area == pytest.approx(200 + 25.0)  # triangle 5 × 10 / 2 gained
    assert out[2].area == pytest.approx(200 - 25.0)
    assert out[1].intersection(out[2]).area < 1e-9  # still no overlap
    assert (X0 + 25, Y0 + 10) in list(out[2].exterior.coords)


def test_moving_a_vertex_within_one_millimetre_counts_as_shared():
    near = Polygon([(X0 + 20.0005, Y0 + 10), (X0 + 40, Y0 + 10), (X0 + 40, Y0), (X0 + 20, Y0)])
    ref, _ = nearest_vertex(LEFT, X0 + 20, Y0 + 10)
    assert set(move_vertex({1: LEFT, 2: near}, 1, ref, (X0 + 21, Y0 + 10))) == {1, 2}
    far = Polygon([(X0 + 20.01, Y0 + 10), (X0 + 40, Y0 + 10), (X0 + 40, Y0), (X0 + 20, Y0)])
    assert set(move_vertex({1: LEFT, 2: far}, 1, ref, (X0 + 21, Y0 + 10))) == {1}


def test_moving_a_vertex_lying_on_a_neighbours_edge_inserts_it_there_too():
    # TOP: one long parcel above LEFT and RIGHT; their shared corner (X0+20, Y0+10) lies on
    # TOP's bottom edge without being one of its vertices (a T-junction).
    top = box(X0, Y0 + 10, X0 + 40, Y0 + 20)
    geoms = {1: LEFT, 2: RIGHT, 3: top}
    ref, _ = nearest_vertex(LEFT, X0 + 20, Y0 + 10)
    out = move_vertex(geoms, 1, ref, (X0 + 20, Y0 + 12))
    assert set(out) == {1, 2, 3}
    assert len(out[3].exterior.coords) == 6  # the vertex was added to TOP
    assert out[3].area == pytest.approx(400 - 40.0)  # TOP gives up the triangle 40 × 2 / 2
    total = shapely.union_all(list(out.values()))
    assert total.area == pytest.approx(800.0) and not list(total.interiors)  # no gap
    assert sum(g.area for g in out.values()) == pytest.approx(800.0)  # no overlap


def test_moving_a_vertex_keeps_a_neighbours_t_junction_on_the_boundary():
    # BELOW_L and BELOW_R meet at (X0+10, Y0): that point lies on LEFT's bottom edge.
    below_l = box(X0, Y0 - 10, X0 + 10, Y0)
    below_r = box(X0 + 10, Y0 - 10, X0 + 20, Y0)
    geoms = {1: LEFT, 2: below_l, 3: below_r}
    ref, _ = nearest_vertex(LEFT, X0 + 20, Y0)  # LEFT's bottom-right corner, shared with 3
    out = move_vertex(geoms, 1, ref, (X0 + 20, Y0 + 1))
    # LEFT got the T-junction vertex, so only the part of its edge beyond it turned.
    assert (X0 + 10, Y0) in list(out[1].exterior.coords)
    assert set(out) == {1, 3}
    union = shapely.union_all([out[1], below_l, out[3]])
    assert sum(g.area for g in (out[1], below_l, out[3])) == pytest.approx(union.area)
    assert not list(union.interiors)


def test_a_move_that_makes_the_ring_cross_itself_is_refused():
    ref, _ = nearest_vertex(LEFT, X0, Y0)
    with pytest.raises(GeometryError) as err:
        move_vertex({1: LEFT}, 1, ref, (X0 + 30, Y0 + 5))  # across the far edge
    assert err.value.code == "invalid"
    assert "tự cắt" in err.value.vi


def test_inserting_on_a_shared_edge_inserts_in_the_neighbour_and_then_moves_together():
    geoms = {1: LEFT, 2: RIGHT}
    ref, q, d = nearest_edge(LEFT, X0 + 20.2, Y0 + 5)
    assert d == pytest.approx(0.2) and q == pytest.approx((X0 + 20, Y0 + 5))
    out = insert_vertex(geoms, 1, ref, q)
    assert len(out[1].exterior.coords) == len(out[2].exterior.coords) == 6
    geoms.update(out)
    ref2, _ = nearest_vertex(geoms[1], *q)
    moved = move_vertex(geoms, 1, ref2, (X0 + 22, Y0 + 5))
    assert moved[1].area == pytest.approx(210.0) and moved[2].area == pytest.approx(190.0)


def test_deleting_a_shared_vertex_removes_it_everywhere_and_keeps_three():
    geoms = {1: LEFT, 2: RIGHT}
    ref, q, _ = nearest_edge(LEFT, X0 + 20, Y0 + 5)
    geoms.update(insert_vertex(geoms, 1, ref, q))
    ref2, _ = nearest_vertex(geoms[1], *q)
    out = delete_vertex(geoms, 1, ref2)
    assert len(out[1].exterior.coords) == len(out[2].exterior.coords) == 5
    tri = Polygon([(X0, Y0), (X0 + 1, Y0), (X0, Y0 + 1)])
    with pytest.raises(GeometryError) as err:
        delete_vertex({9: tri}, 9, (0, 0, 0))
    assert err.value.code == "too_few_vertices"


def test_deleting_a_vertex_keeps_a_neighbours_t_junction_so_no_gap_opens():
    # A's right side bulges to V; on the right, B shares P→V and part of V→N, and D's
    # corner W lies on A's edge V→N without being a vertex of A (a T-junction).
    def at(*pts):
        return [(X0 + x, Y0 + y) for x, y in pts]

    a = Polygon(at((0, 0), (10, 0), (12, 5), (10, 10), (0, 10)))
    b = Polygon(at((10, 0), (20, 0), (20, 7.5), (11, 7.5), (12, 5)))
    d = Polygon(at((11, 7.5), (20, 7.5), (20, 10), (10, 10)))
    geoms = {1: a, 2: b, 3: d}
    before = shapely.union_all(list(geoms.values()))
    ref, dist = nearest_vertex(a, X0 + 12, Y0 + 5)
    assert dist == 0
    out = delete_vertex(geoms, 1, ref)
    assert set(out) == {1, 2}  # D does not have V
    # A keeps W, so its boundary still meets D's corner; the piece P-V-W went to B.
    assert (X0 + 11, Y0 + 7.5) in list(out[1].exterior.coords)
    assert (X0 + 12, Y0 + 5) not in list(out[1].exterior.coords)
    after = shapely.union_all([out[1], out[2], d])
    assert after.symmetric_difference(before).area < 1e-9  # no gap, no overlap
    assert out[1].area + out[2].area + d.area == pytest.approx(before.area)
    assert out[1].area == pytest.approx(100.0 + 0.5 * 10 * 1)  # 10×10 + triangle P-W-N


def test_deleting_a_vertex_inserts_neighbours_vertices_lying_on_the_new_edge():
    # V is a corner of A only; the new edge P→N runs along C's top, through C's corner
    # (5, 0) which A did not have: it is inserted, so A and C stay noded.
    def at(*pts):
        return [(X0 + x, Y0 + y) for x, y in pts]

    a = Polygon(at((0, 0), (4, -0.0000001), (10, 0), (10, 10), (0, 10)))
    c1 = Polygon(at((0, -5), (5, -5), (5, 0), (0, 0)))
    c2 = Polygon(at((5, -5), (10, -5), (10, 0), (5, 0)))
    ref, _ = nearest_vertex(a, X0 + 4, Y0)
    out = delete_vertex({1: a, 2: c1, 3: c2}, 1, ref)
    coords = list(out[1].exterior.coords)
    assert (X0 + 4, Y0 - 0.0000001) not in coords and (X0 + 5, Y0) in coords
    assert coords.index((X0 + 5, Y0)) == coords.index((X0 + 10, Y0)) - 1  # in order


# -- snapping ---------------------------------------------------------------------------------
def test_snapping_prefers_vertices_then_edges_within_the_pixel_tolerance():
    snapper = Snapper({1: LEFT, 2: RIGHT})
    tol = pixels_to_metres(10, 0.05)  # 10 px at 5 cm/px = 0.5 m
    assert tol == pytest.approx(0.5)
    s = snapper.snap(X0 + 20.3, Y0 + 9.8, tol)  # 0.36 m from the shared corner
    assert (s.kind, s.x, s.y) == ("vertex", X0 + 20, Y0 + 10)
    s = snapper.snap(X0 + 10.0, Y0 + 10.3, tol)  # mid-edge, 0.3 m away
    assert s.kind == "edge" and s.x == pytest.approx(X0 + 10) and s.y == pytest.approx(Y0 + 10)
    s = snapper.snap(X0 + 10.0, Y0 + 5.0, tol)  # deep inside: nothing within 0.5 m
    assert not s.snapped and (s.x, s.y) == (X0 + 10.0, Y0 + 5.0)
    # Zoomed out (1 m/px) the same 10 px reach 10 m: the corner wins over the edge.
    s = snapper.snap(X0 + 14.0, Y0 + 12.0, pixels_to_metres(10, 1.0))
    assert s.kind == "vertex" and (s.x, s.y) == (X0 + 20, Y0 + 10)


def test_snapping_never_snaps_to_the_excluded_dragged_vertex():
    snapper = Snapper({1: LEFT})
    s = snapper.snap(X0 + 0.1, Y0 + 0.1, 0.5, exclude=[(X0, Y0)])
    assert s.kind == "edge"
    assert Snapper({}).snap(1.0, 2.0, 5.0).kind == "none"


# -- table, measurement, typed coordinates ------------------------------------------------
def test_corner_table_numbers_corners_with_surveyors_x_y_and_edge_lengths():
    tri = Polygon([(X0, Y0), (X0 + 3, Y0), (X0 + 3, Y0 + 4)])
    rows = corner_table(tri)
    assert [r.number for r in rows] == [1, 2, 3]
    assert (rows[0].x_north, rows[0].y_east) == (Y0, X0)  # X = northing, Y = easting
    assert [round(r.edge_to_next, 9) for r in rows] == [3.0, 4.0, 5.0]


def test_distance_and_area():
    pts = [(X0, Y0), (X0 + 3, Y0), (X0 + 3, Y0 + 4)]
    assert distance(pts) == pytest.approx(7.0)
    assert area(pts) == pytest.approx(6.0)
    assert area(pts[:2]) == 0.0
    assert area([(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 10), (X0, Y0 + 10)]) == 200.0


def test_new_parcel_outline_checks():
    poly = polygon_from_points([(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10), (X0, Y0)])
    assert poly.area == pytest.approx(50.0)
    with pytest.raises(GeometryError) as err:  # bow-tie: self-intersecting ring
        polygon_from_points([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    assert err.value.code == "self_intersection"
    assert err.value.location.distance(shapely.Point(X0 + 5, Y0 + 5)) < 1e-6
    with pytest.raises(GeometryError):
        polygon_from_points([(X0, Y0), (X0 + 1, Y0)])


def test_typed_vn2000_coordinates_are_northing_then_easting():
    assert parse_vn2000("1316443,47; 547980,25") == (547980.25, 1316443.47)
    assert parse_vn2000("1316443.47 547980.25") == (547980.25, 1316443.47)
    assert parse_vn2000("X=1316443.47, Y=547980.25") == (547980.25, 1316443.47)
    with pytest.raises(GeometryError) as err:
        parse_vn2000("547980.25 1316443.47")  # swapped
    assert err.value.code == "coordinates_swapped"
    with pytest.raises(GeometryError) as err:
        parse_vn2000("abc")
    assert err.value.code == "bad_coordinates"


# -- undo / redo ----------------------------------------------------------------------------
def test_undo_redo_restores_each_step_and_a_new_edit_drops_the_redo():
    calls = []
    stack = UndoStack({1: LEFT, 2: RIGHT}, on_change=lambda: calls.append(1))
    ref, _ = nearest_vertex(LEFT, X0 + 20, Y0 + 10)
    stack.push("move", move_vertex(stack.state, 1, ref, (X0 + 25, Y0 + 10)))
    moved = dict(stack.state)
    stack.push("new", {7: FAR})
    assert set(stack.state) == {1, 2, 7} and stack.labels() == ["move", "new"]
    stack.undo()
    assert 7 not in stack.state
    stack.undo()
    assert stack.state[1].equals(LEFT) and stack.state[2].equals(RIGHT)
    assert not stack.can_undo and stack.undo() is None
    stack.redo()
    assert stack.state[1].equals(moved[1]) and stack.can_redo
    stack.push("other", {3: CORNER})
    assert not stack.can_redo and stack.redo() is None
    assert len(calls) == 6  # 3 pushes, 2 undos, 1 redo
    assert math.isclose(stack.state[2].area, 175.0)
