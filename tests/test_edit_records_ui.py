"""The editor dock's record forms end to end (pytest-qt, off-screen, real roles): a clerk
drafts a transfer of rights, a mortgage, its release and a certificate through the forms
with real mouse and key events; an approver reads them in the review dialog and approves;
the records (and the clerk's parcel panel) then show the result. Bad input — shares adding
up to 0,9, a malformed serial — is refused before anything is sent."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import psycopg
import psycopg.conninfo
import psycopg.sql
import pytest
from conftest import busiest_communes, database_copy
from PySide6.QtCore import QEvent, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_edit_ui import click, click_map, open_window, run_panel, show_area

pytestmark = pytest.mark.store


# --- a private copy of the demo database and its people (module-wide: one window) ---------
@pytest.fixture(scope="module")
def db(demo_db: str) -> Iterator[str]:
    with database_copy(demo_db, "rui") as dsn:
        yield dsn


def owner(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def make_person(dsn: str, rights: dict[str, list[str]], commune: int, name: str) -> str:
    """A LOGIN role with its account, rights and area, as tests/conftest.person_factory
    makes them (module-scoped here so that one clerk window serves every test)."""
    role, password = f"p_{uuid.uuid4().hex[:10]}", f"Tt-{uuid.uuid4().hex[:12]}!9"
    q = psycopg.sql
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            q.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE lr_person").format(
                q.Identifier(role), q.Literal(password)
            )
        )
        conn.execute(
            "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, "
            "whole_province, must_change_password, password_changed_at) "
            "VALUES (%s, %s, %s, 'Văn phòng đăng ký đất đai', false, false, now())",
            (role, f"{uuid.uuid4().int % 10**12:012d}", name),
        )
        for subsystem, kinds in rights.items():
            for kind in kinds:
                conn.execute(
                    "INSERT INTO sys.account_right VALUES (%s, %s, %s)", (role, subsystem, kind)
                )
                conn.execute(
                    q.SQL("GRANT {} TO {}").format(
                        q.Identifier(f"lr_{subsystem}_{kind}"), q.Identifier(role)
                    )
                )
        conn.execute("INSERT INTO sys.account_area VALUES (%s, %s)", (role, commune))
    return psycopg.conninfo.make_conninfo(dsn, user=role, password=password)


@pytest.fixture(scope="module")
def world(db: str) -> Iterator[SimpleNamespace]:
    (commune,) = busiest_communes(db, 1)
    # Parcels with one holder, one certificate of their own, no restriction or mortgage.
    pids = [
        r[0]
        for r in owner(
            db,
            """
            SELECT p.id FROM cad.parcel p
            WHERE p.commune_id = %s AND p.retired_at IS NULL AND ST_NumGeometries(p.geom) = 1
              AND ST_Area(p.geom) BETWEEN 200 AND 3000
              AND (SELECT count(*) FROM cad.land_right r WHERE r.parcel_id = p.id
                   AND r.valid_to IS NULL) = 1
              AND (SELECT count(*) FROM cad.certificate c
                   JOIN cad.certificate_parcel cp ON cp.certificate_id = c.id
                   WHERE cp.parcel_id = p.id AND c.status = 'hieu_luc'
                     AND NOT EXISTS (SELECT 1 FROM cad.certificate_parcel o
                                     WHERE o.certificate_id = c.id AND o.parcel_id <> p.id)) = 1
              AND NOT EXISTS (SELECT 1 FROM cad.restriction x WHERE x.parcel_id = p.id
                              AND x.valid_to IS NULL)
            ORDER BY p.id LIMIT 6
            """,
            (commune,),
        )
    ]
    roles = {
        "clerk": make_person(db, {"cadastral": ["editor"]}, commune, "Nguyễn Thị Lan"),
        "approver": make_person(db, {"cadastral": ["approver"]}, commune, "Phạm Văn Duyệt"),
    }
    yield SimpleNamespace(commune=commune, parcels=pids, **roles)
    with psycopg.connect(db, autocommit=True) as conn:
        for dsn in roles.values():
            role = psycopg.conninfo.conninfo_to_dict(dsn)["user"]
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )


@pytest.fixture(scope="module")
def window(world, qapp) -> Iterator[object]:
    """The clerk's main window, shared by the tests (opening it is the slow part)."""

    class Bot:  # open_window only registers the widget for closing
        def addWidget(self, w) -> None:
            pass

        def waitUntil(self, fn, timeout: int = 5000) -> None:
            deadline = dt.datetime.now() + dt.timedelta(milliseconds=timeout)
            while not fn():
                assert dt.datetime.now() < deadline, "timed out"
                QTest.qWait(20)

    win = open_window(Bot(), qapp, world.clerk)
    yield win
    win.close()
    win.session.close() if hasattr(win, "session") else None
    # Gone, not just hidden: later tests check that no main window is open.
    win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# --- helpers --------------------------------------------------------------------------------
