"""The parcel editor end to end (pytest-qt, off-screen): a clerk draws a split line and
picks two parcels to merge with real mouse and key events on the main window's canvas,
submits; an approver approves in the review dialog; the store then holds the new
parcels, their lineage, the history "as of" before the approval and the audit entries.
Bad input through the UI and a viewer's refusal are checked too."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import psycopg
import pytest
import shapely
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.map.viewport import Viewport
from app.plugin import PluginRegistry
from app.session import Session
from app.ui.fonts import ensure_fonts
from app.ui.i18n import format_float, install_language

pytestmark = pytest.mark.store

RES = 0.1  # m/px: a 1200 × 800 canvas shows 120 × 80 m (snap tolerance 10 px = 1 m)


@pytest.fixture(scope="module")
def demo_parcels(demo_db):
    """Two adjacent parcels (sharing > 5 m of boundary, same land users — none here — so
    the store's same-holder rule holds) to merge, and a plain parcel of the same commune
    away from them to split."""
    with psycopg.connect(demo_db) as conn:
        a, b, commune = conn.execute(
            "WITH h AS (SELECT p.id, p.commune_id, p.geom, coalesce((SELECT array_agg("
            "DISTINCT r.party_id ORDER BY r.party_id) FROM cad.land_right r "
            "WHERE r.parcel_id = p.id AND r.valid_to IS NULL AND r.kind = 'su_dung'), '{}') "
            "AS holders FROM cad.parcel p WHERE p.retired_at IS NULL "
            "AND ST_NumGeometries(p.geom) = 1) "
            "SELECT a.id, b.id, a.commune_id FROM h a JOIN h b ON a.id < b.id "
            "AND a.geom && b.geom AND a.commune_id = b.commune_id AND a.holders = b.holders "
            "AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 5 "
            "ORDER BY a.id, b.id LIMIT 1"
        ).fetchone()
        pid, other = conn.execute(
            "SELECT array_agg(p.id) FROM (SELECT p.id FROM cad.parcel p "
            "WHERE p.retired_at IS NULL AND p.commune_id = %s "
            "AND ST_NumGeometries(p.geom) = 1 AND ST_NPoints(p.geom) BETWEEN 5 AND 7 "
            "AND ST_Area(p.geom) BETWEEN 300 AND 2500 AND ST_IsValid(p.geom) "
            "AND ST_Distance(p.geom, (SELECT ST_Union(geom) FROM cad.parcel "
            "WHERE id IN (%s, %s))) > 50 ORDER BY p.id LIMIT 2) p",
            (commune, a, b),
        ).fetchone()[0]
        geoms = {
            i: shapely.from_wkb(bytes(w))
            for i, w in conn.execute(
                "SELECT id, ST_AsBinary(geom) FROM cad.parcel WHERE id = ANY(%s)",
                ([pid, other, a, b],),
            ).fetchall()
        }
    return SimpleNamespace(split=pid, other=other, commune=commune, merge=[a, b], geoms=geoms)


@pytest.fixture
def people(demo_db, person_factory, demo_parcels):
    c = [demo_parcels.commune]
    return SimpleNamespace(
        clerk=person_factory(demo_db, rights={"cadastral": ["editor"]}, communes=c),
        approver=person_factory(demo_db, rights={"cadastral": ["approver"]}, communes=c),
        viewer=person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=c),
    )


def open_window(qtbot, qapp, dsn: str):
    from app.ui.main_window import MainWindow

    ensure_fonts(qapp)
    install_language(qapp, "vi")
    session = Session.from_dsn(dsn).open()
    window = MainWindow(session, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    qtbot.waitUntil(lambda: window.connected is True, timeout=20_000)
    qtbot.waitUntil(window.map_ready, timeout=20_000)
    return window


def show_area(qtbot, window, geom, res: float = RES) -> None:
    c = window.canvas
    x, y = geom.centroid.x, geom.centroid.y
    c.set_view(Viewport(x, y, res, c.width(), c.height()))
    qtbot.waitUntil(c.settled, timeout=20_000)


def px(canvas, x: float, y: float) -> QPoint:
    u, v = canvas.view.to_pixel(x, y)
    return QPoint(round(u), round(v))


def click(widget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def click_map(canvas, x: float, y: float, shift: bool = False) -> None:
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    QTest.mouseMove(canvas, px(canvas, x, y))
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, mods, px(canvas, x, y))


def run_panel(qtbot, panel, fn) -> str:
    with qtbot.waitSignal(panel.finished, timeout=20_000) as blocker:
        fn()
    return blocker.args[0]


def check_dock_layout(qtbot, window, panel) -> None:
    """The editor is a tab beside the parcel dock (the column's full height, not squeezed
    under it), wide enough for its Vietnamese texts: the VN-2000 hint of the typed
    coordinates shows whole, the tool buttons share the width evenly."""
    dock = window.edit_dock
    assert dock in {d for other in window.tabifiedDockWidgets(dock) for d in (other, dock)}
    assert window.tabifiedDockWidgets(dock), "not tabbed with the parcel dock"
    qtbot.waitUntil(lambda: dock.width() >= 360, timeout=5_000)
    hint = panel.coord_edit.placeholderText()
    assert hint == "X (Bắc); Y (Đông) theo VN-2000"
    assert panel.coord_edit.width() > panel.coord_edit.fontMetrics().horizontalAdvance(hint) + 8
    split, merge = panel.tool_buttons["split"], panel.tool_buttons["merge"]
    assert abs(split.width() - merge.width()) <= 2
    assert panel.drafts_box.width() > panel.width() * 0.6


def open_change_set(qtbot, window, kind: str, reason: str):
    window.plugin_actions["cadastral.draft_mutation"].trigger()
    panel = window.edit_panel
    check_dock_layout(qtbot, window, panel)
    panel.kind_box.setCurrentIndex(panel.kind_box.findData(kind))
    panel.reason_edit.setText(reason)  # QTest types ASCII only
    QTest.keyClicks(panel.dossier_edit, "HS-2026/0042")
    assert run_panel(qtbot, panel, lambda: click(panel.open_button)) == "ok", panel.last_message
    assert panel.session.change_set_id is not None and panel.session.status == "nhap"
    assert f"số {panel.session.change_set_id}" in panel.header.text()
    return panel


def approve_in_dialog(qtbot, qapp, approver_dsn: str, cs_id: int):
    from app.ui.review_dialog import ReviewDialog
    from app.ui.tasks import TaskRunner

    session = Session.from_dsn(approver_dsn).open()
    runner = TaskRunner()
    ctx = SimpleNamespace(session=session, lang="vi", run_in_background=runner.submit)
    dialog = ReviewDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.finished_job, timeout=20_000):
        dialog.load_list()
    with qtbot.waitSignal(dialog.finished_job, timeout=20_000) as blocker:
        assert dialog.select(cs_id)
    assert blocker.args == ["ok"], dialog.status.text()
    assert dialog.current.id == cs_id and dialog.approve_button.isEnabled()
    assert "Không có lỗi" in dialog.problems.item(0).text()
    assert dialog.diff.rowCount() >= 1 and dialog.diff.item(0, 1).text() == "Diện tích"
    assert "m²" in dialog.diff.item(0, 3).text()
    assert_review_reads_well(dialog)
    # Old (red, dashed) and new (blue) geometry both drawn on the preview.
    img = dialog.preview_image
    from app.map.qtpaint import image_to_array

    bgra = image_to_array(img).astype(int)
    b, g, r = bgra[..., 0], bgra[..., 1], bgra[..., 2]
    assert ((r > 150) & (g < 90) & (b < 90)).sum() > 100  # the old outline, red
    assert ((b > 150) & (r < 60) & (g < 130)).sum() > 100  # the new outlines, blue
    dialog.comment.setPlainText("Đồng ý theo hồ sơ")
    with qtbot.waitSignal(dialog.finished_job, timeout=20_000) as blocker:
        click(dialog.approve_button)
    assert blocker.args == ["ok"], dialog.status.text()
    qtbot.waitUntil(lambda: dialog.busy == 0, timeout=20_000)
    new_ids = list(dialog.approved_ids)
    dialog.close()
    runner.shutdown()
    session.close()
    return new_ids


def assert_review_reads_well(dialog) -> None:
    """What the approver reads: the header's four lines all shown (it was squeezed to
    the first), parcels named as registers do ("45 tờ 1"), purposes with their areas,
    the children's purposes in Vietnamese, the list entry on two lines with the dossier."""
    cs = dialog.current
    lines = dialog.header.text().split("\n")
    assert len(lines) == 4 and lines[2] == "Số hồ sơ: HS-2026/0042"
    assert dialog.header.height() >= 4 * dialog.header.fontMetrics().lineSpacing()
    assert dialog.header.geometry().bottom() <= dialog.preview.geometry().top()
    rows = [
        [dialog.diff.item(r, c).text() for c in range(4)] for r in range(dialog.diff.rowCount())
    ]
    assert all(" tờ " in r[0] and "#" not in r[0] for r in rows), rows
    uses = next(r for r in rows if r[1] == "Loại đất")
    assert " m²" in uses[2] and uses[3] == "như cũ, chia theo diện tích"
    entry = dialog.list.item([c.id for c in dialog.change_sets].index(cs.id)).text()
    assert entry.startswith(f"#{cs.id} ") and "HS-2026/0042" in entry.split("\n")[0]
    assert entry.count("\n") == 1 and dialog.list.wordWrap()


