"""The editor's "person" form end to end (pytest-qt, off-screen, real roles): a clerk finds a
person with the database's party search (no diacritics typed), corrects a CMND to a CCCD
(the number checked as typed), an approver reads old → new in the review dialog and
approves, and the parcel panel then shows the new number masked to a commune officer; a
household gains a member; a couple of three is refused with the store's Vietnamese
message; an officer of another commune finds nobody."""

# ruff: noqa: F811 - the fixtures db, world, window come from test_edit_records_ui

from __future__ import annotations

import random
from collections.abc import Iterator
from types import SimpleNamespace

import psycopg
import pytest
from PySide6.QtWidgets import QApplication, QPushButton
from test_edit_records_ui import (  # noqa: F401 - fixtures: one private DB, one clerk window
    db,
    make_person,
    open_set,
    owner,
    review_and_approve,
    submit,
    type_into,
    window,
    world,
)
from test_edit_ui import click, run_panel

from app.edit.parties import find_parties

pytestmark = pytest.mark.store


def run(dsn: str, sql: str, params: tuple = ()) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(sql, params)


def button(form, name: str) -> QPushButton:
    found = form.findChild(QPushButton, name)
    assert found is not None, name
    return found


def click_in(form, name: str) -> None:
    """Scroll the form to the button, then click it (the form is taller than the dock)."""
    b = button(form, name)
    form.scroll.ensureWidgetVisible(b)
    QApplication.processEvents()
    assert b.isVisible() and b.height() > 0, name
    click(b)


@pytest.fixture(scope="module")
def people(db: str, world) -> Iterator[SimpleNamespace]:
    """In the clerk's commune: a person renamed "Nguyễn Thị Hồng" holding a CMND and a
    parcel (all their rights there), a household and a couple; another commune's officer."""

    def one(sql: str) -> tuple:
        return owner(db, sql, (world.commune,))[0]

    only_here = """
        FROM cad.party pa WHERE pa.kind = '{kind}' AND pa.id IN (
            SELECT r.party_id FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
            WHERE p.commune_id = %s AND r.valid_to IS NULL AND p.retired_at IS NULL)
          AND NOT EXISTS (SELECT 1 FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
                          WHERE r.party_id = pa.id AND p.commune_id <> {commune})
          AND NOT EXISTS (SELECT 1 FROM cad.party_member m WHERE m.member_id = pa.id)
        ORDER BY pa.id LIMIT 1"""
    person = one("SELECT pa.id" + only_here.format(kind="ca_nhan", commune=world.commune))[0]
    cmnd = f"{random.randrange(10**8, 10**9)}"
    run(
        db,
        "UPDATE cad.party SET full_name = 'Nguyễn Thị Hồng', id_kind = 'cmnd', id_number = %s "
        "WHERE id = %s",
        (cmnd, person),
    )
    parcel = owner(
        db,
        "SELECT parcel_id FROM cad.land_right WHERE party_id = %s AND valid_to IS NULL "
        "ORDER BY parcel_id LIMIT 1",
        (person,),
    )[0][0]
    household = one("SELECT pa.id" + only_here.format(kind="ho_gia_dinh", commune=world.commune))[0]
    couple = one("SELECT pa.id" + only_here.format(kind="vo_chong", commune=world.commune))[0]
    # Unique names, so each search has one answer.
    run(db, "UPDATE cad.party SET full_name = 'Hộ Ông Trương Văn Lộc' WHERE id = %s", (household,))
    run(
        db, "UPDATE cad.party SET full_name = 'Vợ Chồng Ông Đinh Văn Khải' WHERE id = %s", (couple,)
    )
    other = owner(
        db,
        "SELECT commune_id FROM cad.parcel WHERE commune_id <> %s GROUP BY 1 ORDER BY 1 LIMIT 1",
        (world.commune,),
    )[0][0]
    officer = make_person(db, {"cadastral": ["viewer"]}, world.commune, "Lê Văn Xã")
    stranger = make_person(db, {"cadastral": ["viewer"]}, other, "Hoàng Văn Khác")
    return SimpleNamespace(person=person, cmnd=cmnd, parcel=parcel, household=household,
                           couple=couple, officer=officer, stranger=stranger,
                           other_code=owner(db, "SELECT code FROM ref.admin_unit WHERE id = %s",
                                            (other,))[0][0])  # fmt: skip


def person_form(qtbot, window):
    panel = open_set(qtbot, window, "thay_doi_thuoc_tinh", "Cập nhật thông tin người")
    forms = panel.record_forms
    assert forms.isVisible() and panel.tools_box.isVisible()  # attributes stay possible
    assert "Người sử dụng đất" in [forms.tabText(i) for i in range(forms.count())]
    forms.bring("party")
    return panel, forms.party