def geom_of(db: str, pid: int):
    import shapely

    return shapely.from_wkb(
        bytes(owner(db, "SELECT ST_AsBinary(geom) FROM cad.parcel WHERE id = %s", (pid,))[0][0])
    )


def open_set(qtbot, window, kind: str, reason: str):
    window.plugin_actions["cadastral.draft_mutation"].trigger()
    panel = window.edit_panel
    panel.kind_box.setCurrentIndex(panel.kind_box.findData(kind))
    panel.reason_edit.setText(reason)
    panel.dossier_edit.clear()
    QTest.keyClicks(panel.dossier_edit, "HS-2026/0077")
    assert run_panel(qtbot, panel, lambda: click(panel.open_button)) == "ok", panel.last_message
    assert panel.session.kind == kind and panel.session.status == "nhap"
    return panel


def select_parcel(qtbot, db, window, panel, pid: int) -> None:
    """Click the parcel on the map with the select tool; the forms read its details."""
    canvas = window.canvas
    geom = geom_of(db, pid)
    show_area(qtbot, window, geom, res=0.3)
    canvas.set_tool("select")
    canvas.set_selection([])
    with qtbot.waitSignal(panel.detailsLoaded, timeout=20_000, check_params_cb=lambda i: i == pid):
        p = geom.representative_point()
        click_map(canvas, p.x, p.y)
    assert canvas.selection == [pid]
    assert panel.record_details["parcel"]["id"] == pid


def type_into(widget, text: str) -> None:
    widget.clear()
    QTest.keyClicks(widget, text)


def submit(qtbot, panel) -> int:
    cs_id = panel.session.change_set_id
    assert run_panel(qtbot, panel, lambda: click(panel.submit_button)) == "ok"
    assert panel.session.status == "da_nop", panel.last_message
    return cs_id


def review_and_approve(qtbot, world, cs_id: int, check) -> None:
    """The approver opens the review dialog, reads the records, approves."""
    from app.session import Session
    from app.ui.review_dialog import ReviewDialog
    from app.ui.tasks import TaskRunner

    session = Session.from_dsn(world.approver).open()
    runner = TaskRunner()
    ctx = SimpleNamespace(session=session, lang="vi", run_in_background=runner.submit)
    dialog = ReviewDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        with qtbot.waitSignal(dialog.finished_job, timeout=20_000):
            dialog.load_list()
        with qtbot.waitSignal(dialog.finished_job, timeout=20_000) as blocker:
            assert dialog.select(cs_id)
        assert blocker.args == ["ok"], dialog.status.text()
        assert "Không có lỗi" in dialog.problems.item(0).text()
        assert dialog.records.isVisible()
        check(dialog)
        with qtbot.waitSignal(dialog.finished_job, timeout=20_000) as blocker:
            click(dialog.approve_button)
        assert blocker.args == ["ok"], dialog.status.text()
        qtbot.waitUntil(lambda: dialog.busy == 0, timeout=20_000)
    finally:
        dialog.close()
        runner.shutdown()
        session.close()