def test_review_differences_name_fields_in_vietnamese_with_units(qtbot, qapp):
    from app.ui.review_dialog import ReviewDialog

    install_language(qapp, "vi")
    dialog = ReviewDialog(SimpleNamespace(session=None, lang="vi", run_in_background=None))
    qtbot.addWidget(dialog)
    old = {"parcel_id": 7, "parcel_number": 45, "sheet_number": 3, "area_legal": 1234.5,
           "land_uses": [{"code": "ONT", "area": 1234.5}]}  # fmt: skip
    dialog._fill_diff([{"item_id": 1, "op": "attributes", "old": [old], "new": [], "diff": [
        {"field": "address", "old": "Ấp 1", "new": "Ấp Tân Lập"},
        {"field": "area_legal", "old": 1234.5, "new": 1240},
        {"field": "land_uses", "old": [{"code": "ONT", "area": 1234.5}],
         "new": [{"code": "CLN", "area": 1240.0}]},
    ]}])  # fmt: skip
    rows = [
        [dialog.diff.item(r, c).text() for c in range(4)] for r in range(dialog.diff.rowCount())
    ]
    assert rows == [
        ["45 tờ 3", "Diện tích", "1.234,5 m²", "—"],
        ["45 tờ 3", "Loại đất", "ONT 1.234,5 m²", "như cũ, chia theo diện tích"],
        ["45 tờ 3", "Địa chỉ", "Ấp 1", "Ấp Tân Lập"],
        ["45 tờ 3", "Diện tích pháp lý", "1.234,5 m²", "1.240,0 m²"],
        ["45 tờ 3", "Loại đất", "ONT 1.234,5 m²", "CLN 1.240,0 m²"],
    ]