def find(qtbot, panel, form, text: str) -> list:
    form.search.setText(text)
    assert run_panel(qtbot, panel, lambda: click(button(form, "partyEditFind"))) == "ok"
    return [form.results.itemData(i) for i in range(form.results.count())]


# --- tests ----------------------------------------------------------------------------------
def test_search_without_diacritics_finds_nguyen_thi_hong(qtbot, db, window, people):
    panel, form = person_form(qtbot, window)
    hits = find(qtbot, panel, form, "nguyen thi hong")
    assert people.person in [h.party_id for h in hits]
    # The first hit is loaded into the form (this person if they are the only namesake).
    hit = next(h for h in hits if h.party_id == people.person)
    form.load(hit)
    assert form.name.text() == "Nguyễn Thị Hồng"
    assert form.id_kind.currentData() == "cmnd"
    assert form.id_number.text() == people.cmnd  # a clerk reads documents in clear
    assert form.current.text().startswith("Cá nhân Nguyễn Thị Hồng, phiên bản ")
    assert not form.members_box.isVisible()


def test_clerk_corrects_cmnd_to_cccd_approver_approves(qtbot, db, world, window, people):
    panel, form = person_form(qtbot, window)
    hits = find(qtbot, panel, form, people.cmnd)  # exact document search
    assert [h.party_id for h in hits] == [people.person]
    assert form.hit.party_id == people.person
    form.id_kind.setCurrentIndex(form.id_kind.findData("cccd"))
    type_into(form.id_number, "07918500")
    assert form.id_check.text() == "Số CCCD phải có đúng 12 chữ số (đã gõ 8)"
    cccd = f"0{random.randrange(10**10, 10**11)}"
    type_into(form.id_number, cccd)
    assert form.id_check.text() == "Số giấy tờ hợp lệ ✓"
    assert run_panel(qtbot, panel, lambda: click_in(form, "savePartyUpdate")) == "ok"
    assert panel.last_message == "Đã soạn sửa thông tin Nguyễn Thị Hồng", panel.last_message
    assert panel.items_list.count() == 1
    assert "Sửa thông tin người sử dụng đất (Nguyễn Thị Hồng)" in panel.items_list.item(0).text()
    cs_id = submit(qtbot, panel)

    def check(dialog) -> None:
        text = dialog.records.toPlainText()
        assert "Sửa thông tin người sử dụng đất" in text
        assert "Cá nhân Nguyễn Thị Hồng (phiên bản" in text
        assert "loại giấy tờ: «CMND» → «CCCD»" in text
        assert f"số giấy tờ: «{people.cmnd}» → «{cccd}»" in text  # approvers read in clear

    review_and_approve(qtbot, world, cs_id, check)
    assert owner(
        db, "SELECT id_kind, id_number FROM cad.party WHERE id = %s", (people.person,)
    ) == [("cccd", cccd)]
    # The officer's parcel panel shows the new number masked; the clerk may reveal it.
    from app.ui.parcel_panel import ParcelPanel
    from app.ui.tasks import TaskRunner

    runner = TaskRunner()
    try:
        pp = ParcelPanel(lambda: people.officer, runner)
        qtbot.addWidget(pp)
        pp.show_parcel(people.parcel)
        qtbot.waitUntil(lambda: pp.details is not None, timeout=10_000)
        rows = [
            [pp.holders.item(r, c).text() for c in (0, 3)] for r in range(pp.holders.rowCount())
        ]
        assert ["Nguyễn Thị Hồng", cccd[:4] + "******" + cccd[-2:]] in rows
        assert not pp.reveal_button.isVisible()
    finally:
        runner.shutdown()
    with psycopg.connect(world.clerk, autocommit=True) as conn:
        assert conn.execute("SELECT api.reveal_personal_id(%s)", (people.person,)).fetchone()[
            0
        ] == (cccd)