def new_cccd() -> str:
    return f"0{random.randrange(10**10, 10**11)}"


# --- tests ----------------------------------------------------------------------------------
def test_transfer_to_two_new_people_half_each_is_approved(qtbot, db, world, window):
    pid = world.parcels[0]
    old_name = owner(
        db,
        "SELECT pa.full_name FROM cad.land_right r JOIN cad.party pa ON pa.id = r.party_id "
        "WHERE r.parcel_id = %s AND r.valid_to IS NULL",
        (pid,),
    )[0][0]
    panel = open_set(qtbot, window, "chuyen_quyen", "Chuyển nhượng")
    forms = panel.record_forms
    assert forms.isVisible() and not panel.tools_box.isVisible()
    assert [forms.tabText(i) for i in range(forms.count())] == ["Chuyển quyền", "Cấp GCN"]
    select_parcel(qtbot, db, window, panel, pid)
    t = forms.transfer
    assert t.current.text() == f"Người đang có quyền: {old_name} (1 (100%))"
    cccd1, cccd2 = new_cccd(), new_cccd()
    for name, cccd in (("Trần Thị Bích", cccd1), ("Lê Văn Cường", cccd2)):
        t.name.setText(name)  # QTest types ASCII only
        type_into(t.id_number, cccd)
        type_into(t.birth_year, "1985")
        type_into(t.share, "1/2")
        click(t.findChild(type(panel.open_button), "addNewParty"))
    assert t.table.rowCount() == 2
    assert [t.table.item(r, 2).text() for r in range(2)] == ["1/2 (50%)", "1/2 (50%)"]
    assert t.table.item(0, 1).text() == f"CCCD {cccd1}"
    assert t.total.text() == "Tổng phần quyền: 1 (100%) ✓"
    assert (
        run_panel(qtbot, panel, lambda: click(t.findChild(type(panel.open_button), "saveTransfer")))
        == "ok"
    )
    assert panel.last_message.startswith("Đã soạn chuyển quyền thửa"), panel.last_message
    assert panel.items_list.count() == 1
    assert "Chuyển quyền (2 người nhận)" in panel.items_list.item(0).text()
    assert t.table.rowCount() == 0  # the form is emptied for the next parcel
    cs_id = submit(qtbot, panel)

    def check(dialog) -> None:
        text = dialog.records.toPlainText()
        assert "Chuyển quyền — thửa " in text
        assert (
            f"Chuyển quyền sử dụng đất: {old_name} (1) → Trần Thị Bích (0,5); Lê Văn Cường (0,5)"
            in text
        )
        assert f"{old_name} (" in text and "— phần quyền 1 (100%)" in text
        masked = cccd1[:4] + "******" + cccd1[-2:]
        assert (
            f"Trần Thị Bích (CCCD {masked}, sinh năm 1985, người mới, tạo khi duyệt)"
            " — phần quyền 1/2 (50%)" in text
        )
        rows = [dialog.diff.item(r, 1).text() for r in range(dialog.diff.rowCount())]
        assert "Diện tích" not in rows  # a transfer changes no area

    review_and_approve(qtbot, world, cs_id, check)
    # The clerk's parcel panel shows the new holders.
    pp = window.parcel_panel
    pp.show_parcel(pid)
    qtbot.waitUntil(lambda: pp.details is not None and pp.details["parcel"]["version"] > 1
                    and any(h["full_name"] == "Lê Văn Cường" for h in pp.details["holders"]),
                    timeout=20_000)  # fmt: skip
    now = sorted(
        (pp.holders.item(r, 0).text(), pp.holders.item(r, 2).text())
        for r in range(pp.holders.rowCount())
        if not pp.holders.item(r, 5).text()
    )
    assert [n for n, _ in now] == ["Lê Văn Cường", "Trần Thị Bích"]
    assert owner(
        db,
        "SELECT pa.full_name, r.share FROM cad.land_right r JOIN cad.party pa "
        "ON pa.id = r.party_id WHERE r.parcel_id = %s AND r.valid_to IS NULL ORDER BY 1",
        (pid,),
    ) == [("Lê Văn Cường", Decimal("0.5")), ("Trần Thị Bích", Decimal("0.5"))]