def check_applied(demo_db, cs_id: int, parents: list[int], new_ids: list[int], before):
    with psycopg.connect(demo_db) as conn:
        rows = conn.execute(
            "SELECT id, retired_at IS NULL, national_id FROM cad.parcel WHERE id = ANY(%s) "
            "ORDER BY id",
            (new_ids,),
        ).fetchall()
        assert [r[0] for r in rows] == sorted(new_ids)
        assert all(r[1] and r[2] for r in rows)  # current, with a national parcel ID
        retired = conn.execute(
            "SELECT count(*) FROM cad.parcel WHERE id = ANY(%s) AND retired_at IS NOT NULL",
            (parents,),
        ).fetchone()[0]
        assert retired == len(parents)
        lineage = conn.execute(
            "SELECT parent_id, child_id FROM cad.parcel_lineage WHERE mutation_id = %s",
            (cs_id,),
        ).fetchall()
        assert sorted(lineage) == sorted((p, c) for p in parents for c in new_ids)
        status = conn.execute("SELECT status FROM cad.mutation WHERE id = %s", (cs_id,))
        assert status.fetchone()[0] == "da_duyet"
        for p in parents:  # as of before the approval the parent was in force
            then = conn.execute("SELECT count(*) FROM hist.parcel_as_of(%s, %s)", (p, before))
            assert then.fetchone()[0] == 1
            now = conn.execute("SELECT count(*) FROM hist.parcel_as_of(%s, now())", (p,))
            assert now.fetchone()[0] == 0
        audited = conn.execute(
            "SELECT count(*) FILTER (WHERE action = 'INSERT' AND row_key->>'id' = ANY(%s)), "
            "count(*) FILTER (WHERE action = 'UPDATE' AND row_key->>'id' = ANY(%s)) "
            "FROM audit.log WHERE table_name = 'cad.parcel' AND change_set = %s",
            ([str(i) for i in new_ids], [str(i) for i in parents], cs_id),
        ).fetchone()
        assert audited[0] == len(new_ids) and audited[1] >= len(parents)


def check_drafts_are_an_overlay(qtbot, window, panel, part, parcel_id: int) -> None:
    """With a change set open and no editing tool: no tool occupies the canvas, the draft
    is painted by the overlay (a pixel inside it is the map blended with the draft fill),
    the select tool selects with its own cursor, and closing the dock takes the drafts off
    the map (showing it again brings them back)."""
    from app.ui.edit_tools import DRAFT_FILL

    canvas = window.canvas
    assert canvas.map_tool is None and panel.tool is None
    assert panel.overlay in canvas.overlays
    inside = part.buffer(-1.0).representative_point()
    u, v = px(canvas, inside.x, inside.y).toTuple()
    canvas.repaint()
    with_draft = canvas.grab().toImage().pixelColor(u, v)
    canvas.overlays.remove(panel.overlay)
    canvas.repaint()
    base = canvas.grab().toImage().pixelColor(u, v)
    canvas.overlays.append(panel.overlay)
    a = DRAFT_FILL.alphaF()
    for got, under, fill in (
        (with_draft.red(), base.red(), DRAFT_FILL.red()),
        (with_draft.green(), base.green(), DRAFT_FILL.green()),
        (with_draft.blue(), base.blue(), DRAFT_FILL.blue()),
    ):
        assert abs(got - (under * (1 - a) + fill * a)) <= 3, (with_draft.name(), base.name())
    assert with_draft != base
    # The canvas's own tools work: select picks the parcel under the click, arrow cursor.
    window.canvas.set_tool("select")
    assert canvas.cursor().shape() == Qt.CursorShape.ArrowCursor
    canvas.set_selection([])
    click_map(canvas, inside.x, inside.y)
    qtbot.waitUntil(lambda: canvas.selection == [parcel_id], timeout=5_000)
    canvas.set_tool("pan")
    assert canvas.cursor().shape() == Qt.CursorShape.OpenHandCursor
    # Closing the editor dock takes the drafts off the map; showing it brings them back.
    window.edit_dock.close()
    assert panel.overlay not in canvas.overlays
    canvas.repaint()
    assert canvas.grab().toImage().pixelColor(u, v) == base
    window.plugin_actions["cadastral.draft_mutation"].trigger()
    assert panel.overlay in canvas.overlays and canvas.map_tool is None