def test_household_gains_a_member(qtbot, db, world, window, people):
    before = owner(
        db, "SELECT member_id, role FROM cad.party_member WHERE group_id = %s", (people.household,)
    )
    panel, form = person_form(qtbot, window)
    hits = find(qtbot, panel, form, "ho ong truong van loc")
    assert [h.party_id for h in hits] == [people.household]
    assert form.members_box.isVisible()
    assert form.table.rowCount() == len(before)
    assert not form.birth_year.isEnabled()  # a household has no birth year
    form.new_name.setText("Trương Thị Mai")  # QTest types ASCII only
    cccd = f"0{random.randrange(10**10, 10**11)}"
    type_into(form.new_id, cccd)
    type_into(form.new_year, "2006")
    form.role.setCurrentIndex(form.role.findData("con"))
    click_in(form, "addNewMember")
    assert form.table.rowCount() == len(before) + 1
    assert form.table.item(len(before), 0).text() == "Trương Thị Mai"
    assert form.table.cellWidget(len(before), 2).currentText() == "con"
    assert run_panel(qtbot, panel, lambda: click_in(form, "saveMembers")) == "ok"
    assert panel.last_message == "Đã soạn thay đổi thành viên của Hộ Ông Trương Văn Lộc"
    cs_id = submit(qtbot, panel)

    def check(dialog) -> None:
        text = dialog.records.toPlainText()
        assert "Thay đổi thành viên hộ gia đình, vợ chồng" in text
        assert "Thành viên hiện tại:" in text and "Sau khi duyệt:" in text
        assert (
            f"Trương Thị Mai — con (CCCD {cccd}, sinh năm 2006, người mới, tạo khi duyệt)" in text
        )

    review_and_approve(qtbot, world, cs_id, check)
    after = owner(
        db,
        "SELECT pa.full_name, m.role FROM cad.party_member m JOIN cad.party pa "
        "ON pa.id = m.member_id WHERE m.group_id = %s ORDER BY m.member_id",
        (people.household,),
    )
    assert len(after) == len(before) + 1 and after[-1] == ("Trương Thị Mai", "con")


def test_couple_of_three_is_refused_with_the_store_message(qtbot, db, window, people):
    panel, form = person_form(qtbot, window)
    find(qtbot, panel, form, "vo chong ong dinh van khai")
    assert form.hit.party_id == people.couple and form.table.rowCount() == 2
    form.new_name.setText("Đinh Thị Ba")
    type_into(form.new_id, f"0{random.randrange(10**10, 10**11)}")
    click_in(form, "addNewMember")
    assert form.table.rowCount() == 3
    assert run_panel(qtbot, panel, lambda: click_in(form, "saveMembers")) == "error"
    assert panel.last_message.startswith("Vợ chồng phải có đúng hai thành viên (danh sách có 3"), (
        panel.last_message
    )
    assert panel.items_list.count() == 0
    assert owner(
        db, "SELECT count(*) FROM cad.party_member WHERE group_id = %s", (people.couple,)
    ) == [(2,)]


def test_officer_of_another_commune_cannot_find_the_person(db, people):
    with psycopg.connect(people.stranger, autocommit=True) as conn:
        by_name = find_parties(conn, "nguyen thi hong", 50)
        assert people.person not in [h.party_id for h in by_name]
        # The parcels listed with whoever they find are those of their own commune only.
        assert {p["commune_code"] for h in by_name for p in h.parcels} <= {people.other_code}
        cccd = owner(db, "SELECT id_number FROM cad.party WHERE id = %s", (people.person,))[0][0]
        assert find_parties(conn, cccd) == []
    with psycopg.connect(people.officer, autocommit=True) as conn:
        (hit,) = find_parties(conn, cccd)
        assert hit.party_id == people.person and "*" in hit.id_number_masked


def test_record_ops_and_kinds_have_english_and_vietnamese_labels(qapp):
    from app.edit.changeset import OPS, PARTY_KINDS, RIGHT_KINDS
    from app.ui.i18n import install_language
    from app.ui.record_forms import op_name, party_kind_name, right_kind_name, role_name

    record_ops = ("rights", "mortgage", "mortgage_release", "certificate", "party",
                  "party_members")  # fmt: skip
    try:
        install_language(qapp, "en")
        assert [op_name(op) for op in record_ops] == [
            "transfer of rights", "mortgage registration", "mortgage release",
            "certificate issue", "correction of a person's details",
            "household or couple members",
        ]  # fmt: skip
        assert right_kind_name("su_dung") == "Land use right"
        assert party_kind_name("ho_gia_dinh") == "Household"
        assert role_name("chủ hộ") == "head of household"
        install_language(qapp, "vi")
        # Vietnamese: the store's own names (changeset.OPS and the kind dicts stay Qt-free).
        assert [op_name(op) for op in record_ops] == [OPS[op] for op in record_ops]
        assert [right_kind_name(k) for k in RIGHT_KINDS] == list(RIGHT_KINDS.values())
        assert [party_kind_name(k) for k in PARTY_KINDS] == list(PARTY_KINDS.values())
        assert role_name("chủ hộ") == "chủ hộ"
    finally:
        install_language(qapp, "vi")
