"""The main window off-screen against a real store (pytest-qt), and ``landrec demo``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import scratch_database
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from app.config import REPO_ROOT
from app.plugin import NOT_IMPLEMENTED_TIP, PluginRegistry
from app.ui.fonts import ensure_fonts
from app.ui.i18n import QM_FILE, TS_FILE, format_float, format_int, install_language, release_qm
from app.ui.main_window import MainWindow

PARCELS_A = 1_234  # enough to need a thousands separator: "1.234"

SEED = f"""
INSERT INTO ref.admin_unit (level, code, name, kind, valid_from)
VALUES ('province', '70', 'Bình Phước', 'tỉnh', '1997-01-01');
INSERT INTO ref.admin_unit (level, code, name, kind, parent_id, valid_from, valid_to)
SELECT 'commune', c, n, 'xã', (SELECT id FROM ref.admin_unit WHERE level = 'province'),
       f::date, t::date
FROM (VALUES ('25432', 'Tân Thành', '2025-07-01', NULL),
             ('25435', 'Tiến Hưng', '2025-07-01', NULL),
             ('25438', 'Tân Xuân', '2000-01-01', '2025-07-01')) v(c, n, f, t);
INSERT INTO cad.map_sheet (commune_id, sheet_number, scale, frame)
SELECT id, 1, 1000, ST_MakeEnvelope(500000, 1200000, 500500, 1200500, 9212)
FROM ref.admin_unit WHERE level = 'commune';
INSERT INTO cad.parcel (sheet_id, parcel_number, commune_id, geom, area_legal)
SELECT s.id, g, s.commune_id,
       ST_Multi(ST_MakeEnvelope(500000 + g, 1200000, 500000 + g + 0.5, 1200010, 9212)), 5.0
FROM cad.map_sheet s JOIN ref.admin_unit u ON u.id = s.commune_id,
     generate_series(1, {PARCELS_A}) g
WHERE u.code = '25432';
INSERT INTO cad.parcel (sheet_id, parcel_number, duplicate_seq, commune_id, geom)
SELECT s.id, 7, d, s.commune_id,
       ST_Multi(ST_MakeEnvelope(500000, 1200100 + d * 20, 500010, 1200110 + d * 20, 9212))
FROM cad.map_sheet s JOIN ref.admin_unit u ON u.id = s.commune_id,
     generate_series(0, 2) d