# -- split ----------------------------------------------------------------------------------
def test_clerk_splits_with_the_mouse_and_an_approver_approves(
    qtbot, qapp, demo_db, demo_parcels, people
):
    parcel = demo_parcels.geoms[demo_parcels.split]
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        assert window.plugin_actions["cadastral.split"].isEnabled()
        assert not window.plugin_actions["cadastral.review"].isEnabled()  # not an approver
        show_area(qtbot, window, parcel)
        panel = open_change_set(qtbot, window, "tach_thua", "Chia thừa kế")
        window.plugin_actions["cadastral.split"].trigger()
        canvas = window.canvas
        assert type(canvas.map_tool).__name__ == "SplitTool", panel.last_message
        qtbot.waitUntil(lambda: not panel.fetching, timeout=20_000)  # neighbours to snap to
        assert demo_parcels.split in panel.session.parcels
        # A line through the centroid, across the short side, ending 3 m outside.
        rect = parcel.minimum_rotated_rectangle
        c = parcel.centroid
        edges = list(zip(rect.exterior.coords[:-1], rect.exterior.coords[1:], strict=True))
        (a, b) = max(edges, key=lambda e: shapely.LineString(e).length)
        dx, dy = b[0] - a[0], b[1] - a[1]
        L = (dx * dx + dy * dy) ** 0.5
        nx, ny = -dy / L, dx / L  # across the long side
        reach = max(shapely.LineString(e).length for e in edges) + 3
        p0 = (c.x - nx * reach, c.y - ny * reach)
        p1 = (c.x + nx * reach, c.y + ny * reach)
        line = shapely.LineString([p0, p1])
        click_map(canvas, *p0)
        click_map(canvas, *p1)
        assert len(canvas.map_tool.points) == 2
        canvas.set_selection([demo_parcels.split])
        assert run_panel(qtbot, panel, lambda: QTest.keyClick(canvas, Qt.Key.Key_Return)) == "ok", (
            panel.last_message
        )
        label = registered_label(demo_db, demo_parcels.split)
        assert panel.last_message == f"Đã lập tách thửa {label}"  # as registers name it
        assert f"thửa {label} → " in panel.items_list.item(0).text()
        assert " m²; " in panel.items_list.item(0).text()
        assert not panel.problems_list.isVisible()  # no problem: the list makes room
        assert panel.items_list.count() == 1
        drafted = panel.overlay.drafted
        assert len(drafted) == 2
        assert shapely.union_all(drafted).symmetric_difference(parcel).area < 0.05
        assert all(part.intersects(line) for part in drafted)
        # The drafted parts are drawn on the map (green outline on the screen).
        grab = canvas.grab().toImage()
        u, v = px(canvas, *shapely.get_coordinates(drafted[0])[0]).toTuple()
        near = {grab.pixelColor(u + i, v + j).name() for i in range(-2, 3) for j in range(-2, 3)}
        assert "#2e7d32" in near
        check_drafts_are_an_overlay(qtbot, window, panel, drafted[0], demo_parcels.split)
        before = dt.datetime.now(dt.UTC)
        assert run_panel(qtbot, panel, lambda: click(panel.submit_button)) == "ok", (
            panel.last_message
        )
        assert panel.session.status == "da_nop"
        assert "đã trình duyệt" in panel.last_message.lower() or "trình" in panel.last_message
        cs_id = panel.session.change_set_id
    finally:
        window.close()
    new_ids = approve_in_dialog(qtbot, qapp, people.approver.dsn, cs_id)
    assert len(new_ids) == 2
    check_applied(demo_db, cs_id, [demo_parcels.split], new_ids, before)


# -- merge ----------------------------------------------------------------------------------
def test_clerk_merges_two_parcels_picked_with_shift_click(
    qtbot, qapp, demo_db, demo_parcels, people
):
    a, b = (demo_parcels.geoms[i] for i in demo_parcels.merge)
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        show_area(qtbot, window, shapely.union_all([a, b]), res=0.15)
        panel = open_change_set(qtbot, window, "hop_thua", "Hợp thửa theo đơn")
        window.plugin_actions["cadastral.merge"].trigger()
        canvas = window.canvas
        pa, pb = a.representative_point(), b.representative_point()
        click_map(canvas, pa.x, pa.y)
        click_map(canvas, pb.x, pb.y, shift=True)
        assert canvas.selection == demo_parcels.merge
        assert run_panel(qtbot, panel, lambda: QTest.keyClick(canvas, Qt.Key.Key_Return)) == "ok", (
            panel.last_message
        )
        assert panel.items_list.count() == 1, panel.last_message
        (merged,) = panel.overlay.drafted
        assert merged.symmetric_difference(shapely.union_all([a, b])).area < 0.05
        before = dt.datetime.now(dt.UTC)
        assert run_panel(qtbot, panel, lambda: click(panel.submit_button)) == "ok", (
            panel.last_message
        )
        cs_id = panel.session.change_set_id
    finally:
        window.close()
    new_ids = approve_in_dialog(qtbot, qapp, people.approver.dsn, cs_id)
    assert len(new_ids) == 1
    check_applied(demo_db, cs_id, demo_parcels.merge, new_ids, before)


