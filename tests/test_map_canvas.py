"""The map canvas off-screen with real mouse and key events (pytest-qt), and pixel checks
of rendered images against the demo province."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from app.map.fetch import Fetcher
from app.map.layers import ADMIN, PARCELS, LayerModel, default_layers
from app.map.qtpaint import MapPainter, image_to_array
from app.map.render import render_map, render_with
from app.map.style import load_style
from app.map.viewport import Viewport
from app.ui.fonts import ensure_fonts
from app.ui.i18n import format_float
from app.ui.map_canvas import MapCanvas

pytestmark = pytest.mark.store

SIZE = (800, 600)


@pytest.fixture(scope="module")
def ont_parcel(demo_db):
    """A large ONT (rural residential) parcel: id, interior point, centre of its box."""
    with psycopg.connect(demo_db) as conn:
        pid, x, y, cx, cy = conn.execute(
            "SELECT p.id, ST_X(ST_PointOnSurface(p.geom)), ST_Y(ST_PointOnSurface(p.geom)), "
            "ST_X(ST_Centroid(p.geom)), ST_Y(ST_Centroid(p.geom)) "
            "FROM cad.parcel p JOIN cad.land_use lu ON lu.parcel_id = p.id "
            "WHERE lu.code = 'ONT' AND lu.retired_at IS NULL AND p.retired_at IS NULL "
            "AND ST_NumGeometries(p.geom) = 1 "
            "ORDER BY ST_Area(ST_Buffer(p.geom, -4)) DESC LIMIT 1"
        ).fetchone()
    return {"id": pid, "point": (x, y), "centre": (cx, cy)}


@pytest.fixture
def viewer(demo_db, person_factory):
    return person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)


@pytest.fixture
def canvas(qtbot, qapp, viewer):
    ensure_fonts(qapp)
    fetcher = Fetcher(viewer.dsn)
    with psycopg.connect(viewer.dsn) as conn:
        style = load_style(conn)
    c = MapCanvas(fetcher, LayerModel(default_layers()), style, debounce_ms=5)
    qtbot.addWidget(c)
    c.resize(*SIZE)
    c.show()
    qtbot.waitExposed(c)
    yield c
    fetcher.cancel()
    c.pool.waitForDone(10_000)
    fetcher.close()


def settle(qtbot, canvas: MapCanvas) -> None:
    qtbot.waitUntil(canvas.settled, timeout=15_000)


def show(qtbot, canvas: MapCanvas, x: float, y: float, resolution: float = 0.25) -> None:
    canvas.set_view(Viewport(x, y, resolution, canvas.width(), canvas.height()))
    settle(qtbot, canvas)


def wheel(canvas: MapCanvas, pos: QPointF, notches: int = 1) -> None:
    event = QWheelEvent(
        pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, event)


def test_wheel_zooms_at_the_cursor(qtbot, canvas, ont_parcel):
    show(qtbot, canvas, *ont_parcel["centre"])
    before = canvas.view
    under = before.to_map(200, 150)
    wheel(canvas, QPointF(200, 150))
    assert canvas.view.resolution == pytest.approx(before.resolution / 1.25)
    assert canvas.view.to_map(200, 150) == pytest.approx(under, abs=1e-6)
    wheel(canvas, QPointF(600, 500), notches=-2)
    assert canvas.view.resolution == pytest.approx(before.resolution * 1.25)
    settle(qtbot, canvas)


def test_drag_and_arrow_keys_pan(qtbot, canvas, ont_parcel):
    show(qtbot, canvas, *ont_parcel["centre"])
    v0 = canvas.view
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(400, 300))
    qtbot.mouseMove(canvas, QPoint(450, 320))
    qtbot.mouseMove(canvas, QPoint(500, 350))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(500, 350))
    v1 = canvas.view
    # The point that was under (400, 300) is now under (500, 350).
    assert v1.to_pixel(*v0.to_map(400, 300)) == pytest.approx((500, 350))
    assert v1.resolution == v0.resolution
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert canvas.view.cx == pytest.approx(v1.cx + SIZE[0] / 4 * v1.resolution)
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert canvas.view.cy == pytest.approx(v1.cy + SIZE[1] / 4 * v1.resolution)
    settle(qtbot, canvas)
    # The finished image is of the new view, and it holds parcels.
    assert canvas._image_view == canvas.view and len(canvas.data[PARCELS]) > 0


def test_shift_drag_zooms_to_the_box_and_extents_go_back_and_forth(qtbot, canvas, ont_parcel):
    show(qtbot, canvas, *ont_parcel["centre"], resolution=1.0)
    v0 = canvas.view
    box = v0.pixel_rect_to_bbox(100, 100, 300, 250)
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, shift, QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(200, 180))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, shift, QPoint(300, 250))
    v1 = canvas.view
    b = v1.bbox
    assert b[0] <= box[0] + 1e-6 and b[1] <= box[1] + 1e-6
    assert b[2] >= box[2] - 1e-6 and b[3] >= box[3] - 1e-6
    assert v1.resolution == pytest.approx(200 / 800 * v0.resolution)  # the box fills the width
    assert (v1.cx, v1.cy) == pytest.approx(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    # The zoom tool does the same without shift; then back, back, forward.
    canvas.set_tool("zoom")
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(1, 1))  # (0, 0) = centre
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(401, 301))
    v2 = canvas.view
    assert v2.resolution == pytest.approx(v1.resolution / 2)
    canvas.previous_extent()
    assert canvas.view == v1
    canvas.previous_extent()
    assert canvas.view == v0
    canvas.next_extent()
    assert canvas.view == v1
    canvas.next_extent()
    assert canvas.view == v2
    settle(qtbot, canvas)


def test_identify_click_emits_the_parcel_under_the_pixel(qtbot, canvas, ont_parcel, demo_db):
    show(qtbot, canvas, *ont_parcel["centre"])
    canvas.set_tool("identify")
    px, py = canvas.view.to_pixel(*ont_parcel["point"])
    with qtbot.waitSignal(canvas.identified, timeout=5_000) as sig:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(px), round(py)))
    assert sig.args == [ont_parcel["id"]]
    # Another pixel: the id the database finds at that point.
    qx, qy = 120, 470
    x, y = canvas.view.to_map(qx, qy)
    with psycopg.connect(demo_db) as conn:
        row = conn.execute(
            "SELECT id FROM cad.parcel WHERE retired_at IS NULL "
            "AND ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), ST_SRID(geom)))",
            (x, y),
        ).fetchone()
    if row is None:
        with qtbot.assertNotEmitted(canvas.identified, wait=100):
            qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(qx, qy))
    else:
        with qtbot.waitSignal(canvas.identified, timeout=5_000) as sig:
            qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(qx, qy))
        assert sig.args == [row[0]]


def _pixel_of_another_parcel(canvas: MapCanvas, not_id: int) -> tuple[int, tuple[int, int]]:
    data = canvas.data[PARCELS]
    pts = shapely.get_coordinates(shapely.point_on_surface(data.geoms))
    for pid, (x, y) in zip(data.ids.tolist(), pts, strict=True):
        px, py = canvas.view.to_pixel(x, y)
        inside = 20 < px < SIZE[0] - 20 and 20 < py < SIZE[1] - 20
        if pid != not_id and inside and canvas.parcel_at(round(px), round(py)) == pid:
            return pid, (round(px), round(py))
    raise AssertionError("no second parcel in view")


def test_click_selects_and_shift_click_adds(qtbot, canvas, ont_parcel):
    show(qtbot, canvas, *ont_parcel["centre"])
    canvas.set_tool("select")
    a = ont_parcel["id"]
    ax, ay = (round(v) for v in canvas.view.to_pixel(*ont_parcel["point"]))
    b, (bx, by) = _pixel_of_another_parcel(canvas, a)
    with qtbot.waitSignal(canvas.selectionChanged) as sig:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(ax, ay))
    assert sig.args == [[a]]
    with qtbot.waitSignal(canvas.selectionChanged) as sig:
        qtbot.mouseClick(
            canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(bx, by)
        )
    assert sig.args == [[a, b]] and canvas.selection == [a, b]
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(bx, by))
    assert canvas.selection == [b]
    # A box selects what it touches; shift adds to what was selected.
    x0, y0, x1, y1 = ax - 5, ay - 5, ax + 5, ay + 5
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, shift, QPoint(x0, y0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, shift, QPoint(x1, y1))
    box = shapely.box(*canvas.view.pixel_rect_to_bbox(x0, y0, x1, y1))
    data = canvas.data[PARCELS]
    touched = data.ids[shapely.intersects(data.geoms, box)].tolist()
    assert a in touched and canvas.selection == [b, *[t for t in touched if t != b]]
    # The selection is drawn over the map: the parcel's interior turns cyan-ish.
    shot = canvas.grab().toImage()
    c = shot.pixelColor(ax, ay)
    assert c.blue() > c.green() - 40 and c != QColor("#ffd0ff")


def test_zoom_to_bbox_and_highlight_slots(qtbot, canvas, ont_parcel):
    show(qtbot, canvas, *ont_parcel["centre"], resolution=2.0)
    x, y = ont_parcel["centre"]
    canvas.zoom_to_bbox(x - 50, y - 50, x + 50, y + 50)
    b = canvas.view.bbox
    assert b[0] <= x - 50 and b[2] >= x + 50 and b[1] <= y - 50 and b[3] >= y + 50
    assert canvas.view.resolution == pytest.approx(100 * 1.1 / SIZE[1])
    canvas.zoom_to_scale(500)
    assert canvas.view.scale == pytest.approx(500)
    settle(qtbot, canvas)
    canvas.highlight([ont_parcel["id"]])
    px, py = (round(v) for v in canvas.view.to_pixel(*ont_parcel["point"]))
    c = canvas.grab().toImage().pixelColor(px, py)
    assert c != QColor("#ffd0ff") and c.red() > 200  # orange tint over the pink


def test_a_stale_result_never_paints(qtbot, canvas, ont_parcel):
    show(qtbot, canvas, *ont_parcel["centre"])
    shown = canvas._image
    old_gen = canvas.current_generation() - 1
    far = canvas.view.panned(5_000, 0)
    canvas._on_rendered(old_gen, far, shown.copy(), {}, True, {})
    assert canvas._image is shown and canvas._image_view != far
    # Two quick view changes: only the last one ends up on screen.
    v1 = canvas.view.panned(100, 0)
    canvas.set_view(v1)
    canvas.set_view(v1.panned(100, 0))
    settle(qtbot, canvas)
    assert canvas._image_view == v1.panned(100, 0).resized(*SIZE)


# -- rendered images ------------------------------------------------------------------------
def test_ont_parcel_is_painted_in_the_ont_colour(viewer, ont_parcel, qapp):
    x, y = ont_parcel["point"]
    res = 1.0  # 1:3 780: no labels over the interior
    bbox = (x - 400 * res, y - 300 * res, x + 400 * res, y + 300 * res)
    image, timings = render_map(viewer.dsn, bbox, SIZE, ["parcels"])
    assert (image.width(), image.height()) == SIZE
    assert timings["features"] > 0
    assert image.pixelColor(400, 300) == QColor("#ffd0ff")
    pixels = image_to_array(image)
    assert pixels.shape == (600, 800, 4)
    assert tuple(pixels[300, 400, :3]) == (0xFF, 0xD0, 0xFF)  # BGRA of #ffd0ff


def test_labels_with_diacritics_and_no_overlap(viewer, ont_parcel, qapp):
    ensure_fonts(qapp)
    fetcher = Fetcher(viewer.dsn)
    try:
        with psycopg.connect(viewer.dsn) as conn:
            style = load_style(conn)
        x, y = ont_parcel["centre"]
        view = Viewport(x, y, 0.25, *SIZE)  # 1:945, parcel labels on
        model = LayerModel(default_layers())
        model.only(["parcels", "sheets", "admin"])
        wanted = [m for m in model.layers if m.visible]
        shown = list(zip(wanted, fetcher.fetch(view, wanted), strict=True))
        labels = MapPainter(style).labels(view, shown)
        image, _ = render_with(fetcher, style, view.bbox, SIZE, ["parcels", "sheets", "admin"])
    finally:
        fetcher.close()
    texts = [lab.text for lab in labels]
    kinds = {lab.kind for lab in labels}
    assert "parcels" in kinds and "sheets" in kinds
    assert any(t.startswith("Tờ ") for t in texts)
    # Parcel labels: number / code / area with a comma decimal.
    parcel = [t.split("\n") for t, lab in zip(texts, labels, strict=True) if lab.kind == "parcels"]
    assert all(len(p) == 3 and p[0].isdigit() and len(p[1]) == 3 and "," in p[2] for p in parcel)
    boxes = np.array(
        [[r.rect.left(), r.rect.top(), r.rect.right(), r.rect.bottom()] for r in labels]
    )
    for i in range(len(boxes)):
        o = boxes[i + 1 :]
        hit = (
            (o[:, 0] < boxes[i, 2])
            & (boxes[i, 0] < o[:, 2])
            & (o[:, 1] < boxes[i, 3])
            & (boxes[i, 1] < o[:, 3])
        )
        assert not hit.any()
    # The sheet label is really drawn (P8): its box has the sheet colour in it.
    sheet = next(lab for lab in labels if lab.kind == "sheets")
    r = sheet.rect
    arr = image_to_array(image)[int(r.top()) : int(r.bottom()), int(r.left()) : int(r.right()), :3]
    blue = (arr[:, :, 0].astype(int) > 150) & (arr[:, :, 2].astype(int) < 90)  # BGR
    assert blue.sum() >= 10
    assert ADMIN in [m.id for m, _ in shown]


def test_status_shows_vn2000_and_wgs84_and_takes_a_typed_scale(qtbot, canvas, ont_parcel):
    from app.ui.status import MapStatus

    status = MapStatus(canvas, "vi")
    status.set_srid(9212)  # VN-2000 / TM-3 106°15′: x = 500 000 on the central meridian
    status.show_position(500_000.0, 1_316_000.25)
    assert status.position.text() == "X: 1.316.000,25  Y: 500.000,00"
    lat, lon = status.lat_lon.text().split()
    # Near the meridian; not exactly on it: VN-2000 → WGS 84 includes the datum shift.
    assert lon.startswith("106,25") and lon != "106,250000°E" and lon.endswith("°E")
    assert lat.startswith("11,") and lat.endswith("°N")
    show(qtbot, canvas, *ont_parcel["centre"])
    assert status.scale_edit.text() == "1:945"
    status.scale_edit.setText("1:2.000")
    qtbot.keyClick(status.scale_edit, Qt.Key.Key_Return)
    assert canvas.view.scale == pytest.approx(2_000)
    assert status.scale_edit.text() == "1:2.000"
    # The cursor over the canvas updates the position.
    qtbot.mouseMove(canvas, QPoint(400, 300))
    x, y = canvas.view.to_map(400, 300)
    assert status.position.text() == f"X: {format_float(y, 'vi', 2)}  Y: {format_float(x, 'vi', 2)}"
    settle(qtbot, canvas)


def test_layer_panel_hides_a_layer_and_shows_the_legend(qtbot, canvas, ont_parcel, demo_db):
    from app.ui.layer_panel import LayerPanel

    panel = LayerPanel(canvas.layers)
    qtbot.addWidget(panel)
    panel.layersChanged.connect(canvas.refresh)
    panel.zoomToLayer.connect(canvas.zoom_to_layer)
    panel.set_style(canvas.map_painter.style)
    legend = [panel.legend.item(i).text() for i in range(panel.legend.count())]
    assert "ONT — Đất ở tại nông thôn" in legend
    show(qtbot, canvas, *ont_parcel["centre"])
    # A pixel of the ONT parcel clear of the labels in the middle of the view.
    px, py = (round(v) for v in canvas.view.to_pixel(*ont_parcel["point"]))
    pid = ont_parcel["id"]
    py = next(
        y
        for y in range(py + 60, py - 60, -1)
        if all(canvas.parcel_at(px + dx, y + dy) == pid for dx in (-3, 3) for dy in (-3, 3))
    )
    assert canvas.grab().toImage().pixelColor(px, py) == QColor("#ffd0ff")
    items = {panel.list.item(i).text(): panel.list.item(i) for i in range(panel.list.count())}
    items["Thửa đất"].setCheckState(Qt.CheckState.Unchecked)
    assert not canvas.layers.get(PARCELS).visible
    qtbot.waitUntil(lambda: canvas.settled() and PARCELS not in canvas.data, timeout=15_000)
    assert canvas.grab().toImage().pixelColor(px, py) != QColor("#ffd0ff")
    items["Thửa đất"].setCheckState(Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: canvas.settled() and PARCELS in canvas.data, timeout=15_000)
    # Double-click: zoom to the whole layer as this (whole-province) viewer sees it.
    before = canvas.view
    with qtbot.waitSignal(canvas.layerExtentShown, timeout=10_000):
        panel.list.itemDoubleClicked.emit(items["Thửa đất"])
    assert canvas.view.resolution > 10 * before.resolution
    with psycopg.connect(demo_db) as conn:
        ext = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom)"
            "::geometry e FROM ref.admin_unit WHERE level = 'commune' AND valid_to IS NULL) s"
        ).fetchone()
    b = canvas.view.bbox
    assert b[0] <= ext[0] and b[1] <= ext[1] and b[2] >= ext[2] and b[3] >= ext[3]
    settle(qtbot, canvas)


def test_a_dropped_link_keeps_view_and_selection_and_resumes(qtbot, qapp, viewer, ont_parcel):
    from app.net.latency_proxy import LatencyProxy

    ensure_fonts(qapp)
    with LatencyProxy.for_dsn(viewer.dsn, rtt_ms=0, mbit=None) as proxy:
        fetcher = Fetcher(proxy.wrap_dsn(viewer.dsn))
        with psycopg.connect(viewer.dsn) as conn:
            style = load_style(conn)
        c = MapCanvas(fetcher, LayerModel(default_layers()), style, debounce_ms=5)
        qtbot.addWidget(c)
        c.resize(*SIZE)
        c.show()
        try:
            show(qtbot, c, *ont_parcel["centre"])
            c.set_selection([ont_parcel["id"]])
            states: list[bool] = []
            c.connectionChanged.connect(states.append)
            c._retry_ms = 300  # first retry sooner than in the window (1 s)
            proxy.cut(60)
            wanted = c.view.panned(200, 0)
            c.set_view(wanted)
            qtbot.waitUntil(lambda: c.online is False, timeout=15_000)
            assert states == [False]
            offline = c.grab().toImage()
            note = image_to_array(offline)[8:32, 8:300, :3].astype(int)  # BGR
            red_text = (note[:, :, 2] > 150) & (note[:, :, 1] < 90) & (note[:, :, 0] < 90)
            assert red_text.sum() >= 20  # the red "offline — retrying" note
            assert c.view == wanted and c.selection == [ont_parcel["id"]]
            proxy.restore()
            qtbot.waitUntil(lambda: c.online is True and c.settled(), timeout=20_000)
            assert states == [False, True]
            assert c._image_view == wanted and c.selection == [ont_parcel["id"]]
            assert len(c.data[PARCELS]) > 0
        finally:
            fetcher.cancel()
            c.pool.waitForDone(10_000)
            fetcher.close()


# -- the main window's map ------------------------------------------------------------------
def test_main_window_opens_on_the_province_and_zooms_to_a_commune(qtbot, qapp, viewer, demo_db):
    from app.plugin import PluginRegistry
    from app.ui.i18n import install_language
    from app.ui.main_window import MainWindow

    ensure_fonts(qapp)
    install_language(qapp, "vi")
    window = MainWindow(viewer.dsn, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        qtbot.waitUntil(window.map_ready, timeout=20_000)
        assert window.centralWidget() is window.canvas
        with psycopg.connect(demo_db) as conn:
            ext = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Extent(geom)::geometry e FROM ref.admin_unit WHERE level = 'commune' "
                "AND valid_to IS NULL) s"
            ).fetchone()
        b = window.canvas.view.bbox
        assert b[0] <= ext[0] and b[1] <= ext[1] and b[2] >= ext[2] and b[3] >= ext[3]
        assert window.map_status.scale_edit.text().startswith("1:")
        combo = window.commune_box
        name, cb = window.communes[0][1:]
        assert combo.count() == len(window.communes) + 1 >= 2 and combo.itemText(1) == name
        combo.setCurrentIndex(1)
        combo.activated.emit(1)
        v = window.canvas.view.bbox
        assert v[0] <= cb[0] and v[2] >= cb[2] and v[1] <= cb[1] and v[3] >= cb[3]
        assert window.canvas.view.resolution < window.canvas.history._items[0].resolution
        window.map_actions["map.previous"].trigger()
        assert window.canvas.view == window.canvas.history._items[0]
        # The summary is still there, in its dock (a tab behind the layers, which get the
        # height: every layer row visible without scrolling), and reachable from Help.
        assert window.summary_dock.widget().widget() is window.panel
        assert window.tabifiedDockWidgets(window.layer_dock) == [window.summary_dock]
        layers = window.layer_panel.list
        assert layers.verticalScrollBar().maximum() == 0 and layers.count() >= 7
        help_menu = window.menus["help"]
        assert any(a.objectName() == "app.summary" for a in help_menu.actions())
        qtbot.waitUntil(window.map_ready, timeout=20_000)
    finally:
        window.close()


def test_the_server_refusal_is_shown_on_the_map(qtbot, qapp, demo_db):
    from app.plugin import PluginRegistry
    from app.ui.main_window import MainWindow

    ensure_fonts(qapp)
    # The store owner has no LandRec account: the viewport functions refuse.
    window = MainWindow(demo_db, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.canvas.error_message is not None, timeout=20_000)
        assert "tài khoản" in window.canvas.error_message
        assert window.canvas.online is not False  # refused, not offline
    finally:
        window.close()


def test_main_window_map_rides_the_sessions_reconnect(qtbot, qapp, viewer, ont_parcel):
    """In the window, a dropped link seen by the map is handed to the session (one
    back-off for the whole window): the status bar says offline, the map keeps its view
    and selection, and redraws when the session reports the link back."""
    from app.net.latency_proxy import LatencyProxy
    from app.plugin import PluginRegistry
    from app.session import LinkState
    from app.ui.main_window import MainWindow

    ensure_fonts(qapp)
    with LatencyProxy.for_dsn(viewer.dsn, rtt_ms=0, mbit=None) as proxy:
        window = MainWindow(
            proxy.wrap_dsn(viewer.dsn), PluginRegistry().discover(entry_point_group=None), "vi"
        )
        qtbot.addWidget(window)
        window.resize(1100, 750)
        window.show()
        c = window.canvas
        try:
            qtbot.waitUntil(window.map_ready, timeout=20_000)
            show(qtbot, c, *ont_parcel["centre"])
            c.set_selection([ont_parcel["id"]])
            states: list[str] = []
            window.session.add_state_listener(lambda ch: states.append(ch.state))
            proxy.cut(60)
            wanted = c.view.panned(150, 0)
            c.set_view(wanted)
            qtbot.waitUntil(lambda: c.online is False and window.connected is False, timeout=15_000)
            assert not c._retry.isActive()  # the session reconnects, not the canvas
            assert LinkState.OFFLINE in states
            assert c.view == wanted and c.selection == [ont_parcel["id"]]
            proxy.restore()
            # The session's back-off may be waiting seconds for its next try (a loaded
            # machine detects the drop late): the window's "retry now" skips the wait.
            window.session.reconnect_now()
            qtbot.waitUntil(lambda: c.online is True and c.settled(), timeout=30_000)
            assert states[-1] == LinkState.CONNECTED
            assert c._image_view == wanted and c.selection == [ont_parcel["id"]]
            assert len(c.data[PARCELS]) > 0
        finally:
            window.close()


def test_zoom_to_layer_asks_the_store_for_what_the_person_may_see(
    qtbot, qapp, demo_db, person_factory
):
    """Zoom to layer covers the layer's whole extent in the person's area, not just what
    the current view has loaded: an officer lands on their commune, a price viewer on
    every priced road segment."""
    with psycopg.connect(demo_db) as conn:
        commune, *cbox = conn.execute(
            "SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM ref.admin_unit WHERE level = 'commune' AND valid_to IS NULL "
            "AND id IN (SELECT commune_id FROM cad.parcel) ORDER BY id LIMIT 1"
        ).fetchone()
        roads = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom)::geometry e FROM price.road_segment) s"
        ).fetchone()
    ensure_fonts(qapp)
    officer = person_factory(
        demo_db, rights={"cadastral": ["viewer"], "land_price": ["viewer"]}, communes=[commune]
    )
    fetcher = Fetcher(officer.dsn)
    c = MapCanvas(fetcher, LayerModel(default_layers()), debounce_ms=5)
    qtbot.addWidget(c)
    c.resize(*SIZE)
    c.show()
    try:
        # Start far from the commune, zoomed in on a corner of the road network.
        c.set_view(Viewport(roads[0], roads[1], 0.5, *SIZE))
        with qtbot.waitSignal(c.layerExtentShown, timeout=10_000):
            c.zoom_to_layer(PARCELS)
        b = c.view.bbox
        assert b[0] <= cbox[0] and b[1] <= cbox[1] and b[2] >= cbox[2] and b[3] >= cbox[3]
        assert (b[2] - b[0]) < 1.3 * max(cbox[2] - cbox[0], (cbox[3] - cbox[1]) * 4 / 3)
        with psycopg.connect(demo_db) as conn:
            mine = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Extent(geom)::geometry e FROM price.road_segment WHERE commune_id = %s) s",
                (commune,),
            ).fetchone()
        with qtbot.waitSignal(c.layerExtentShown, timeout=10_000):
            c.zoom_to_layer("land_price.road_segment")
        b = c.view.bbox
        assert b[0] <= mine[0] and b[1] <= mine[1] and b[2] >= mine[2] and b[3] >= mine[3]
    finally:
        fetcher.cancel()
        c.pool.waitForDone(10_000)
        fetcher.close()
