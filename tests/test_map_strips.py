"""A pan fetches only the strips the cache does not cover; the merged data is what a
whole fetch of the new view returns (app/map/fetch.py, app/map/geometry.py)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely

from app.map.fetch import Fetcher, strips
from app.map.geometry import Ragged
from app.map.layers import PARCELS, LayerModel, default_layers
from app.map.viewport import Viewport


def test_strips_cover_the_new_box_outside_the_old_without_overlap():
    old = (0.0, 0.0, 100.0, 60.0)
    assert strips((50.0, 0.0, 150.0, 60.0), old) == [(100.0, 0.0, 150.0, 60.0)]
    assert strips((-30.0, 0.0, 70.0, 60.0), old) == [(-30.0, 0.0, 0.0, 60.0)]
    diagonal = strips((40.0, 20.0, 140.0, 80.0), old)
    assert diagonal == [(100.0, 20.0, 140.0, 80.0), (40.0, 60.0, 100.0, 80.0)]
    assert strips((10.0, 10.0, 90.0, 50.0), old) == []  # inside: nothing to fetch
    # Zoomed out around the old box: four strips, areas adding up.
    out = strips((-10.0, -10.0, 110.0, 70.0), old)
    assert len(out) == 4
    assert sum((b[2] - b[0]) * (b[3] - b[1]) for b in out) == 120 * 80 - 100 * 60
    boxes = [shapely.box(*b) for b in out]
    assert all(a.intersection(b).area == 0 for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def _ragged(wkts: list[str]) -> tuple[Ragged, np.ndarray]:
    geoms = np.array([shapely.from_wkt(w) for w in wkts])
    _, coords, offs = shapely.to_ragged_array(geoms)
    return Ragged(coords, *[o.astype(np.int64) for o in offs]), geoms


def test_ragged_bounds_take_and_concat():
    r, geoms = _ragged([
        "MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((5 5,6 5,6 6,5 5)))",
        "MULTIPOLYGON(((10 10,12 10,12 12,10 12,10 10),(10.5 10.5,11 10.5,11 11,10.5 10.5)))",
        "MULTIPOLYGON(((-3 -3,-2 -3,-2 -1,-3 -3)))",
    ])  # fmt: skip
    assert r.bounds().tolist() == [[0, 0, 6, 6], [10, 10, 12, 12], [-3, -3, -2, -1]]
    picked = r.take(np.array([2, 0]))
    assert [g.equals(h) for g, h in zip(picked.geometries(), geoms[[2, 0]], strict=True)] == [
        True,
        True,
    ]
    both = Ragged.concat([picked, r.take(np.array([1]))])
    assert len(both) == 3
    assert all(g.equals(h) for g, h in zip(both.geometries(), geoms[[2, 0, 1]], strict=True))
    assert len(r.take(np.array([], dtype=np.int64))) == 0


@pytest.mark.store
def test_a_pan_fetches_strips_and_matches_a_whole_fetch(demo_db, person_factory):
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    with psycopg.connect(demo_db) as conn:
        x, y = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) c "
            "FROM cad.parcel) s"
        ).fetchone()
    model = LayerModel(default_layers())
    model.only([PARCELS])
    layers = [m for m in model.layers if m.visible]
    for resolution in (0.6, 6.0):  # with labels (no simplification) and simplified
        first = Viewport(x, y, resolution, 900, 600)
        panned = first.panned(-450, 200)  # half a screen right, a third down
        panning, fresh = Fetcher(viewer.dsn), Fetcher(viewer.dsn)
        try:
            (a,) = panning.fetch(first, layers)
            (b,) = panning.fetch(panned, layers)
            (whole,) = fresh.fetch(panned, layers)
        finally:
            panning.close()
            fresh.close()
        assert a.strips == 0 and b.strips == 2 and whole.strips == 0
        assert len(whole) > 30
        assert ("parcel_number" in b.attrs) == (resolution < 0.7)  # label columns merged too
        assert len(set(b.ids.tolist())) == len(b)  # no parcel twice
        # Everything the whole fetch has; beyond it, only parcels within the
        # simplification tolerance of the view's edge (their simplified box reaches in).
        assert set(whole.ids.tolist()) <= set(b.ids.tolist())
        extra = ~np.isin(b.ids, whole.ids)
        pad = b.simplify + 0.01
        view_box = shapely.box(*panned.bbox).buffer(pad, join_style="mitre")
        assert all(view_box.intersects(shapely.box(*g.bounds)) for g in b.geoms[extra])
        assert extra.sum() <= len(whole) // 100
        b_in = ~extra
        order = {pid: i for i, pid in enumerate(whole.ids.tolist())}
        idx = np.array([order[pid] for pid in b.ids[b_in].tolist()])
        for key, value in whole.attrs.items():
            got = b.attrs[key]
            if isinstance(value, np.ndarray):
                assert np.array_equal(np.asarray(got), value[idx], equal_nan=True), key
            else:
                assert list(got) == [value[i] for i in idx], key
        assert all(g.equals_exact(h, 1e-9) for g, h in zip(b.geoms, whole.geoms[idx], strict=True))
