"""SearchPanel and ParcelPanel off-screen with a real viewer role on the demo province."""

from __future__ import annotations

import psycopg
import pytest
from PySide6.QtCore import Qt

from app.store.parcel_details import fmt_area
from app.ui.parcel_panel import ParcelPanel
from app.ui.search_panel import SearchPanel
from app.ui.tasks import TaskRunner

VIEW = {
    "cadastral": ["viewer"],
    "land_price": ["viewer"],
    "planning": ["viewer"],
    "dossier": ["viewer"],
}


@pytest.fixture
def viewer(demo_db, person_factory):
    return person_factory(demo_db, rights=VIEW, whole_province=True)


@pytest.fixture
def runner(qapp):
    r = TaskRunner()
    yield r
    r.shutdown()


def test_typing_finds_rows_and_enter_chooses(qtbot, viewer, runner, demo_db):
    panel = SearchPanel(lambda: viewer.dsn, runner)
    qtbot.addWidget(panel)
    qtbot.keyClicks(panel.edit, "nguyen van")
    qtbot.waitUntil(lambda: panel.results.count() > 0, timeout=10_000)
    first = panel.results.item(0).data(Qt.ItemDataRole.UserRole)
    assert first.kind == "owner" and first.label.startswith("Nguyễn Văn")
    assert "Chủ sử dụng" in panel.results.item(0).text() or "Owner" in panel.results.item(0).text()
    zooms: list[tuple] = []
    panel.zoomRequested.connect(lambda *box: zooms.append(box))
    with qtbot.waitSignal(panel.parcelChosen, timeout=5_000) as blocker:
        qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    assert blocker.args == [first.parcel_id]
    assert zooms == [first.bbox]
    with psycopg.connect(demo_db) as conn:
        owners = {
            r[0]
            for r in conn.execute(
                "SELECT pa.full_name FROM cad.land_right r JOIN cad.party pa ON pa.id = r.party_id "
                "WHERE r.parcel_id = %s UNION SELECT mp.full_name FROM cad.land_right r "
                "JOIN cad.party_member m ON m.group_id = r.party_id "
                "JOIN cad.party mp ON mp.id = m.member_id "
                "WHERE r.parcel_id = %s",
                (first.parcel_id, first.parcel_id),
            )
        }
    assert first.label in owners


def test_show_parcel_fills_tabs(qtbot, viewer, runner, demo_db):
    with psycopg.connect(demo_db) as conn:
        pid, number, area, serial = conn.execute(
            "SELECT p.id, p.parcel_number, p.area_legal, c.serial FROM cad.parcel p "
            "JOIN cad.certificate_parcel cp ON cp.parcel_id = p.id "
            "JOIN cad.certificate c ON c.id = cp.certificate_id "
            "JOIN price.parcel_position pp ON pp.parcel_id = p.id "
            "WHERE p.retired_at IS NULL ORDER BY p.id LIMIT 1"
        ).fetchone()
    panel = ParcelPanel(lambda: viewer.dsn, runner)
    qtbot.addWidget(panel)
    panel.show_parcel(pid)
    qtbot.waitUntil(lambda: panel.details is not None, timeout=10_000)
    assert panel.fields["number"].text() == str(number)
    assert panel.fields["area_legal"].text() == fmt_area(area)
    assert "," in panel.fields["area_legal"].text() and panel.fields["area_legal"].text().endswith(
        " m²"
    )
    assert panel.certs.item(0, 0).text() == serial
    assert panel.holders.rowCount() >= 1
    masked = [panel.holders.item(r, 3).text() for r in range(panel.holders.rowCount())]
    assert all(m == "" or "*" in m for m in masked)
    assert not panel.reveal_button.isVisible()  # a viewer may not read ID numbers
    assert panel.price_fields["unit_price"].text().split(" (")[0].endswith(" đ/m²")
    assert panel.tabs.count() == 9
    assert panel.as_of.displayFormat() == "dd/MM/yyyy"
    assert (
        panel.as_of_label.text().startswith(f"Thửa {number}")
        or str(number) in panel.as_of_label.text()
    )