# -- bad input ------------------------------------------------------------------------------
def test_a_split_line_not_crossing_the_parcel_says_so_and_drafts_nothing(
    qtbot, qapp, demo_db, demo_parcels, people
):
    parcel = demo_parcels.geoms[demo_parcels.other]
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        show_area(qtbot, window, parcel)
        panel = open_change_set(qtbot, window, "tach_thua", "Thử đường cắt sai")
        canvas = window.canvas
        canvas.set_selection([demo_parcels.other])
        window.plugin_actions["cadastral.split"].trigger()
        inner = parcel.buffer(-3)  # a line wholly inside: it crosses no boundary
        c = inner.representative_point()
        for x, y in ((c.x - 1.5, c.y), (c.x + 1.5, c.y)):
            click_map(canvas, x, y)
        QTest.keyClick(canvas, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: panel.busy == 0, timeout=20_000)
        assert "không cắt qua thửa" in panel.message_label.text()
        assert "b00020" in panel.message_label.styleSheet()  # shown as an error
        assert panel.items_list.count() == 0 and not panel.overlay.drafted
        assert type(canvas.map_tool).__name__ == "SplitTool"  # still drawing
        QTest.keyClick(canvas, Qt.Key.Key_Escape)
        assert canvas.map_tool is None and panel.tool is None
        # A self-intersecting ring (bow-tie) for a new parcel: refused with its place.
        window.plugin_actions["cadastral.new_parcel"].trigger()
        for dx, dy in ((-2, -2), (2, 2), (2, -2), (-2, 2)):
            click_map(canvas, c.x + dx, c.y + dy)
        QTest.keyClick(canvas, Qt.Key.Key_Return)
        assert "tự cắt" in panel.message_label.text()
        crossing = panel.overlay.problem_location
        assert crossing is not None and crossing.distance(c) < 0.2  # the crossing point
        assert panel.items_list.count() == 0 and panel.busy == 0
        with psycopg.connect(demo_db) as conn:
            n = conn.execute(
                "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s",
                (panel.session.change_set_id,),
            ).fetchone()[0]
        assert n == 0
    finally:
        window.close()


def test_a_viewer_gets_no_edit_actions_and_the_store_refuses_them(
    qtbot, qapp, demo_db, demo_parcels, people
):
    from app.edit import changeset

    window = open_window(qtbot, qapp, people.viewer.dsn)
    try:
        acts = window.plugin_actions
        for name in ("draft_mutation", "split", "merge", "reshape", "new_parcel", "review"):
            assert not acts[f"cadastral.{name}"].isEnabled(), name
        assert acts["cadastral.measure_distance"].isEnabled()
    finally:
        window.close()
    with psycopg.connect(people.viewer.dsn, autocommit=True) as conn:
        with pytest.raises(changeset.PermissionDenied) as err:
            changeset.open_change_set(conn, "tach_thua", "Không được phép")
        assert err.value.sqlstate == "42501"
        assert conn.execute("SELECT count(*) FROM cad.mutation WHERE reason = %s",
                            ("Không được phép",)).fetchone()[0] == 0  # fmt: skip


# -- boundary edit, measuring, problems on the map, the author's own approval ---------------
def test_dragging_a_shared_vertex_moves_both_parcels_with_undo_redo_and_drafts_a_reshape(
    qtbot, qapp, demo_db, demo_parcels, people
):
    from app.edit import geometry as g

    parcel = demo_parcels.geoms[demo_parcels.other]
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        show_area(qtbot, window, parcel)
        panel = open_change_set(qtbot, window, "dinh_chinh_ranh_gioi", "Đo đạc lại")
        canvas = window.canvas
        canvas.set_selection([demo_parcels.other])
        with qtbot.waitSignal(panel.finished, timeout=20_000):
            window.plugin_actions["cadastral.reshape"].trigger()
        tool = canvas.map_tool
        assert type(tool).__name__ == "VertexTool" and tool.target == demo_parcels.other
        # A vertex the parcel shares with a neighbour (within 1 mm), moved 0.6 m inwards.
        geoms = panel.session.stack.state
        shared = None
        for ref, xy in g.vertex_refs(geoms[tool.target]):
            owners = [k for k, geom in geoms.items() if k != tool.target
                      and shapely.Point(xy).distance(geom.boundary) < 0.001]  # fmt: skip
            if owners:
                shared, neighbour = (ref, xy), owners[0]
                break
        assert shared is not None
        ref, (vx, vy) = shared
        c = parcel.centroid
        d = ((c.x - vx) ** 2 + (c.y - vy) ** 2) ** 0.5
        to = (vx + (c.x - vx) / d * 0.6, vy + (c.y - vy) / d * 0.6)
        panel.snap_spin.setValue(2)  # 0.2 m: the drop point stays where it is dropped
        assert tool.snap_px == 2
        rows_before = panel.corner_table.rowCount()
        QTest.mouseMove(canvas, px(canvas, vx, vy))
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         px(canvas, vx, vy))  # fmt: skip
        QTest.mouseMove(canvas, px(canvas, *to))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           px(canvas, *to))  # fmt: skip
        changed = panel.session.changed()
        assert tool.target in changed and neighbour in changed, panel.last_message
        moved = shapely.get_coordinates(changed[tool.target][1])
        assert min(abs(x - to[0]) + abs(y - to[1]) for x, y in moved) < RES  # to the pixel
        # The table follows the edit (T-junction vertices of neighbours may be added).
        rows = panel.corner_table.rowCount()
        assert rows == len(g.corner_table(changed[tool.target][1])) >= rows_before
        shown = {panel.corner_table.item(r, 1).text() for r in range(rows)}
        landed = min(moved, key=lambda p: abs(p[0] - to[0]) + abs(p[1] - to[1]))
        assert format_float(landed[1], "vi", 3) in shown  # X = northing, to the mm
        QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert panel.session.changed() == {}
        QTest.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
        assert set(panel.session.changed()) >= {tool.target, neighbour}
        assert run_panel(qtbot, panel, lambda: QTest.keyClick(canvas, Qt.Key.Key_Return)) == "ok"
        assert panel.items_list.count() == 1, [(p.code, p.message) for p in panel.session.problems]
        cs = panel.session.change_set
        assert cs.items[0].op == "reshape"
        assert set(cs.items[0].parcel_ids) >= {demo_parcels.other, neighbour}
        # Removing the item leaves an empty change set.
        panel.items_list.setCurrentRow(0)
        assert run_panel(qtbot, panel, lambda: click(panel.remove_button)) == "ok"
        assert panel.items_list.count() == 0
    finally:
        window.close()