def test_shares_adding_up_to_0_9_are_not_sent(qtbot, db, world, window):
    pid = world.parcels[1]
    panel = open_set(qtbot, window, "chuyen_quyen", "Tặng cho")
    select_parcel(qtbot, db, window, panel, pid)
    t = panel.record_forms.transfer
    # An existing person, found by the search (name as the register holds it).
    other = owner(
        db,
        "SELECT pa.full_name FROM cad.land_right r JOIN cad.party pa ON pa.id = r.party_id "
        "JOIN cad.parcel p ON p.id = r.parcel_id WHERE p.commune_id = %s AND r.valid_to IS NULL "
        "AND r.parcel_id <> %s AND pa.kind = 'ca_nhan' ORDER BY r.id LIMIT 1",
        (world.commune, pid),
    )[0][0]
    t.search.setText(other)
    assert (
        run_panel(
            qtbot, panel, lambda: click(t.findChild(type(panel.open_button), "partySearchButton"))
        )
        == "ok"
    )
    assert t.results.count() >= 1 and t.results.itemText(0).startswith(other)
    type_into(t.share, "0,5")
    click(t.findChild(type(panel.open_button), "addFoundParty"))
    t.name.setText("Đỗ Thị Hoa")
    type_into(t.id_number, new_cccd())
    type_into(t.share, "40%")
    click(t.findChild(type(panel.open_button), "addNewParty"))
    assert [t.table.item(r, 2).text() for r in range(2)] == ["1/2 (50%)", "2/5 (40%)"]
    assert t.total.text() == "Tổng phần quyền: 9/10 (90%) — phải bằng 1"
    sent: list[str] = []
    panel.finished.connect(sent.append)
    click(t.findChild(type(panel.open_button), "saveTransfer"))
    QTest.qWait(200)
    assert sent == [] and panel.busy == 0  # nothing went to the store
    assert panel.last_message == "Chưa gửi: tổng phần quyền là 0,9, phải bằng 1"
    assert panel.items_list.count() == 0
    cs_id = panel.session.change_set_id
    assert owner(db, "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,)) == [
        (0,)
    ]


