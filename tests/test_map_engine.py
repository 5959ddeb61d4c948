"""The Qt-free map engine (app/map): viewport math, labels, style, fetching as a person."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely

from app.map.fetch import Cancelled, Fetcher, simplify_for
from app.map.labels import estimate_sizes, format_area, place_labels
from app.map.layers import ADMIN, PARCELS, SHEETS, LayerModel, default_layers
from app.map.style import LAND_USE_COLOURS, UNKNOWN_COLOUR, LandUseStyle, load_style
from app.map.viewport import ExtentHistory, Viewport, format_scale, parse_scale


# -- viewport ------------------------------------------------------------------------------
def test_pixel_and_map_transforms_are_inverse_and_y_points_down():
    v = Viewport(550_000.0, 1_315_000.0, 0.5, 800, 600)
    assert v.bbox == (549_800.0, 1_314_850.0, 550_200.0, 1_315_150.0)
    assert v.to_pixel(550_000.0, 1_315_000.0) == (400.0, 300.0)
    assert v.to_pixel(549_800.0, 1_315_150.0) == (0.0, 0.0)  # north-west corner = top left
    assert v.to_map(800, 600) == (550_200.0, 1_314_850.0)
    pts = np.array([[549_900.0, 1_315_100.0], [550_100.5, 1_314_900.25]])
    px = v.to_pixels(pts)
    assert np.allclose(px, [[200.0, 100.0], [601.0, 499.5]])
    back = np.array([v.to_map(*p) for p in px])
    assert np.allclose(back, pts)


def test_scale_denominator_at_96_dpi():
    v = Viewport(0.0, 0.0, 1.0, 100, 100)
    assert v.scale == pytest.approx(3779.527, rel=1e-6)  # 1 m/px at 96 dpi
    assert v.with_scale(2_000).scale == pytest.approx(2_000)
    assert v.with_scale(2_000).resolution == pytest.approx(2_000 * 0.0254 / 96)
    assert parse_scale("1:2.000") == parse_scale("1 : 2,000") == parse_scale("2000") == 2_000
    assert parse_scale("abc") is None and parse_scale("2:500") is None
    assert format_scale(2_000) == "1:2.000" and format_scale(12_345.6, "en") == "1:12,346"


def test_zoom_at_keeps_the_point_under_the_cursor_and_pan_moves_content():
    v = Viewport(550_000.0, 1_315_000.0, 2.0, 1000, 700)
    before = v.to_map(123, 456)
    z = v.zoomed_at(1.25, 123, 456)
    assert z.resolution == pytest.approx(1.6)
    assert z.to_map(123, 456) == pytest.approx(before)
    p = v.panned(100, -50)  # content dragged right and up: the view looks west and south
    assert (p.cx, p.cy) == (550_000.0 - 200.0, 1_315_000.0 - 100.0)
    assert p.to_pixel(*v.to_map(10, 10)) == pytest.approx((110, -40))


def test_fit_shows_the_whole_box_centred():
    box = (100.0, 200.0, 500.0, 300.0)  # 4:1, into a 2:1 image → height decides? no: width
    v = Viewport.fit(box, (800, 400))
    assert v.resolution == pytest.approx(0.5)
    b = v.bbox
    assert b[0] <= 100 and b[1] <= 200 and b[2] >= 500 and b[3] >= 300
    assert (v.cx, v.cy) == (300.0, 250.0)


def test_extent_history_back_and_forward():
    h = ExtentHistory()
    views = [Viewport(float(i), 0.0, 1.0, 10, 10) for i in range(3)]
    for view in views:
        h.push(view)
    assert h.back() == views[1] and h.back() == views[0] and h.back() is None
    assert h.forward() == views[1]
    h.push(views[2].panned(5, 0))  # a new view drops the forward branch
    assert not h.can_forward() and h.back() == views[1]


# -- labels -----------------------------------------------------------------------------
def _overlaps(boxes: np.ndarray) -> int:
    x0, y0, x1, y1 = (boxes[:, k][:, None] for k in range(4))
    hit = (x0 < x1.T) & (x1 > x0.T) & (y0 < y1.T) & (y1 > y0.T)
    np.fill_diagonal(hit, False)
    return int(hit.sum())


def test_label_placement_never_overlaps_on_a_dense_sample():
    rng = np.random.default_rng(7)
    anchors = rng.uniform(0, [800, 600], size=(3_000, 2))  # far more labels than room
    texts = [f"{i}\nONT\n{format_area(rng.uniform(50, 5_000))[:-3]}" for i in range(3_000)]
    sizes = estimate_sizes(texts)
    placed = place_labels(anchors, sizes, priority=rng.uniform(size=3_000), bounds=(800, 600))
    boxes = np.array([[p.x, p.y, p.x + p.w, p.y + p.h] for p in placed])
    assert 80 < len(placed) < 3_000
    assert _overlaps(boxes) == 0
    assert boxes[:, 0].min() >= 0 and boxes[:, 2].max() <= 800 and boxes[:, 3].max() <= 600
    # Each placed label sits on its anchor or next to it (never far away).
    for p in placed:
        ax, ay = anchors[p.index]
        assert abs(p.x + p.w / 2 - ax) <= p.w + 4 + 1e-9
        assert abs(p.y + p.h / 2 - ay) <= p.h + 4 + 1e-9


def test_label_priority_wins_a_conflict():
    anchors = np.array([[100.0, 100.0], [102.0, 101.0]])
    sizes = np.array([[60.0, 30.0], [60.0, 30.0]])
    placed = place_labels(anchors, sizes, priority=[1.0, 5.0], max_offset=np.zeros(2))
    assert [p.index for p in placed] == [1]


def test_area_format_is_vietnamese():
    assert format_area(1234.5) == "1.234,5 m²"
    assert format_area(1234.5, "en") == "1,234.5 m²"


# -- style ------------------------------------------------------------------------------------
@pytest.mark.store
def test_style_covers_every_current_land_use_code(migrated_db):
    with psycopg.connect(migrated_db) as conn:
        style = load_style(conn)
        rows = conn.execute("SELECT code, status, maps_to FROM ref.land_use_code").fetchall()
    current = [c for c, status, _ in rows if status == "current"]
    assert len(current) >= 40
    missing = [c for c in current if c not in LAND_USE_COLOURS]
    assert not missing, f"no colour for {missing}"
    assert all(style.colour(c) != UNKNOWN_COLOUR for c in current)
    # Residential land keeps its conventional pink; rice its yellow.
    assert style.colour("ONT") == "#ffd0ff" and style.colour("LUC") == "#ffff64"
    for code, status, maps_to in rows:
        if status == "legacy" and maps_to:
            assert style.colour(code) == style.colour(maps_to)
    legend = style.legend()
    assert {e.code for e in legend} == {c for c, _, _ in rows}
    assert next(e for e in legend if e.code == "ONT").name == "Đất ở tại nông thôn"


def test_style_gives_an_unknown_code_its_group_colour():
    style = LandUseStyle([("ZZZ", "Thử", "PNN", "current", None)])
    assert style.colour("ZZZ") == "#ffd0d0"
    assert style.colour(None) == UNKNOWN_COLOUR


def test_layer_model_comes_from_the_plugins():
    model = LayerModel(default_layers())
    ids = model.ids()
    assert {PARCELS, SHEETS, ADMIN} <= set(ids)
    assert ids.index(PARCELS) < ids.index(SHEETS) < ids.index(ADMIN)  # frames over fills
    assert model.get(PARCELS).kind == "parcels" and model.get("land_price.zone").kind == "relation"
    at_2000 = [m.id for m in model.drawn_at(2_000)]
    assert PARCELS in at_2000 and "land_price.zone" not in at_2000  # hidden by default
    assert PARCELS not in [m.id for m in model.drawn_at(200_000)]  # declared min_scale
    model.only(["parcels", "admin"])
    assert [m.id for m in model.layers if m.visible] == [PARCELS, ADMIN]
    with pytest.raises(KeyError):
        model.only(["nope"])


def test_simplification_only_for_overviews():
    assert simplify_for(0.2) == 0.0
    assert simplify_for(3.0) == 1.0  # half a pixel, rounded down to 1-2-5
    assert simplify_for(13.0) == 5.0


# -- fetching as a real person -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_facts(demo_db):
    """A commune with parcels, the demo extent, and counts as the owner sees them."""
    with psycopg.connect(demo_db) as conn:
        commune, n = conn.execute(
            "SELECT commune_id, count(*) FROM cad.parcel WHERE retired_at IS NULL "
            "GROUP BY commune_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        ext = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom)::geometry e FROM cad.parcel) s"
        ).fetchone()
        total = conn.execute("SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL").fetchone()[
            0
        ]
    return {"commune": commune, "n": n, "extent": tuple(ext), "total": total}


def _layers(*ids: str):
    model = LayerModel(default_layers())
    model.only(ids)
    return [m for m in model.layers if m.visible]


@pytest.mark.store
def test_commune_officer_fetches_only_their_commune(demo_db, demo_facts, person_factory):
    officer = person_factory(
        demo_db, rights={"cadastral": ["viewer"]}, communes=[demo_facts["commune"]]
    )
    fetcher = Fetcher(officer.dsn)
    view = Viewport.fit(demo_facts["extent"], (1000, 800), margin=0.01)
    try:
        (parcels,) = fetcher.fetch(view, _layers("parcels"))
        # Close up (no simplification): the geometry of one parcel, for the TWKB check.
        x, y = shapely.get_coordinates(shapely.centroid(parcels.geoms[0]))[0]
        (close,) = fetcher.fetch(Viewport(x, y, 0.2, 400, 300), _layers("parcels"))
    finally:
        fetcher.close()
    with psycopg.connect(demo_db) as conn:
        expected = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM cad.parcel WHERE retired_at IS NULL AND commune_id = %s",
                (demo_facts["commune"],),
            )
        }
        sample = int(parcels.ids[0])
        area, wkt = conn.execute(
            "SELECT ST_Area(geom), ST_AsText(geom) FROM cad.parcel WHERE id = %s", (sample,)
        ).fetchone()
    assert set(parcels.ids.tolist()) == expected and len(expected) == demo_facts["n"]
    assert len(expected) < demo_facts["total"]
    # The decoded TWKB is the stored geometry to the centimetre.
    assert close.simplify == 0
    got = close.geoms[close.ids.tolist().index(sample)]
    stored = shapely.from_wkt(wkt)
    assert shapely.hausdorff_distance(got, stored) < 0.01
    # Each vertex moves at most 0.005·√2 m: the area by at most that times the perimeter.
    assert abs(got.area - area) <= stored.length * 0.005 * 2**0.5
    assert set(parcels.attrs["land_use_code"]) - {None} <= set(LAND_USE_COLOURS)


@pytest.mark.store
def test_whole_province_fetch_cache_and_cancel(demo_db, demo_facts, person_factory):
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    fetcher = Fetcher(viewer.dsn)
    view = Viewport.fit(demo_facts["extent"], (1000, 800), margin=0.01)
    arrived = []
    try:
        datas = fetcher.fetch(view, _layers("parcels", "sheets", "admin"), on_layer=arrived.append)
        assert [d.layer_id for d in datas] == [PARCELS, SHEETS, ADMIN]
        assert arrived[-1].layer_id == PARCELS  # small layers first: shown early
        assert len(datas[0]) == demo_facts["total"] and len(datas[1]) > 0 and len(datas[2]) > 0
        assert datas[0].simplify == simplify_for(view.resolution) > 0
        # A view inside the fetched one is served from the cache (the same object).
        inner = view.resized(500, 400)  # same scale, inside the fetched box
        (again,) = fetcher.fetch(inner, _layers("parcels"))
        assert again is datas[0]
        # A view that went stale while its rows were on the way is dropped.
        with pytest.raises(Cancelled):
            fetcher.fetch(view.panned(3000, 0), _layers("parcels"), is_stale=lambda: True)
        # Cancel with nothing in flight: no request to the server, the next fetch works.
        fetcher.cancel()
        assert not fetcher._cancelling
        (fresh,) = fetcher.fetch(view.panned(-400, 0), _layers("parcels"))
        assert len(fresh) > 0
        # Identify: the parcel containing a point.
        pid = int(datas[0].ids[10])
        x, y = shapely.get_coordinates(shapely.point_on_surface(datas[0].geoms[10]))[0]
        assert datas[0].hit(x, y).tolist() == [pid]
    finally:
        fetcher.close()


@pytest.mark.store
def test_a_person_without_the_right_is_refused_in_vietnamese(demo_db, demo_facts, person_factory):
    nobody = person_factory(demo_db, rights={}, whole_province=True)
    fetcher = Fetcher(nobody.dsn)
    view = Viewport.fit(demo_facts["extent"], (400, 300))
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
            fetcher.fetch(view, _layers("parcels"))
    finally:
        fetcher.close()
    assert "quyền" in str(info.value)


@pytest.mark.store
def test_ragged_decoder_matches_the_store_decoder(demo_db):
    from app.map.geometry import decode_twkb_ragged
    from app.store.viewport import decode_twkb

    with psycopg.connect(demo_db) as conn:
        blobs = [
            r[0]
            for r in conn.execute(
                "SELECT ST_AsTWKB(g, d) FROM ((SELECT geom g, 2 d FROM cad.parcel LIMIT 500) "
                "UNION ALL SELECT ST_Multi(ST_Buffer(ST_Point(1000, 2000), 300, 2)), 0 "
                "UNION ALL SELECT 'MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2)),"
                "((20 20,30 20,30 30,20 20)))'::geometry, 1 "
                "UNION ALL SELECT 'POLYGON EMPTY'::geometry, 2 "
                "UNION ALL SELECT 'POLYGON((5 5,6 5,6 6,5 5))'::geometry, 2) s",
                binary=True,
            )
        ]
    ragged = decode_twkb_ragged(blobs)
    assert len(ragged) == len(blobs) == 504
    assert shapely.equals_exact(ragged.geometries(), decode_twkb(blobs), 0).all()
    rings = ragged.rings()
    assert rings.feature[-1] == 503 and 502 not in rings.feature  # the empty one
    assert (rings.feature == 501).sum() == 3  # shell + hole, second polygon


@pytest.mark.store
def test_packed_parcel_columns_narrow_wide_and_overview(demo_db, demo_facts, person_factory):
    from app.map import fetch as fetch_mod

    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    x0, y0, x1, y1 = demo_facts["extent"]
    close = Viewport((x0 + x1) / 2, (y0 + y1) / 2, 0.3, 800, 600)  # exact, with labels
    (parcels,) = _layers("parcels")
    with psycopg.connect(viewer.dsn) as conn:
        rows = {}
        for wide in (False, True):
            q, p = fetch_mod._statement(parcels, close.bbox, 0.0, wide)
            rows[wide] = conn.cursor(binary=True).execute(q, p).fetchall()
        expected = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, parcel_number, sheet_number, land_use_code, area "
                "FROM api.parcels_in_bbox(%s, %s, %s, %s, 0)",
                close.bbox,
            )
        }
    narrow = fetch_mod._decode(parcels, rows[False], close.bbox, 0.0)
    wide = fetch_mod._decode(parcels, rows[True], close.bbox, 0.0, wide=True)
    assert len(narrow) == len(expected) > 10
    for data in (narrow, wide):
        got = {
            int(i): (int(n), int(s), c, round(float(a), 1))
            for i, n, s, c, a in zip(
                data.ids, data.attrs["parcel_number"], data.attrs["sheet_number"],
                data.attrs["land_use_code"], data.attrs["area"], strict=True,
            )
        }  # fmt: skip
        assert got == {k: (v[0], v[1], v[2], round(v[3], 1)) for k, v in expected.items()}
    assert shapely.equals_exact(narrow.geoms, wide.geoms, 0).all()
    # A narrow row whose values do not fit asks for the wide form.
    with pytest.raises(fetch_mod._NeedsWide):
        fetch_mod._decode(parcels, [(False, *rows[False][0][1:])], close.bbox, 0.0)
    # Overviews carry ids and codes only: no labels there.
    far = Viewport.fit(demo_facts["extent"], (800, 600))
    fetcher = Fetcher(viewer.dsn)
    try:
        (over,) = fetcher.fetch(far, _layers("parcels"))
    finally:
        fetcher.close()
    assert over.simplify > 0 and "parcel_number" not in over.attrs
    assert len(over.attrs["land_use_code"]) == len(over) == demo_facts["total"]