def test_measuring_with_a_typed_vn2000_point_and_a_click(qtbot, qapp, demo_parcels, people):
    parcel = demo_parcels.geoms[demo_parcels.other]
    window = open_window(qtbot, qapp, people.viewer.dsn)  # measuring needs no change set
    try:
        show_area(qtbot, window, parcel)
        window.plugin_actions["cadastral.measure_distance"].trigger()
        panel, canvas = window.edit_panel, window.canvas
        c = parcel.centroid
        panel.coord_edit.setText(f"{c.y:.2f}; {c.x:.2f}".replace(".", ","))  # X north; Y east
        QTest.keyClick(panel.coord_edit, Qt.Key.Key_Return)
        assert canvas.map_tool.points == [(round(c.x, 2), round(c.y, 2))]
        # 3 m east and 4 m north, far from any vertex or edge? Snapping may move it: the
        # result is the distance to where the point landed.
        QTest.mouseMove(canvas, px(canvas, c.x + 3, c.y + 4))
        click_map(canvas, c.x + 3, c.y + 4)
        (x1, y1) = canvas.map_tool.points[1]
        QTest.keyClick(canvas, Qt.Key.Key_Return)
        d = ((x1 - round(c.x, 2)) ** 2 + (y1 - round(c.y, 2)) ** 2) ** 0.5
        assert panel.last_message == f"Khoảng cách {format_float(d, 'vi', 2)} m"
        # Area: two clicks and a double-click on the third corner finish the ring.
        panel.snap_spin.setValue(0)
        window.plugin_actions["cadastral.measure_area"].trigger()
        assert canvas.map_tool.snap_px == 0
        click_map(canvas, c.x, c.y)
        click_map(canvas, c.x + 10, c.y)
        QTest.mouseDClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                          px(canvas, c.x + 10, c.y + 10))  # fmt: skip
        assert canvas.map_tool.value == pytest.approx(50.0, abs=2.5)  # to the pixel (0.1 m)
        assert panel.last_message.startswith("Diện tích ") and " m² — chu vi " in panel.last_message
        panel.coord_edit.setText("547980,25 1316443,47")  # swapped
        QTest.keyClick(panel.coord_edit, Qt.Key.Key_Return)
        assert "ngược X và Y" in panel.message_label.text()
    finally:
        window.close()


def test_a_store_problem_is_listed_and_shown_on_the_map(qtbot, qapp, demo_db, demo_parcels, people):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    parcel = demo_parcels.geoms[demo_parcels.other]
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        show_area(qtbot, window, parcel)
        panel = open_change_set(qtbot, window, "thua_moi", "Thửa mới chồng lấn")
        canvas = window.canvas
        window.plugin_actions["cadastral.new_parcel"].trigger()
        qtbot.waitUntil(lambda: not panel.fetching, timeout=20_000)
        c = parcel.representative_point()  # a 4 × 4 m square inside a current parcel
        corners = [(c.x - 2, c.y - 2), (c.x + 2, c.y - 2), (c.x + 2, c.y + 2), (c.x - 2, c.y + 2)]
        for x, y in corners:
            click_map(canvas, x, y)

        def fill_dialog() -> None:
            dialog = QApplication.activeModalWidget()
            dialog.land_use.setText("ONT")
            dialog.accept()

        QTimer.singleShot(50, fill_dialog)
        assert run_panel(qtbot, panel, lambda: QTest.keyClick(canvas, Qt.Key.Key_Return)) == "ok"
        assert panel.items_list.count() == 0  # refused by the store: nothing kept
        assert "Chưa lưu" in panel.message_label.text()
        problems = [panel.problems_list.item(i) for i in range(panel.problems_list.count())]
        assert any("chồng lấn" in it.text() for it in problems)
        item = next(it for it in problems if "chồng lấn" in it.text())
        panel.problems_list.itemClicked.emit(item)
        loc = panel.overlay.problem_location
        assert loc is not None and loc.distance(parcel) < 0.01
        canvas.repaint()
        grab = canvas.grab().toImage()
        u, v = px(canvas, loc.x, loc.y).toTuple()
        ring = {grab.pixelColor(u + 9, v + j).name() for j in range(-2, 3)}
        assert "#ff1744" in ring  # the red marker around the problem's place
    finally:
        window.close()