def test_mortgage_registered_then_released(qtbot, db, world, window):
    pid = world.parcels[2]
    panel = open_set(qtbot, window, "the_chap", "Thế chấp vay vốn")
    forms = panel.record_forms
    assert [forms.tabText(i) for i in range(forms.count())] == ["Thế chấp"]
    select_parcel(qtbot, db, window, panel, pid)
    m = forms.mortgage
    assert m.current.text() == "Thửa này không có thế chấp nào đang hiệu lực"
    m.lender.setText("Ngân hàng Nông nghiệp và Phát triển Nông thôn")
    type_into(m.contract, "HDTC-2026/77")
    type_into(m.registered, "02/03/2026")
    type_into(m.amount, "500000000")
    assert m.amount.text() == "500.000.000"
    save = m.findChild(type(panel.open_button), "saveMortgage")
    assert run_panel(qtbot, panel, lambda: click(save)) == "ok"
    assert "Đăng ký thế chấp (hợp đồng HDTC-2026/77)" in panel.items_list.item(0).text()
    cs1 = submit(qtbot, panel)

    def check_mortgage(dialog) -> None:
        text = dialog.records.toPlainText()
        for line in (
            "Bên nhận thế chấp: Ngân hàng Nông nghiệp và Phát triển Nông thôn",
            "Số hợp đồng: HDTC-2026/77",
            "Ngày đăng ký: 02/03/2026",
            "Số tiền bảo đảm: 500.000.000 đồng",
            "Thế chấp khác đang có hiệu lực trên thửa: không có",
        ):
            assert line in text, text

    review_and_approve(qtbot, world, cs1, check_mortgage)
    mid = owner(db, "SELECT id FROM cad.mortgage WHERE parcel_id = %s", (pid,))[0][0]

    panel = open_set(qtbot, window, "xoa_the_chap", "Trả hết nợ")
    assert [forms.tabText(i) for i in range(forms.count())] == ["Xóa thế chấp"]
    select_parcel(qtbot, db, window, panel, pid)
    r = forms.release
    assert [r.list.item(i).text() for i in range(r.list.count())] == [
        "Ngân hàng Nông nghiệp và Phát triển Nông thôn, hợp đồng HDTC-2026/77, "
        "đăng ký 02/03/2026 (500.000.000 đ)"
    ]
    QTest.mouseClick(
        r.list.viewport(),
        Qt.MouseButton.LeftButton,
        pos=r.list.visualItemRect(r.list.item(0)).center(),
    )
    save = r.findChild(type(panel.open_button), "saveRelease")
    assert run_panel(qtbot, panel, lambda: click(save)) == "ok", panel.last_message
    assert "Xóa thế chấp" in panel.items_list.item(0).text()
    cs2 = submit(qtbot, panel)
    review_and_approve(
        qtbot, world, cs2,
        lambda d: "Ngày xóa: " + dt.date.today().strftime("%d/%m/%Y") in d.records.toPlainText(),
    )  # fmt: skip
    assert owner(db, "SELECT released_on, released_mutation FROM cad.mortgage WHERE id = %s",
                 (mid,)) == [(dt.date.today(), cs2)]  # fmt: skip


def test_certificate_serial_checked_as_typed_then_issued(qtbot, db, world, window):
    pid = world.parcels[3]
    old_serial = owner(
        db,
        "SELECT c.serial FROM cad.certificate c JOIN cad.certificate_parcel cp "
        "ON cp.certificate_id = c.id WHERE cp.parcel_id = %s AND c.status = 'hieu_luc'",
        (pid,),
    )[0][0]
    panel = open_set(qtbot, window, "thay_doi_thuoc_tinh", "Cấp đổi giấy chứng nhận")
    forms = panel.record_forms
    # "Thay đổi thuộc tính" also corrects a person's details (0027/0029: the "person" tab).
    assert [forms.tabText(i) for i in range(forms.count())] == ["Cấp GCN", "Người sử dụng đất"]
    assert panel.tools_box.isVisible()  # a geometric kind keeps its tools
    select_parcel(qtbot, db, window, panel, pid)
    c = forms.certificate
    assert c.parcels.text() == panel._label(pid)
    save = c.findChild(type(panel.open_button), "saveCertificate")
    type_into(c.serial, "ab12345")
    assert c.serial.text() == "AB12345"  # upper-cased as typed
    assert c.serial_check.text() == (
        "«AB12345» không phải số phát hành: hai chữ cái, một dấu cách, 6 đến 8 chữ số (AB 123456)"
    )
    assert not save.isEnabled()
    click(save)
    QTest.qWait(100)
    assert panel.items_list.count() == 0
    serial = f"ZZ {random.randrange(10**5, 10**6)}"
    type_into(c.serial, serial.lower())
    assert c.serial_check.text() == "Số phát hành hợp lệ ✓" and save.isEnabled()
    type_into(c.register, "CS 00777")
    type_into(c.issued, dt.date.today().strftime("%d/%m/%Y"))
    c.issuer.setText("Sở Tài nguyên và Môi trường")
    assert run_panel(qtbot, panel, lambda: click(save)) == "ok", panel.last_message
    assert f"Cấp giấy chứng nhận ({serial})" in panel.items_list.item(0).text()
    cs_id = submit(qtbot, panel)

    def check(dialog) -> None:
        text = dialog.records.toPlainText()
        assert f"Số phát hành: {serial}" in text and "Số vào sổ: CS 00777" in text
        assert "Cơ quan cấp: Sở Tài nguyên và Môi trường" in text
        assert f"Thay cho (thành «cấp đổi»): {old_serial} cấp ngày " in text

    review_and_approve(qtbot, world, cs_id, check)
    pp = window.parcel_panel
    pp.show_parcel(pid)
    qtbot.waitUntil(
        lambda: (
            pp.details is not None
            and any(x["serial"] == serial for x in pp.details["certificates"])
        ),
        timeout=20_000,
    )
    certs = {
        pp.certs.item(r, 0).text(): pp.certs.item(r, 4).text() for r in range(pp.certs.rowCount())
    }
    assert certs[serial] == "Hiệu lực" and certs[old_serial] == "Cấp đổi"


