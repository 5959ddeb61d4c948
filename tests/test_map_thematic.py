"""Subsystem layers on the map: inventory results as a choropleth on the units'
boundaries, priced road segments with their labels (app/map fetch + paint)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely
from PySide6.QtGui import QColor

from app.map.fetch import Fetcher
from app.map.layers import LayerModel, default_layers
from app.map.qtpaint import CHOROPLETH
from app.map.render import render_map
from app.map.viewport import Viewport

pytestmark = pytest.mark.store

INVENTORY = "inventory.result"
ROADS = "land_price.road_segment"


def _layers(*ids: str):
    model = LayerModel(default_layers())
    model.only(ids)
    return [m for m in model.layers if m.visible]


@pytest.fixture(scope="module")
def shares(demo_db) -> dict[int, tuple[str, float, str]]:
    """unit id → (name, share of PNN land in the newest period, WKT of the boundary)."""
    with psycopg.connect(demo_db) as conn:
        rows = conn.execute(
            """
            WITH newest AS (SELECT id FROM inv.period ORDER BY reference_date DESC LIMIT 1)
            SELECT u.id, u.name,
                   (sum(r.area_ha) FILTER (WHERE c.group_code = 'PNN') / sum(r.area_ha))::float8,
                   ST_AsText(ST_PointOnSurface(u.geom))
            FROM inv.result r JOIN ref.land_use_code c ON c.code = r.land_use_code
            JOIN ref.admin_unit u ON u.id = r.unit_id
            WHERE r.period_id = (SELECT id FROM newest)
              AND u.level = 'commune'
            GROUP BY u.id, u.name, u.geom
            """
        ).fetchall()
    assert len(rows) >= 2
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


@pytest.fixture(scope="module")
def extent(demo_db) -> tuple[float, float, float, float]:
    with psycopg.connect(demo_db) as conn:
        return conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom)::geometry e FROM ref.admin_unit "
            "      WHERE level = 'commune') s"
        ).fetchone()


def test_inventory_layer_carries_each_units_share(qapp, demo_db, person_factory, shares, extent):
    viewer = person_factory(demo_db, rights={"inventory": ["viewer"]}, whole_province=True)
    fetcher = Fetcher(viewer.dsn)
    try:
        (data,) = fetcher.fetch(Viewport.fit(extent, (800, 600)), _layers(INVENTORY))
    finally:
        fetcher.close()
    got = dict(zip(data.ids.tolist(), np.asarray(data.attrs["share"]).tolist(), strict=True))
    assert set(got) == set(shares)
    for unit, share in got.items():
        assert share == pytest.approx(shares[unit][1], abs=1e-9)
    names = dict(zip(data.ids.tolist(), data.attrs["label"], strict=True))
    unit = next(iter(shares))
    name, share, _ = shares[unit]
    assert names[unit] == name
    # The painter writes the share in the map's language.
    from app.map.qtpaint import MapPainter
    from app.map.style import LandUseStyle

    view = Viewport.fit(extent, (800, 600))
    for lang, sep in (("vi", ","), ("en", ".")):
        layer = _layers(INVENTORY)[0]
        texts = {lab.text for lab in MapPainter(LandUseStyle(), lang).labels(view, [(layer, data)])}
        want = f"{name}: {share * 100:.1f} %".replace(".", sep)
        assert want in texts or not any(t.startswith(name + ":") for t in texts), texts
        assert any(t.endswith(" %") and sep in t for t in texts)


def test_inventory_choropleth_colours_each_unit_by_its_class(
    qapp, demo_db, person_factory, shares, extent
):
    # qapp: a QApplication first (render_map alone would make a QGuiApplication, and the
    # widget tests later in the session need the former).
    viewer = person_factory(demo_db, rights={"inventory": ["viewer"]}, whole_province=True)
    size = (800, 600)
    image, _ = render_map(viewer.dsn, extent, size, [INVENTORY])
    view = Viewport.fit(extent, size)
    checked = 0
    background = QColor("#fbfbf8")
    for _unit, (_name, share, wkt) in shares.items():
        x, y = shapely.get_coordinates(shapely.from_wkt(wkt))[0]
        px, py = (round(v) for v in view.to_pixel(x, y))
        if not (0 <= px < size[0] and 0 <= py < size[1]):
            continue
        cls = QColor(CHOROPLETH[min(4, int(share * 5))])
        expect = [
            0.55 * c + 0.45 * b
            for c, b in zip(cls.getRgb()[:3], background.getRgb()[:3], strict=True)
        ]
        got = image.pixelColor(px, py).getRgb()[:3]
        if any(abs(g - e) > 6 for g, e in zip(got, expect, strict=True)):
            # A label may cover the interior point: look a little around it.
            around = [
                image.pixelColor(px + dx, py + dy).getRgb()[:3]
                for dx in (-12, 0, 12) for dy in (-12, 0, 12)
                if 0 <= px + dx < size[0] and 0 <= py + dy < size[1]
            ]  # fmt: skip
            near = [all(abs(g - e) <= 6 for g, e in zip(a, expect, strict=True)) for a in around]
            assert any(near), (share, got, expect)
        checked += 1
    assert checked >= 2


def test_inventory_layer_is_empty_without_the_right(demo_db, person_factory, extent):
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    fetcher = Fetcher(viewer.dsn)
    try:
        (data,) = fetcher.fetch(Viewport.fit(extent, (800, 600)), _layers(INVENTORY))
    finally:
        fetcher.close()
    assert len(data) == 0 and data.attrs.get("refused") is True


def test_road_segments_come_with_from_to_labels(qapp, demo_db, person_factory):
    viewer = person_factory(demo_db, rights={"land_price": ["viewer"]}, whole_province=True)
    with psycopg.connect(demo_db) as conn:
        x, y = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) c "
            "FROM price.road_segment) s"
        ).fetchone()
        box = (x - 1500.0, y - 1000.0, x + 1500.0, y + 1000.0)
        expected = dict(
            conn.execute(
                "SELECT id, from_desc || ' – ' || to_desc FROM price.road_segment "
                "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, ST_SRID(geom))",
                box,
            ).fetchall()
        )
    assert expected
    fetcher = Fetcher(viewer.dsn)
    try:
        (data,) = fetcher.fetch(Viewport.fit(box, (900, 600)), _layers(ROADS))
    finally:
        fetcher.close()
    assert dict(zip(data.ids.tolist(), data.attrs["label"], strict=True)) == expected
    image, _ = render_map(viewer.dsn, box, (900, 600), [ROADS])
    reds = sum(
        1
        for px in range(0, 900, 3)
        for py in range(0, 600, 3)
        if (c := image.pixelColor(px, py)).red() > 180 and c.green() < 90 and c.blue() < 90
    )
    assert reds > 50  # the segments' red strokes are drawn