def test_the_author_cannot_approve_their_own_change_set_in_the_dialog(
    qtbot, qapp, demo_db, demo_parcels, person_factory
):
    from app.edit import changeset, geometry
    from app.ui.review_dialog import ReviewDialog
    from app.ui.tasks import TaskRunner

    both = person_factory(
        demo_db, rights={"cadastral": ["editor", "approver"]}, communes=[demo_parcels.commune]
    )
    with psycopg.connect(demo_db) as conn:
        pid, version, wkb = conn.execute(
            "SELECT id, version, ST_AsBinary(geom) FROM cad.parcel WHERE retired_at IS NULL "
            "AND commune_id = %s AND ST_NumGeometries(geom) = 1 AND id <> ALL(%s) "
            "ORDER BY id DESC LIMIT 1",
            (demo_parcels.commune, [demo_parcels.other, *demo_parcels.merge]),
        ).fetchone()
    geom = shapely.from_wkb(bytes(wkb))
    minx, miny, maxx, maxy = geom.bounds
    parts = geometry.split_polygon(
        geom, [((minx + maxx) / 2, miny - 1), ((minx + maxx) / 2, maxy + 1)]
    )
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE sys.account SET full_name = 'Nguyễn Thị Lan', "
            "unit = 'Văn phòng đăng ký đất đai tỉnh' WHERE role_name = %s",
            (both.role,),
        )
    with psycopg.connect(both.dsn, autocommit=True) as conn:
        cs = changeset.open_change_set(conn, "tach_thua", "Tự duyệt")
        assert changeset.draft_split(conn, cs, pid, version, parts) == []
        changeset.submit(conn, cs)
    session = Session.from_dsn(both.dsn).open()
    runner = TaskRunner()
    ctx = SimpleNamespace(session=session, lang="vi", run_in_background=runner.submit)
    dialog = ReviewDialog(ctx)
    qtbot.addWidget(dialog)
    try:
        with qtbot.waitSignal(dialog.finished_job, timeout=20_000):
            dialog.load_list()
        with qtbot.waitSignal(dialog.finished_job, timeout=20_000):
            assert dialog.select(cs)
        # The author by name and unit, the role kept in parentheses (0021).
        who = f"Nguyễn Thị Lan — Văn phòng đăng ký đất đai tỉnh ({both.role})"
        assert f"Người lập: {who}" in dialog.header.text()
        assert who in dialog.list.currentItem().text()
        with qtbot.waitSignal(dialog.finished_job, timeout=20_000) as blocker:
            click(dialog.approve_button)
        assert blocker.args == ["error"]
        assert "tự phê duyệt" in dialog.status.text()
        with psycopg.connect(demo_db) as conn:
            assert conn.execute("SELECT status FROM cad.mutation WHERE id = %s",
                                (cs,)).fetchone()[0] == "da_nop"  # fmt: skip
            assert conn.execute("SELECT retired_at FROM cad.parcel WHERE id = %s",
                                (pid,)).fetchone()[0] is None  # fmt: skip
    finally:
        dialog.close()
        runner.shutdown()
        session.close()