def test_a_parcel_changed_after_the_clerk_looked_is_not_drafted_over(qtbot, db, world, window):
    """The form drafts against the version the clerk saw (the details it shows), so a change
    approved meanwhile is reported, not taken as the new base silently."""
    pid = world.parcels[4]
    panel = open_set(qtbot, window, "the_chap", "Thế chấp sau khi thửa vừa đổi")
    select_parcel(qtbot, db, window, panel, pid)
    seen = panel.record_details["parcel"]["version"]
    with psycopg.connect(db) as conn:  # another change set, approved meanwhile
        conn.execute("UPDATE cad.parcel SET version = version + 1 WHERE id = %s", (pid,))
    m = panel.record_forms.mortgage
    m.lender.setText("Ngân hàng Công Thương")
    type_into(m.contract, "HDTC-2026/99")
    type_into(m.registered, "03/03/2026")
    save = m.findChild(type(panel.open_button), "saveMortgage")
    result = run_panel(qtbot, panel, lambda: click(save))
    assert result == "error"
    assert f"phiên bản {seen} → {seen + 1}" in panel.last_message
    cs_id = panel.session.change_set_id
    assert owner(db, "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,)) == [
        (0,)
    ]
    # The form now shows the parcel as it is; saving again is against that version.
    qtbot.waitUntil(
        lambda: (panel.record_details or {}).get("parcel", {}).get("version") == seen + 1,
        timeout=20_000,
    )
    assert run_panel(qtbot, panel, lambda: click(save)) == "ok", panel.last_message
    assert owner(db, "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,)) == [
        (1,)
    ]


def test_an_attribute_change_is_drafted_against_the_version_the_editor_holds(
    qtbot, db, world, window
):
    """Like the geometry tools, the attribute change uses the parcel as the editor read it;
    a change approved since then is reported, and the next try reads the parcel again."""
    from PySide6.QtCore import QTimer

    pid = world.parcels[5]
    panel = open_set(qtbot, window, "thay_doi_thuoc_tinh", "Đổi địa chỉ sau khi thửa vừa đổi")
    select_parcel(qtbot, db, window, panel, pid)
    qtbot.waitUntil(lambda: pid in panel.session.parcels, timeout=20_000)  # read on selection
    held = panel.session.parcels[pid].version
    with psycopg.connect(db) as conn:  # another change set, approved meanwhile
        conn.execute("UPDATE cad.parcel SET version = version + 1 WHERE id = %s", (pid,))

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        dialog.address.setText("Ấp Phú Lợi")
        dialog.accept()

    QTimer.singleShot(50, fill)
    assert run_panel(qtbot, panel, lambda: click(panel.tool_buttons["attributes"])) == "error"
    assert f"phiên bản {held} → {held + 1}" in panel.last_message
    assert panel.items_list.count() == 0
    QTimer.singleShot(50, fill)
    assert run_panel(qtbot, panel, lambda: click(panel.tool_buttons["attributes"])) == "ok"
    (item,) = panel.session.change_set.items
    assert item.op == "attributes" and item.attributes == {"address": "Ấp Phú Lợi"}
