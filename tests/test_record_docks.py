"""The main window wires search, map and parcel panel together, as the signed-in person."""

from __future__ import annotations

import psycopg
import pytest
from PySide6.QtCore import Qt

from app.plugin import PluginRegistry
from app.session import Session
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.store


@pytest.fixture
def window(qtbot, demo_db, person_factory):
    clerk = person_factory(demo_db, {"cadastral": ["viewer"]}, whole_province=True)
    win = MainWindow(
        Session.from_dsn(clerk.dsn), PluginRegistry().discover(entry_point_group=None), "vi"
    )
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    yield win
    win.close()


def a_parcel(demo_db) -> tuple[int, str, int]:
    with psycopg.connect(demo_db) as conn:
        return conn.execute(
            "SELECT id, national_id, parcel_number FROM cad.parcel "
            "WHERE retired_at IS NULL ORDER BY id LIMIT 1"
        ).fetchone()


def test_search_result_shows_the_parcel_and_zooms_the_map(qtbot, window, demo_db):
    parcel_id, national_id, number = a_parcel(demo_db)
    qtbot.keyClicks(window.search_panel.edit, national_id)
    qtbot.waitUntil(lambda: window.search_panel.results.count() > 0, timeout=10_000)
    with qtbot.waitSignal(window.search_panel.parcelChosen, timeout=5_000) as chosen:
        qtbot.keyClick(window.search_panel.edit, Qt.Key.Key_Return)
    assert chosen.args == [parcel_id]
    qtbot.waitUntil(lambda: window.parcel_panel.details is not None, timeout=10_000)
    assert window.parcel_panel.parcel_id == parcel_id
    assert window.parcel_panel.details["parcel"]["parcel_number"] == number
    # The map went to the parcel: its national ID's point is inside the view.
    view = window.canvas.view
    assert view is not None and view.scale < 10_000


def test_identify_on_the_map_fills_the_parcel_panel(qtbot, window, demo_db):
    parcel_id, _, _ = a_parcel(demo_db)
    window.canvas.identified.emit(parcel_id)
    qtbot.waitUntil(lambda: window.parcel_panel.parcel_id == parcel_id, timeout=5_000)
    qtbot.waitUntil(lambda: window.parcel_panel.details is not None, timeout=10_000)
    assert window.parcel_panel.details["parcel"]["id"] == parcel_id


def test_session_link_state_reaches_the_status_bar(qtbot, window):
    from app.session import LinkState, StateChange

    qtbot.waitUntil(lambda: window.connected is True, timeout=10_000)
    label = window.connection_label
    # The session reports from its reconnect thread: the change must cross to the UI.
    import threading

    t = threading.Thread(
        target=window.link_changed.emit, args=(StateChange(LinkState.RECONNECTING, attempt=2),)
    )
    t.start()
    t.join()
    qtbot.waitUntil(lambda: window.connected is False, timeout=5_000)
    assert label.text() in ("Mất kết nối", "Disconnected")
    assert "2" in label.toolTip()
    window.link_changed.emit(StateChange(LinkState.CONNECTED))
    qtbot.waitUntil(lambda: window.connected is True, timeout=10_000)
    assert label.text().startswith(("Đã kết nối", "Connected"))


def test_double_clicking_a_scanned_document_opens_it_in_the_viewer(
    qtbot, demo_db, person_factory, tmp_path
):
    from app.dossier import samples
    from app.dossier.store import DossierStore
    from plugins.dossier.views import DossierViewer

    with psycopg.connect(demo_db) as conn:
        commune, parcel = conn.execute(
            "SELECT commune_id, id FROM cad.parcel WHERE retired_at IS NULL "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    clerk = person_factory(
        demo_db, {"cadastral": ["viewer"], "dossier": ["editor"]}, communes=[commune]
    )
    path = samples.write(tmp_path / "bản vẽ thửa.tif", samples.tiff_g4(2))
    with DossierStore.connect(clerk.dsn) as st:
        doc_id = st.create_document(
            st.upload(path).sha256, {"doc_type": "ban_ve"}, [{"parcel_id": parcel}]
        )
    win = MainWindow(
        Session.from_dsn(clerk.dsn), PluginRegistry().discover(entry_point_group=None), "vi"
    )
    qtbot.addWidget(win)
    win.show()
    try:
        win.parcel_panel.show_parcel(parcel)
        table = win.parcel_panel.documents
        qtbot.waitUntil(lambda: win.parcel_panel.details is not None, timeout=10_000)
        ids = [d["id"] for d in win.parcel_panel.details["documents"]]
        assert doc_id in ids and table.rowCount() == len(ids)
        row = ids.index(doc_id)
        with qtbot.waitSignal(win.parcel_panel.documentRequested, timeout=2_000) as asked:
            table.cellDoubleClicked.emit(row, 0)
        assert asked.args == [doc_id]
        viewer = win.document_viewer.findChild(DossierViewer)
        qtbot.waitUntil(lambda: viewer.doc is not None, timeout=10_000)
        assert viewer.doc.page_count == 2
        win.document_viewer.close()
    finally:
        win.close()