class CountingConnection:
    """Counts statements sent (each one round trip on an autocommit connection)."""

    def __init__(self, conn) -> None:
        self.conn, self.statements = conn, 0

    def execute(self, *args, **kw):
        self.statements += 1
        return self.conn.execute(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_each_editor_action_costs_at_most_four_round_trips(demo_db, demo_parcels, people):
    """What the dock sends per action: the neighbourhood read and the draft, whose reply
    carries the change set (migration 0016), so no reload follows."""
    from app.edit.geometry import nearest_vertex
    from app.edit.session import EditSession, neighbourhood

    with psycopg.connect(people.clerk.dsn, autocommit=True) as raw:
        conn = CountingConnection(raw)
        s = EditSession()
        s.open(conn, "dinh_chinh_ranh_gioi", "Đếm lượt gửi", "")
        assert conn.statements == 1
        conn.statements = 0
        s.set_parcels(neighbourhood(conn, [demo_parcels.other]), [demo_parcels.other])
        geom = s.geometry(demo_parcels.other)
        x, y = shapely.get_coordinates(geom)[0]
        ref, _ = nearest_vertex(geom, x, y)
        c = geom.centroid
        s.move_vertex(demo_parcels.other, ref, (x + (c.x - x) * 0.01, y + (c.y - y) * 0.01))
        assert s.save_reshape(conn) == []
        # The draft's reply brought the change set with the new item: no reload.
        assert conn.statements == 2  # neighbourhood, draft (issue 5 allows 4)
        (item,) = s.change_set.items
        assert item.op == "reshape" and demo_parcels.other in item.parcel_ids
        # Every other editor action is one statement too.
        for action in (
            lambda: s.validate(conn),
            lambda: s.remove_item(conn, item.id),
            lambda: s.open(conn, "tach_thua", "Đếm lượt gửi 2", ""),
        ):
            conn.statements = 0
            action()
            assert conn.statements == 1
        assert s.change_set.items == [] and s.change_set.reason == "Đếm lượt gửi 2"


def registered_label(dsn: str, pid: int) -> str:
    """How the clerk knows the parcel: "45 tờ 1" (number, sheet)."""
    with psycopg.connect(dsn) as conn:
        n, sheet = conn.execute(
            "SELECT p.parcel_number, s.sheet_number FROM cad.parcel p "
            "JOIN cad.map_sheet s ON s.id = p.sheet_id WHERE p.id = %s",
            (pid,),
        ).fetchone()
    return f"{n} tờ {sheet}"


def test_an_attribute_change_of_the_selected_parcel_is_drafted(
    qtbot, qapp, demo_db, demo_parcels, people
):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    label = registered_label(demo_db, demo_parcels.other)

    parcel = demo_parcels.geoms[demo_parcels.other]
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        show_area(qtbot, window, parcel)
        panel = open_change_set(qtbot, window, "thay_doi_thuoc_tinh", "Đổi địa chỉ")
        window.canvas.set_selection([demo_parcels.other])
        # The corner table shows the store's coordinates to the millimetre, not the map's
        # centimetre ones: the parcel is read at full precision in the background.
        from app.edit.geometry import corner_table

        want = [
            (format_float(r.x_north, "vi", 3), format_float(r.y_east, "vi", 3))
            for r in corner_table(demo_parcels.geoms[demo_parcels.other])
        ]

        def shown():
            t = panel.corner_table
            return [(t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())]

        qtbot.waitUntil(lambda: shown() == want, timeout=10_000)

        def fill() -> None:
            dialog = QApplication.activeModalWidget()
            assert dialog.windowTitle() == f"Thuộc tính thửa {label}"
            dialog.address.setText("Ấp Tân Lập")
            dialog.accept()

        QTimer.singleShot(50, fill)
        assert run_panel(qtbot, panel, lambda: click(panel.tool_buttons["attributes"])) == "ok"
        assert panel.items_list.count() == 1, panel.last_message
        (item,) = panel.session.change_set.items
        assert item.op == "attributes" and item.parcel_ids == [demo_parcels.other]
        assert item.attributes == {"address": "Ấp Tân Lập"}
    finally:
        window.close()


def test_a_draft_change_set_is_continued_after_a_restart(qtbot, qapp, demo_parcels, people):
    from app.edit import changeset

    with psycopg.connect(people.clerk.dsn, autocommit=True) as conn:
        cs = changeset.open_change_set(conn, "chuyen_muc_dich", "Chuyển mục đích", "HS-7")
    window = open_window(qtbot, qapp, people.clerk.dsn)
    try:
        window.plugin_actions["cadastral.draft_mutation"].trigger()
        panel = window.edit_panel
        qtbot.waitUntil(lambda: panel.drafts_box.count() >= 1, timeout=20_000)
        assert panel.drafts_box.findData(cs) >= 0
        assert "Chuyển mục đích sử dụng" in panel.drafts_box.itemText(panel.drafts_box.findData(cs))
        panel.drafts_box.setCurrentIndex(panel.drafts_box.findData(cs))
        assert run_panel(qtbot, panel, lambda: click(panel.resume_button)) == "ok"
        assert panel.session.change_set_id == cs and panel.session.status == "nhap"
        assert panel.header.text().startswith(f"Biến động số {cs} — Chuyển mục đích sử dụng")
        assert panel.tool_buttons["split"].isEnabled()
    finally:
        window.close()


def test_an_active_tool_does_not_draw_the_drafts_a_second_time(qapp):
    """Drafts are the overlay's alone: a tool paints only its own marks (here none)."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from app.edit.session import EditSession
    from app.ui.edit_tools import SessionOverlay, SplitTool

    session = EditSession()
    overlay = SessionOverlay(session)
    overlay.drafted[:] = [shapely.box(0, 0, 10, 10)]
    tool = SplitTool(session)
    tool.overlay = overlay
    view = Viewport(5, 5, 0.1, 200, 200)

    def painted(fn) -> int:
        img = QImage(200, 200, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QColor(0, 0, 0, 0))
        p = QPainter(img)
        fn(p, view)
        p.end()
        return sum(
            img.pixelColor(x, y).alpha() > 0 for x in range(0, 200, 4) for y in range(0, 200, 4)
        )

    assert painted(overlay) > 600  # the 10 × 10 m draft: a quarter of the 20 × 20 m view
    assert painted(tool.paint) == 0


def test_the_map_toolbar_follows_and_ends_an_editing_tool(qtbot, qapp, demo_parcels, people):
    """While an editing tool has the map no navigation tool is shown checked; choosing
    one (Select) ends the editing tool, and the editor panel follows."""
    parcel = demo_parcels.geoms[demo_parcels.other]
    window = open_window(qtbot, qapp, people.viewer.dsn)
    try:
        show_area(qtbot, window, parcel)
        nav = [window.map_actions[f"map.{t}"] for t in ("pan", "identify", "select", "zoom")]
        assert [a.isChecked() for a in nav] == [True, False, False, False]
        window.plugin_actions["cadastral.measure_distance"].trigger()
        panel, canvas = window.edit_panel, window.canvas
        assert canvas.map_tool is not None and panel.tool is canvas.map_tool
        assert not any(a.isChecked() for a in nav)
        window.map_actions["map.select"].trigger()
        assert canvas.map_tool is None and panel.tool is None and canvas.tool == "select"
        assert [a.isChecked() for a in nav] == [False, False, True, False]
        # The select tool now works on the map: a click inside the parcel selects it.
        c = parcel.representative_point()
        click_map(canvas, c.x, c.y)
        qtbot.waitUntil(lambda: len(canvas.selection) == 1, timeout=5_000)
    finally:
        window.close()