WHERE u.code = '25438';
"""


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ui_dsn(owner_dsn: str) -> Iterator[str]:
    """A database of its own in the session store: migrated, with a small province."""
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "landrec_ui") as dsn:
        migrate(dsn, srid=9212)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SEED)
        yield dsn


@pytest.fixture
def vi(qapp):
    ensure_fonts(qapp)
    assert install_language(qapp, "vi")
    yield
    install_language(qapp, "vi")


@pytest.fixture
def open_window(qtbot, vi):
    made: list[MainWindow] = []

    def make(dsn: str, lang: str = "vi", **kw) -> MainWindow:
        window = MainWindow(dsn, PluginRegistry().discover(entry_point_group=None), lang, **kw)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


def _address(dsn: str) -> str:
    p = conninfo_to_dict(dsn)
    return f"{p['user']}@{p['host']}:{p['port']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the store summary (app/store/summary.py) -----------------------------------------------
@pytest.mark.store
def test_summary_exact_estimated_and_missing_tables(ui_dsn):
    from app.store.summary import SUMMARY_TABLES, fetch_summary

    s = fetch_summary(ui_dsn)
    assert s.srid == 9212 and s.province == "Bình Phước"
    assert list(s.counts) == list(SUMMARY_TABLES)  # schema v1 has them all, in order
    assert s.counts["cad.parcel"] == PARCELS_A + 3 and not s.approximate

    with psycopg.connect(ui_dsn, autocommit=True) as conn:
        conn.execute("ANALYZE cad.parcel")
    s = fetch_summary(ui_dsn, exact_limit=100, tables=("cad.parcel", "no_such.table", "cad.nope"))
    assert list(s.counts) == ["cad.parcel"]  # tables that do not exist are skipped
    assert s.approximate == {"cad.parcel"}
    assert abs(s.counts["cad.parcel"] - (PARCELS_A + 3)) <= 5  # planner estimate


@pytest.mark.store
def test_summary_slow_count_falls_back_to_estimates(ui_dsn):
    from app.store.summary import fetch_summary

    with psycopg.connect(ui_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE VIEW public.slow_view AS "
            "SELECT g FROM generate_series(1, 3) g, pg_sleep(0.4) s"
        )
        conn.execute("ANALYZE cad.map_sheet")  # a never-analysed table has no estimate
    try:
        s = fetch_summary(
            ui_dsn, statement_timeout_ms=150, tables=("public.slow_view", "cad.map_sheet")
        )
        assert s.counts == {"cad.map_sheet": 3} and s.approximate == {"cad.map_sheet"}
    finally:
        with psycopg.connect(ui_dsn, autocommit=True) as conn:
            conn.execute("DROP VIEW public.slow_view")


@pytest.mark.store
def test_summary_skips_what_the_role_may_not_read(ui_dsn):
    from app.store.summary import fetch_summary

    role = f"landrec_ui_viewer_{os.getpid()}"
    with psycopg.connect(ui_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'Viewer-pw-2026!'")
        # Databases admit only lr_person members (0004); this role gets CONNECT alone.
        dbname = conn.info.dbname
        conn.execute(f'GRANT CONNECT ON DATABASE "{dbname}" TO {role}')
        conn.execute(f"GRANT USAGE ON SCHEMA cad TO {role}")
        conn.execute(f"GRANT SELECT ON cad.parcel TO {role}")
    dsn = make_conninfo(ui_dsn, user=role, password="Viewer-pw-2026!")
    try:
        # Row-level security (0006): without an account the readable table shows no rows.
        assert fetch_summary(dsn).counts == {"cad.parcel": 0}
        with psycopg.connect(ui_dsn, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, "
                "whole_province, must_change_password) "
                "VALUES (%s, %s, 'Người Xem Thử', 'Thử nghiệm', true, false)",
                (role, f"{os.getpid() % 10**12:012d}"),
            )
        s = fetch_summary(dsn)  # an account that reads the whole province
        assert s.user == role
        assert s.counts == {"cad.parcel": PARCELS_A + 3}  # no usage on ref, sys: skipped
        assert s.srid is None and s.province is None
    finally:
        with psycopg.connect(ui_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM sys.account WHERE role_name = %s", (role,))
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.store
def test_summary_errors_say_whether_to_retry(ui_dsn):
    from app.store.summary import StoreUnavailable, fetch_summary, ping

    with pytest.raises(StoreUnavailable) as refused:
        fetch_summary(f"host=127.0.0.1 port={_free_port()} user=x dbname=x")
    assert not refused.value.auth_failed
    with pytest.raises(StoreUnavailable) as denied:
        ping(make_conninfo(ui_dsn, user="nobody_ui_test", password="wrong"))
    assert denied.value.auth_failed
    assert ping(ui_dsn) == _address(ui_dsn)


# -- the window ------------------------------------------------------------------------------
@pytest.mark.store
def test_window_title_menus_status_and_counts(qtbot, open_window, ui_dsn):
    window = open_window(ui_dsn)
    assert window.windowTitle() == "LandRec — Hệ thống thông tin đất đai"
    qtbot.waitUntil(lambda: window.summary is not None, timeout=15_000)

    titles = window.menu_titles()
    assert titles[0] == "Tệp" and titles[-1] == "Trợ giúp"
    registry = window.registry
    plugin_menus = [m.title.vi for m in registry.menus() if m.parent is None]
    assert len(plugin_menus) == 8
    assert titles[1:-1] == plugin_menus
    assert {
        "Địa chính",
        "Giá đất",
        "Quy hoạch",
        "Thống kê, kiểm kê",
        "Hồ sơ quét",
        "Nhập xuất",
        "Quản trị",
    } <= set(plugin_menus)

    status = window.findChild(QLabel, "connectionState")
    assert status.text() == f"Đã kết nối: {_address(ui_dsn)}"
    user = window.findChild(QLabel, "signedInUser")
    assert user.text() == f"Người dùng: {conninfo_to_dict(ui_dsn)['user']}"

    panel = window.panel
    assert panel.values["province"].text() == "Bình Phước"
    assert panel.values["crs"].text() == "VN-2000 / TM-3 106°15′ (EPSG:9212)"
    assert panel.values["count:cad.parcel"].text() == format_int(PARCELS_A + 3, "vi") == "1.237"
    assert panel.values["count:ref.admin_unit"].text() == "4"
    assert panel.values["count:doc.document"].text() == "0"
    assert window.summary.counts["cad.map_sheet"] == 3
    assert window.summary.postgis_version


@pytest.mark.store
def test_unimplemented_actions_disabled_with_tooltip(qtbot, open_window, ui_dsn):
    window = open_window(ui_dsn)
    qtbot.waitUntil(lambda: window.connected is True, timeout=15_000)
    for decl in window.registry.actions():
        qa = window.plugin_actions[decl.id]
        if decl.implemented:
            assert qa.isEnabled(), decl.id
        else:
            assert not qa.isEnabled(), decl.id
            assert qa.toolTip() == NOT_IMPLEMENTED_TIP
    stats = window.plugin_actions["cadastral.stats_by_commune"]
    assert stats.text() == "Thống kê số thửa theo xã"
    assert window.menus["cadastral/reports"].menuAction().text() == "Báo cáo"


@pytest.mark.store
def test_commune_stats_dialog(qtbot, open_window, ui_dsn):
    from plugins.cadastral.views import CommuneStatsDialog

    window = open_window(ui_dsn)
    qtbot.waitUntil(lambda: window.connected is True, timeout=15_000)
    window.plugin_actions["cadastral.stats_by_commune"].trigger()
    dialog = window.findChild(CommuneStatsDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.rows is not None or dialog.error is not None, timeout=15_000)
    assert dialog.error is None
    by_code = {r.code: r for r in dialog.rows}
    assert by_code["25432"].parcels == PARCELS_A
    assert by_code["25435"].parcels == 0  # a commune without parcels is listed
    assert by_code["25438"].duplicates == 2 and not by_code["25438"].in_force
    table = dialog.table
    assert table.rowCount() == len(dialog.rows) + 1
    first = [table.item(0, c).text() for c in range(table.columnCount())]
    assert first[:3] == ["25432", "xã Tân Thành", "1.234"]
    assert first[3] == format_float(by_code["25432"].area_m2, "vi") == "6.170,0"
    total = [table.item(table.rowCount() - 1, c).text() for c in range(table.columnCount())]
    assert total[1] == "Tổng cộng" and total[2] == "1.237"
    assert "Tân Xuân (đơn vị cũ)" in dialog.as_tsv()
    dialog.close()


@pytest.mark.store
def test_about_dialog(qtbot, open_window, ui_dsn):
    import PySide6
    from PySide6.QtCore import qVersion

    window = open_window(ui_dsn)
    qtbot.waitUntil(lambda: window.summary is not None, timeout=15_000)
    dialog = window.show_about()
    text = dialog.details.text()
    assert qVersion() in text and PySide6.__version__ in text
    assert f"PostgreSQL {window.summary.server_version}" in text
    assert window.summary.postgis_version in text
    assert "Phiên bản LandRec" in text
    dialog.close()


def test_bad_dsn_shows_disconnected_without_freezing(qtbot, open_window):
    # A server that accepts TCP but never answers: the worker waits for connect_timeout
    # while the UI thread keeps processing events.
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        port = mute.getsockname()[1]
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(20)
        start = time.monotonic()
        window = open_window(f"host=127.0.0.1 port={port} user=nobody dbname=x connect_timeout=2")
        assert time.monotonic() - start < 1.0, "the window must not wait for the store"
        qtbot.waitUntil(lambda: window.connected is False, timeout=10_000)
        timer.stop()
    waited = time.monotonic() - start
    assert waited >= 1.5  # really was blocked in the worker for the connect timeout
    assert len(ticks) >= waited / 0.020 * 0.5, "the UI thread stalled while connecting"
    status = window.findChild(QLabel, "connectionState")
    assert status.text() == "Mất kết nối"
    assert "c62828" in status.styleSheet()  # red
    assert window.panel.state.isVisible() and "Không đọc được" in window.panel.state.text()
    assert not window.plugin_actions["cadastral.stats_by_commune"].isEnabled()


@pytest.mark.store
def test_refused_port_and_periodic_recheck(qtbot, open_window, ui_dsn):
    window = open_window(f"host=127.0.0.1 port={_free_port()} user=nobody dbname=x", recheck_ms=100)
    qtbot.waitUntil(lambda: window.connected is False, timeout=10_000)
    assert window.timer.isActive()  # not a login failure: keeps re-checking
    # The store comes back (here: the window is pointed at a live one): the re-check
    # notices and reads the summary again.
    window.dsn = ui_dsn
    qtbot.waitUntil(lambda: window.connected is True and window.summary is not None, timeout=10_000)
    assert window.findChild(QLabel, "connectionState").text().startswith("Đã kết nối: ")


@pytest.mark.store
def test_english_interface(qtbot, qapp, open_window, ui_dsn):
    install_language(qapp, "en")
    window = open_window(ui_dsn, lang="en")
    assert window.windowTitle() == "LandRec — Land information system"
    qtbot.waitUntil(lambda: window.summary is not None, timeout=15_000)
    titles = window.menu_titles()
    assert titles[0] == "File" and titles[1] == "Cadastre" and titles[-1] == "Help"
    assert window.findChild(QLabel, "connectionState").text().startswith("Connected: ")
    assert window.panel.values["count:cad.parcel"].text() == "1,237"


@pytest.mark.store
def test_refused_login_stops_automatic_rechecks(qtbot, open_window, ui_dsn):
    # Re-trying a refused login on a timer would lock the account (DESIGN P5).
    bad = make_conninfo(ui_dsn, user="nobody_ui_test", password="wrong")
    window = open_window(bad, recheck_ms=100)
    qtbot.waitUntil(lambda: window.connected is False, timeout=10_000)
    assert window.auth_refused
    assert not window.timer.isActive()
    assert "F5" in window.statusBar().currentMessage()


def test_plugin_contributions_reach_the_window(qtbot, vi):
    from PySide6.QtWidgets import QDockWidget

    from app.plugin import Action, AppContext, Dock, Menu, Plugin, Text

    seen = []

    def handler(ctx):
        seen.append(ctx)

    def factory(ctx):
        return QLabel(f"lang={ctx.lang}")

    registry = PluginRegistry()
    registry.register(
        Plugin(
            "extra",
            Text("Phân hệ thử", "Test subsystem"),
            menus=(Menu("extra", Text("Thử", "Test")),),
            actions=(
                Action("extra.go", "extra", Text("Chạy", "Run"), handler=handler),
                Action("extra.help", "help", Text("Hướng dẫn", "Guide"), handler=handler),
            ),
            docks=(Dock("extra.panel", Text("Bảng thử", "Test panel"), factory, visible=True),),
        )
    )
    window = MainWindow(f"host=127.0.0.1 port={_free_port()} user=x dbname=x", registry, "vi")
    qtbot.addWidget(window)
    assert window.menu_titles() == ["Tệp", "Thử", "Hiển thị", "Trợ giúp"]
    assert window.menus["help"].actions()[0].text() == "Hướng dẫn"
    dock = window.findChild(QDockWidget, "extra.panel")
    assert dock is not None and dock.widget().text() == "lang=vi"
    go = window.plugin_actions["extra.go"]
    window.connected = True
    window._apply_enable_state()
    assert go.isEnabled()  # no conditions declared
    go.trigger()
    assert len(seen) == 1 and isinstance(seen[0], AppContext) and seen[0].window is window
    window.close()


# -- translations ----------------------------------------------------------------------------
def test_translations_complete_and_compiled(tmp_path):
    root = ET.parse(TS_FILE).getroot()
    unfinished = [
        m.findtext("source")
        for m in root.iter("message")
        if m.find("translation").get("type") in ("unfinished", "obsolete", "vanished")
    ]
    assert not unfinished, f"translate these in {TS_FILE.name}: {unfinished}"
    fresh = tmp_path / "landrec_vi.qm"
    release_qm(TS_FILE, fresh)
    assert fresh.read_bytes() == QM_FILE.read_bytes(), "run: python -m app.ui.i18n release"


def test_every_ui_string_is_in_the_catalogue(tmp_path):
    ts = tmp_path / "check_vi.ts"
    ts.write_bytes(TS_FILE.read_bytes())
    sources = sorted(str(p) for p in (REPO_ROOT / "app" / "ui").glob("*.py"))
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    subprocess.run([str(lupdate), "-silent", "-no-obsolete", *sources, "-ts", str(ts)], check=True)
    new = [
        m.findtext("source")
        for m in ET.parse(ts).getroot().iter("message")
        if m.find("translation").get("type") == "unfinished"
    ]
    assert not new, f"new strings: run python -m app.ui.i18n update, then translate {new}"


# -- the commands ----------------------------------------------------------------------------
def _headless_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "LANDREC_LANG")
    }
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.mark.store
def test_demo_screenshot(tmp_path, ui_dsn, qapp):
    shot = tmp_path / "demo.png"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--dsn", ui_dsn, "--screenshot", str(shot)],
        cwd=REPO_ROOT,
        env=_headless_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 800, 7)}
    assert len(colours) > 20, "the screenshot is (nearly) uniform"
    # The status bar's left end is green text on grey ("Đã kết nối"), not the red badge.
    bar = [QImage.pixelColor(image, x, 790) for x in range(0, 300)]
    assert any(c.green() > 100 and c.red() < 80 for c in bar)


@pytest.mark.store
def test_without_screen_and_without_screenshot_exits_with_advice(ui_dsn):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "run", "--dsn", ui_dsn],
        cwd=REPO_ROOT,
        env=_headless_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--screenshot" in result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr


def test_qt_standard_buttons_speak_the_chosen_language(qapp):
    """Qt ships no Vietnamese catalogue for its own buttons: ours covers them."""
    from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

    sb = QDialogButtonBox.StandardButton
    wanted = sb.Ok | sb.Cancel | sb.Close | sb.Save | sb.Yes | sb.No

    def texts() -> set[str]:
        box = QDialogButtonBox(wanted)  # kept while its buttons are read
        return {b.text().replace("&", "") for b in box.buttons()}

    try:
        assert install_language(qapp, "vi")
        assert texts() == {"Đồng ý", "Hủy", "Đóng", "Lưu", "Có", "Không"}
        box = QMessageBox(QMessageBox.Icon.Question, "LandRec", "?", QMessageBox.StandardButton.Yes)
        assert box.button(QMessageBox.StandardButton.Yes).text().replace("&", "") == "Có"
        install_language(qapp, "en")
        assert texts() == {"OK", "Cancel", "Close", "Save", "Yes", "No"}
    finally:
        install_language(qapp, "vi")
