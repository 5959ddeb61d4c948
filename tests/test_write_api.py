"""The write API (schema api, db/sql/0006_rls_api.sql) through real roles.

Each test works on its own parcels of the shared demo database, so changes stay local.
Refusals are checked twice: the SQLSTATE, and a snapshot of the records taken by the owner
before and after, which must be equal.
"""

from __future__ import annotations

import json
import unicodedata
from decimal import Decimal

import psycopg
import pytest

EDITOR = {"cadastral": ["editor"]}
VIEWER = {"cadastral": ["viewer"]}


# --- helpers -------------------------------------------------------------------------------
def one(dsn: str, sql: str, params: tuple | dict = ()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0] if len(row) == 1 else row


def call(dsn: str, sql: str, params: tuple | dict = ()):
    """Run one API call in its own transaction; returns the first column of the result."""
    return one(dsn, sql, params)


def refused(dsn: str, sql: str, params: tuple | dict = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        call(dsn, sql, params)
    return caught.value


def snapshot(owner_dsn: str, parcel_id: int) -> dict:
    """Everything the API may touch around a parcel, as the owner sees it."""
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        q = conn.execute
        return {
            "parcel": q(
                "SELECT address, area_legal, version, retired_at FROM cad.parcel WHERE id = %s",
                (parcel_id,),
            ).fetchone(),
            "uses": q(
                "SELECT id, code, area, term_until, retired_at FROM cad.land_use "
                "WHERE parcel_id = %s ORDER BY id",
                (parcel_id,),
            ).fetchall(),
            "rights": q(
                "SELECT id, party_id, kind, share, valid_to, certificate_id FROM cad.land_right "
                "WHERE parcel_id = %s ORDER BY id",
                (parcel_id,),
            ).fetchall(),
            "counts": q(
                "SELECT (SELECT count(*) FROM cad.party), (SELECT count(*) FROM cad.certificate),"
                " (SELECT count(*) FROM cad.mutation), (SELECT count(*) FROM cad.mutation_parcel)"
            ).fetchone(),
        }


@pytest.fixture(scope="module")
def communes(demo_db: str) -> tuple[int, int]:
    """Communes A and B in force with the most parcels."""
    with psycopg.connect(demo_db) as conn:
        found = conn.execute(
            "SELECT commune_id FROM cad.parcel GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2"
        ).fetchall()
    return found[0][0], found[1][0]


@pytest.fixture(scope="module")
def parcels(demo_db: str, communes: tuple[int, int]):
    """Hand out distinct current parcels of a commune with one holder and a legal area."""
    taken: set[int] = set()

    def take(commune: int) -> int:
        with psycopg.connect(demo_db) as conn:
            pid = conn.execute(
                """
                SELECT p.id FROM cad.parcel p
                WHERE p.commune_id = %s AND p.retired_at IS NULL AND p.area_legal IS NOT NULL
                  AND (SELECT count(*) FROM cad.land_right r
                       WHERE r.parcel_id = p.id AND r.valid_to IS NULL) = 1
                  AND p.id <> ALL (%s)
                ORDER BY p.id DESC LIMIT 1
                """,
                (commune, list(taken)),
            ).fetchone()[0]
        taken.add(pid)
        return pid

    return take


def commune_name(owner_dsn: str, commune: int) -> str:
    return one(owner_dsn, "SELECT name FROM ref.admin_unit WHERE id = %s", (commune,))


def version_of(owner_dsn: str, parcel_id: int) -> int:
    return one(owner_dsn, "SELECT version FROM cad.parcel WHERE id = %s", (parcel_id,))


# --- update_parcel -------------------------------------------------------------------------
def test_update_parcel_changes_the_row_and_bumps_the_version(
    demo_db, person_factory, communes, parcels
):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    v = version_of(demo_db, pid)
    new = call(
        editor.dsn,
        "SELECT api.update_parcel(%s, %s, %s, %s::numeric)",
        (pid, v, "Số 12/3, Ấp Phước Hòa, Phường Tân Lập", 321.4),
    )
    assert new == v + 1
    assert snapshot(demo_db, pid)["parcel"][:3] == (
        "Số 12/3, Ấp Phước Hòa, Phường Tân Lập",
        Decimal("321.4"),
        v + 1,
    )
    # NULL leaves a field as it is.
    assert (
        call(editor.dsn, "SELECT api.update_parcel(%s, %s, NULL, %s::numeric)", (pid, v + 1, 300))
        == v + 2
    )
    assert snapshot(demo_db, pid)["parcel"][:2] == ("Số 12/3, Ấp Phước Hòa, Phường Tân Lập", 300)


def test_viewer_is_refused_by_every_write_function(demo_db, person_factory, communes, parcels):
    a, _ = communes
    viewer = person_factory(demo_db, rights=VIEWER, communes=[a])
    pid = parcels(a)
    right = one(
        demo_db, "SELECT id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL", (pid,)
    )
    party = one(demo_db, "SELECT party_id FROM cad.land_right WHERE id = %s", (right,))
    v = version_of(demo_db, pid)
    before = snapshot(demo_db, pid)
    calls = [
        ("SELECT api.update_parcel(%s, %s, 'Số 1', 100)", (pid, v)),
        ('SELECT api.set_land_uses(%s, %s, \'[{"code": "ONT", "area": 100}]\')', (pid, v)),
        ("SELECT api.create_party('ca_nhan', 'Nguyễn Văn An')", ()),
        ("SELECT api.update_party(%s, 1, 'Nguyễn Văn An')", (party,)),
        ("SELECT api.grant_right(%s, %s, 'su_dung', 0.5)", (pid, party)),
        ("SELECT api.end_right(%s)", (right,)),
        (
            "SELECT api.issue_certificate('BD 999001', 'CH99001', current_date, 'UBND tỉnh', "
            "ARRAY[%s]::bigint[])",
            (pid,),
        ),
        ("SELECT api.create_mutation('chuyen_quyen', 'Chuyển nhượng')", ()),
    ]
    for sql, params in calls:
        error = refused(viewer.dsn, sql, params)
        assert error.sqlstate == "42501", sql
        assert "không có quyền cập nhật trong phân hệ Địa chính" in error.diag.message_primary
    assert snapshot(demo_db, pid) == before


def test_officer_of_another_commune_is_refused_with_the_commune_named(
    demo_db, person_factory, communes, parcels
):
    a, b = communes
    editor_b = person_factory(demo_db, rights=EDITOR, communes=[b])
    pid = parcels(a)
    right = one(
        demo_db, "SELECT id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL", (pid,)
    )
    party = one(demo_db, "SELECT party_id FROM cad.land_right WHERE id = %s", (right,))
    v = version_of(demo_db, pid)
    area = float(one(demo_db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    before = snapshot(demo_db, pid)
    calls = [
        ("SELECT api.update_parcel(%s, %s, 'Số 1', 100)", (pid, v)),
        (
            "SELECT api.set_land_uses(%s, %s, %s)",
            (pid, v, json.dumps([{"code": "ONT", "area": area}])),
        ),
        ("SELECT api.grant_right(%s, %s, 'quan_ly', 0.5)", (pid, party)),
        ("SELECT api.end_right(%s)", (right,)),
        (
            "SELECT api.issue_certificate('BD 999002', 'CH99002', current_date, 'UBND tỉnh', "
            "ARRAY[%s]::bigint[])",
            (pid,),
        ),
    ]
    name = commune_name(demo_db, a)
    for sql, params in calls:
        error = refused(editor_b.dsn, sql, params)
        assert error.sqlstate == "42501", sql
        assert name in error.diag.message_primary, error.diag.message_primary
        assert "ngoài địa bàn" in error.diag.message_primary
    assert snapshot(demo_db, pid) == before


def test_stale_version_is_refused_with_what_changed(demo_db, person_factory, communes, parcels):
    a, _ = communes
    first = person_factory(demo_db, rights=EDITOR, communes=[a])
    second = person_factory(demo_db, rights=EDITOR, whole_province=True)
    pid = parcels(a)
    v = version_of(demo_db, pid)
    call(first.dsn, "SELECT api.update_parcel(%s, %s, 'Số 7, Ấp Mới', NULL)", (pid, v))
    after_first = snapshot(demo_db, pid)
    for sql, params in [
        ("SELECT api.update_parcel(%s, %s, 'Số 9', NULL)", (pid, v)),
        ('SELECT api.set_land_uses(%s, %s, \'[{"code": "ONT", "area": 1}]\')', (pid, v)),
    ]:
        error = refused(second.dsn, sql, params)
        assert error.sqlstate == "40001"
        assert f"phiên bản hiện tại là {v + 1}, bạn đang sửa trên phiên bản {v}" in (
            error.diag.message_primary
        )
        assert "Số 7, Ấp Mới" in error.diag.message_detail  # what the other clerk wrote
        assert error.diag.message_hint
    assert snapshot(demo_db, pid) == after_first


BAD_UPDATES = [
    ("NULL id", (None, 1, "Số 1", None), "22023"),
    ("NULL version", ("pid", None, "Số 1", None), "22023"),
    ("nothing to change", ("pid", "v", None, None), "22023"),
    ("blank address", ("pid", "v", "   ", None), "22023"),
    ("huge address", ("pid", "v", "Số 1 " * 200_000, None), "22023"),
    ("SQL in address", ("pid", "v", "x'; DROP TABLE cad.parcel; --", None), "22023"),
    ("control character", ("pid", "v", "Số 1\x07", None), "22023"),
    ("negative area", ("pid", "v", None, -5), "22023"),
    ("zero area", ("pid", "v", None, 0), "22023"),
    ("huge area", ("pid", "v", None, 10**12), "22023"),
    ("two decimals", ("pid", "v", None, 12.34), "22023"),
    ("no such parcel", (10**12, 1, "Số 1", None), "22023"),
]


@pytest.mark.parametrize("case", BAD_UPDATES, ids=[c[0] for c in BAD_UPDATES])
def test_update_parcel_refuses_bad_input(demo_db, person_factory, communes, parcels, case):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    v = version_of(demo_db, pid)
    _, args, state = case
    args = tuple(pid if x == "pid" else v if x == "v" else x for x in args)
    before = snapshot(demo_db, pid)
    error = refused(editor.dsn, "SELECT api.update_parcel(%s, %s, %s, %s::numeric)", args)
    assert error.sqlstate == state
    assert error.diag.message_primary
    assert snapshot(demo_db, pid) == before


def test_wrong_types_are_refused_before_the_function_runs(
    demo_db, person_factory, communes, parcels
):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    before = snapshot(demo_db, pid)
    error = refused(
        editor.dsn, "SELECT api.update_parcel(%s, 1, 'Số 1', %s::numeric)", (pid, "abc")
    )
    assert error.sqlstate == "22P02"
    error = refused(editor.dsn, "SELECT api.set_land_uses(%s, 1, %s::jsonb)", (pid, "{not json"))
    assert error.sqlstate == "22P02"
    assert snapshot(demo_db, pid) == before


# --- land-use purposes ---------------------------------------------------------------------
def test_set_land_uses_replaces_the_purposes(demo_db, person_factory, communes, parcels):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    v = version_of(demo_db, pid)
    area = float(one(demo_db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    old = [u[0] for u in snapshot(demo_db, pid)["uses"] if u[4] is None]
    uses = [
        {"code": "ONT", "area": 100.0, "origin": "Nhà nước công nhận"},
        {"code": "cln", "area": round(area - 100.0, 1), "term_until": "2070-12-31"},
    ]
    assert (
        call(editor.dsn, "SELECT api.set_land_uses(%s, %s, %s)", (pid, v, json.dumps(uses)))
        == v + 1
    )
    after = snapshot(demo_db, pid)
    current = [(u[1], float(u[2])) for u in after["uses"] if u[4] is None]
    assert current == [("ONT", 100.0), ("CLN", round(area - 100.0, 1))]
    retired = {u[0] for u in after["uses"] if u[4] is not None}
    assert set(old) <= retired  # kept as history, not deleted
    assert after["parcel"][2] == v + 1


def test_legacy_code_stays_where_the_parcel_has_it(demo_db, person_factory, communes, parcels):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    area = float(one(demo_db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    with psycopg.connect(demo_db, autocommit=True) as conn:  # old data carries a legacy code
        conn.execute("UPDATE cad.land_use SET retired_at = now() WHERE parcel_id = %s", (pid,))
        conn.execute(
            "INSERT INTO cad.land_use (parcel_id, code, area) VALUES (%s, 'BHK', %s)", (pid, area)
        )
    v = version_of(demo_db, pid)
    uses = [{"code": "BHK", "area": round(area - 10, 1)}, {"code": "HNK", "area": 10.0}]
    assert (
        call(editor.dsn, "SELECT api.set_land_uses(%s, %s, %s)", (pid, v, json.dumps(uses)))
        == v + 1
    )


BAD_USES = [
    ("NULL", None, "22023", None),
    ("object, not array", {"code": "ONT", "area": 1}, "22023", None),
    ("empty", [], "22023", None),
    ("too many", [{"code": "ONT", "area": 1}] * 21, "22023", None),
    ("unknown code", [{"code": "XYZ", "area": "AREA"}], "22023", "XYZ"),
    ("legacy code", [{"code": "BHK", "area": "AREA"}], "22023", "mã hiện hành tương ứng là HNK"),
    ("SQL in code", [{"code": "ONT'; DROP TABLE x; --", "area": "AREA"}], "22023", None),
    ("code not text", [{"code": 5, "area": "AREA"}], "22023", None),
    ("sum differs", [{"code": "ONT", "area": 1.0}], "23514", "diện tích pháp lý"),
    (
        "negative area",
        [{"code": "ONT", "area": -1}, {"code": "CLN", "area": "AREA+1"}],
        "22023",
        None,
    ),
    ("area as text", [{"code": "ONT", "area": "100"}], "22023", None),
    ("area 3 decimals", [{"code": "ONT", "area": 0.125}], "22023", None),
    ("unknown field", [{"code": "ONT", "area": "AREA", "hack": 1}], "22023", "hack"),
    ("bad date", [{"code": "ONT", "area": "AREA", "term_until": "31/12/2070"}], "22023", None),
    ("huge origin", [{"code": "ONT", "area": "AREA", "origin": "x" * 100_000}], "22023", None),
    ("item not object", ["ONT"], "22023", None),
]


@pytest.mark.parametrize("case", BAD_USES, ids=[c[0] for c in BAD_USES])
def test_set_land_uses_refuses_bad_input(demo_db, person_factory, communes, parcels, case):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    v = version_of(demo_db, pid)
    area = float(one(demo_db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    _, uses, state, says = case
    text = None if uses is None else json.dumps(uses)
    if text:
        text = text.replace('"AREA+1"', str(area + 1)).replace('"AREA"', str(area))
    before = snapshot(demo_db, pid)
    error = refused(editor.dsn, "SELECT api.set_land_uses(%s, %s, %s::jsonb)", (pid, v, text))
    assert error.sqlstate == state
    if says:
        assert says in error.diag.message_primary
    assert snapshot(demo_db, pid) == before


# --- persons -------------------------------------------------------------------------------
def test_create_and_update_a_person(demo_db, person_factory, communes):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị Hồng  ")
    pid = call(
        editor.dsn,
        "SELECT api.create_party('ca_nhan', %s, 'nu', 1985, 'cccd', '079185000777', %s)",
        (decomposed, "Số 3, Ấp Tân Hòa"),
    )
    row = one(
        demo_db,
        "SELECT full_name, name_folded, id_number, version FROM cad.party WHERE id = %s",
        (pid,),
    )
    assert row == ("Nguyễn Thị Hồng", "nguyen thi hong", "079185000777", 1)
    assert unicodedata.is_normalized("NFC", row[0])
    # Ê Đê names carry apostrophes; organisations carry digits and marks.
    assert call(editor.dsn, "SELECT api.create_party('ca_nhan', 'H''Hen Niê')")
    assert call(
        editor.dsn,
        "SELECT api.create_party('to_chuc', 'Công ty TNHH Xây dựng số 1 (Bình Phước)', "
        "p_id_kind => 'mst', p_id_number => '3801234567')",
    )
    # Update with the version read; a stale one is refused.
    assert (
        call(editor.dsn, "SELECT api.update_party(%s, 1, p_address => 'Số 5, Ấp 2')", (pid,)) == 2
    )
    error = refused(editor.dsn, "SELECT api.update_party(%s, 1, 'Nguyễn Thị Hà')", (pid,))
    assert error.sqlstate == "40001" and "Số 5, Ấp 2" in error.diag.message_detail
    # One identity document names one person.
    other = call(editor.dsn, "SELECT api.create_party('ca_nhan', 'Trần Văn Bình')")
    error = refused(
        editor.dsn,
        "SELECT api.update_party(%s, 1, p_id_kind => 'cccd', p_id_number => '079185000777')",
        (other,),
    )
    assert error.sqlstate == "23505" and str(pid) in error.diag.message_primary
    assert one(demo_db, "SELECT full_name, version FROM cad.party WHERE id = %s", (pid,)) == (
        "Nguyễn Thị Hồng",
        2,
    )


BAD_PARTIES = [
    ("unknown kind", ("nguoi", "Nguyễn An", None, None, None, None)),
    ("NULL kind", (None, "Nguyễn An", None, None, None, None)),
    ("NULL name", ("ca_nhan", None, None, None, None, None)),
    ("blank name", ("ca_nhan", " \t ", None, None, None, None)),
    ("huge name", ("ca_nhan", "An " * 100_000, None, None, None, None)),
    ("SQL in name", ("ca_nhan", "Robert'); DROP TABLE cad.party; --", None, None, None, None)),
    ("semicolon in organisation", ("to_chuc", "Công ty A; DELETE FROM x", None, None, None, None)),
    (
        "control character",
        ("ca_nhan", "Nguyễn\x00An".replace("\x00", "\x1b"), None, None, None, None),
    ),
    ("digits in a person's name", ("ca_nhan", "Nguyễn Văn 2", None, None, None, None)),
    ("CCCD of 11 digits", ("ca_nhan", "Lê Văn Tư", None, None, "cccd", "07918500077")),
    ("CMND with letters", ("ca_nhan", "Lê Văn Tư", None, None, "cmnd", "07918500A")),
    ("number without kind", ("ca_nhan", "Lê Văn Tư", None, None, None, "079185000778")),
    ("unknown document kind", ("ca_nhan", "Lê Văn Tư", None, None, "ssn", "079185000778")),
    ("organisation with a CCCD", ("to_chuc", "Công ty B", None, None, "cccd", "079185000779")),
    ("gender of an organisation", ("to_chuc", "Công ty B", "nam", None, None, None)),
    ("unknown gender", ("ca_nhan", "Lê Văn Tư", "x", None, None, None)),
    ("birth year 1700", ("ca_nhan", "Lê Văn Tư", None, 1700, None, None)),
]


@pytest.mark.parametrize("case", BAD_PARTIES, ids=[c[0] for c in BAD_PARTIES])
def test_create_party_refuses_bad_input(demo_db, person_factory, communes, case):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    count = one(demo_db, "SELECT count(*) FROM cad.party")
    error = refused(editor.dsn, "SELECT api.create_party(%s, %s, %s, %s::int, %s, %s)", case[1])
    assert error.sqlstate == "22023"
    assert error.diag.message_primary
    assert one(demo_db, "SELECT count(*) FROM cad.party") == count


# --- rights, change sets, certificates -----------------------------------------------------
def test_transfer_inside_a_change_set(demo_db, person_factory, communes, parcels):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    viewer = person_factory(demo_db, rights=VIEWER, communes=[a])
    pid = parcels(a)
    old_right = one(
        demo_db, "SELECT id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL", (pid,)
    )
    buyer = call(
        editor.dsn,
        "SELECT api.create_party('ca_nhan', 'Phạm Văn Mua', 'nam', 1990, 'cccd', '079190001234')",
    )
    assert buyer not in {
        r[0] for r in psycopg.connect(viewer.dsn).execute("SELECT id FROM cad.party")
    }
    with psycopg.connect(editor.dsn) as conn:  # one transaction, as the GUI would send it
        mutation = conn.execute(
            "SELECT api.create_mutation('chuyen_quyen', 'Chuyển nhượng quyền sử dụng đất', "
            "'HS-2026-000123')"
        ).fetchone()[0]
        assert conn.execute("SELECT current_setting('landrec.change_set')").fetchone()[0] == str(
            mutation
        )
        conn.execute("SELECT api.end_right(%s, NULL, %s)", (old_right, mutation))
        new_right = conn.execute(
            "SELECT api.grant_right(%s, %s, 'su_dung', 1, NULL, NULL, %s)", (pid, buyer, mutation)
        ).fetchone()[0]
        assert conn.execute("SELECT current_setting('landrec.change_set')").fetchone()[0] == str(
            mutation
        )
        # Outside a change set the setting is cleared, so audit never files a change wrongly.
        conn.execute(
            "SELECT api.update_parcel(%s, %s, 'Số 8, Ấp Mới', NULL)",
            (pid, version_of(demo_db, pid)),
        )
        assert conn.execute("SELECT current_setting('landrec.change_set')").fetchone()[0] == ""
    assert one(
        demo_db, "SELECT valid_to = current_date FROM cad.land_right WHERE id = %s", (old_right,)
    )
    assert one(demo_db, "SELECT party_id FROM cad.land_right WHERE id = %s", (new_right,)) == buyer
    assert one(
        demo_db,
        "SELECT status, created_by, dossier_number FROM cad.mutation WHERE id = %s",
        (mutation,),
    ) == ("nhap", editor.role, "HS-2026-000123")
    assert one(
        demo_db,
        "SELECT array_agg(parcel_id) FROM cad.mutation_parcel WHERE mutation_id = %s",
        (mutation,),
    ) == [pid]
    # The buyer now holds a right in A: A's officer sees them, and the change set.
    assert buyer in {r[0] for r in psycopg.connect(viewer.dsn).execute("SELECT id FROM cad.party")}
    assert one(viewer.dsn, "SELECT count(*) FROM cad.mutation WHERE id = %s", (mutation,)) == 1


def test_change_sets_belong_to_their_drafter(demo_db, person_factory, communes, parcels):
    a, b = communes
    drafter = person_factory(demo_db, rights=EDITOR, communes=[a])
    colleague = person_factory(demo_db, rights=EDITOR, communes=[a])
    officer_b = person_factory(demo_db, rights=VIEWER, communes=[b])
    mutation = call(drafter.dsn, "SELECT api.create_mutation('thay_doi_thuoc_tinh', 'Sửa địa chỉ')")
    assert one(drafter.dsn, "SELECT count(*) FROM cad.mutation WHERE id = %s", (mutation,)) == 1
    assert one(officer_b.dsn, "SELECT count(*) FROM cad.mutation WHERE id = %s", (mutation,)) == 0
    pid = parcels(a)
    before = snapshot(demo_db, pid)
    error = refused(
        colleague.dsn,
        "SELECT api.update_parcel(%s, %s, 'Số 2', NULL, %s)",
        (pid, version_of(demo_db, pid), mutation),
    )
    assert error.sqlstate == "42501" and drafter.role in error.diag.message_primary
    error = refused(
        drafter.dsn,
        "SELECT api.update_parcel(%s, %s, 'Số 2', NULL, %s)",
        (pid, version_of(demo_db, pid), 10**12),
    )
    assert error.sqlstate == "22023"
    assert snapshot(demo_db, pid) == before


BAD_MUTATIONS = [
    ("unknown kind", ("ban_thua", "Lý do", None)),
    ("NULL kind", (None, "Lý do", None)),
    ("NULL reason", ("tach_thua", None, None)),
    ("huge reason", ("tach_thua", "x" * 100_000, None)),
    ("SQL in dossier number", ("tach_thua", "Lý do", "HS-1'; DROP TABLE x; --")),
]


@pytest.mark.parametrize("case", BAD_MUTATIONS, ids=[c[0] for c in BAD_MUTATIONS])
def test_create_mutation_refuses_bad_input(demo_db, person_factory, communes, case):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    count = one(demo_db, "SELECT count(*) FROM cad.mutation")
    error = refused(editor.dsn, "SELECT api.create_mutation(%s, %s, %s)", case[1])
    assert error.sqlstate == "22023"
    assert one(demo_db, "SELECT count(*) FROM cad.mutation") == count


def test_grant_right_rules(demo_db, person_factory, communes, parcels):
    a, _ = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    holder = one(
        demo_db,
        "SELECT party_id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL",
        (pid,),
    )
    someone = call(editor.dsn, "SELECT api.create_party('ca_nhan', 'Đỗ Thị Lan')")
    before = snapshot(demo_db, pid)
    grant = "SELECT api.grant_right(%s, %s, %s, %s::numeric, %s::date)"
    cases = [
        ((pid, someone, "su_dung", 0.5, None), "23514"),  # shares would pass 1
        ((pid, holder, "su_dung", 0.1, None), "23514"),  # already holds it
        ((pid, 10**12, "su_dung", 0.1, None), "22023"),  # no such person
        ((pid, None, "su_dung", 0.1, None), "22023"),
        ((pid, someone, "chiem_huu", 0.1, None), "22023"),  # no such kind
        ((pid, someone, "quan_ly", 0, None), "22023"),
        ((pid, someone, "quan_ly", 1.5, None), "22023"),
        ((pid, someone, "quan_ly", None, None), "22023"),
        ((pid, someone, "quan_ly", 0.5, "2999-01-01"), "22023"),  # starts in the future
        ((None, someone, "quan_ly", 0.5, None), "22023"),
    ]
    for args, state in cases:
        assert refused(editor.dsn, grant, args).sqlstate == state, args
    assert snapshot(demo_db, pid) == before
    # Allowed: a management right beside the use right.
    rid = call(editor.dsn, grant, (pid, someone, "quan_ly", 0.5, None))
    assert one(demo_db, "SELECT kind, share FROM cad.land_right WHERE id = %s", (rid,)) == (
        "quan_ly",
        0.5,
    )
    # Ending: once, not before it began, not in the future.
    assert refused(editor.dsn, "SELECT api.end_right(%s, '2999-01-01')", (rid,)).sqlstate == "22023"
    call(editor.dsn, "SELECT api.end_right(%s)", (rid,))
    assert refused(editor.dsn, "SELECT api.end_right(%s)", (rid,)).sqlstate == "55000"
    assert refused(editor.dsn, "SELECT api.end_right(NULL)").sqlstate == "22023"


def test_issue_a_certificate(demo_db, person_factory, communes, parcels):
    a, b = communes
    editor = person_factory(demo_db, rights=EDITOR, communes=[a])
    pid = parcels(a)
    old = one(
        demo_db,
        "SELECT certificate_id FROM cad.certificate_parcel cp JOIN cad.certificate c "
        "ON c.id = cp.certificate_id WHERE parcel_id = %s AND c.status = 'hieu_luc' LIMIT 1",
        (pid,),
    )
    other_holder = parcels(a)  # a parcel of another holder
    parcel_b = parcels(b)
    issue = "SELECT api.issue_certificate(%s, %s, %s::date, %s, %s::bigint[], %s::bigint)"
    before = snapshot(demo_db, pid)
    cases = [
        (("BD123456", "CH1", "2026-01-02", "UBND tỉnh", [pid], None), "22023"),  # no space
        (("BD 123", "CH1", "2026-01-02", "UBND tỉnh", [pid], None), "22023"),
        (("BD 1234567", "CH1", "2999-01-02", "UBND tỉnh", [pid], None), "22023"),  # future
        (("BD 1234567", "CH1; --", "2020-01-02", "UBND tỉnh", [pid], None), "22023"),
        (("BD 1234567", "CH1", "2020-01-02", "UBND'); DROP TABLE x; --", [pid], None), "22023"),
        (("BD 1234567", "CH1", "2020-01-02", "UBND tỉnh", [], None), "22023"),
        (("BD 1234567", "CH1", "2020-01-02", "UBND tỉnh", [pid, None], None), "22023"),
        (("BD 1234567", "CH1", "2020-01-02", "UBND tỉnh", [pid, pid], None), "22023"),
        (("BD 1234567", "CH1", "2020-01-02", "UBND tỉnh", [pid, parcel_b], None), "42501"),
        (("BD 1234567", "CH1", "2020-01-02", "UBND tỉnh", [pid, other_holder], None), "23514"),
        (("BD 100000", "CH1", "2020-01-02", "UBND tỉnh", [pid], None), "23505"),  # serial taken
    ]
    for args, state in cases:
        assert refused(editor.dsn, issue, args).sqlstate == state, args
    assert snapshot(demo_db, pid) == before
    cert = call(
        editor.dsn,
        issue,
        ("bd 7654321", "CS 00123", "2026-01-02", "Văn phòng đăng ký đất đai tỉnh", [pid], old),
    )
    assert one(demo_db, "SELECT serial, status FROM cad.certificate WHERE id = %s", (cert,)) == (
        "BD 7654321",
        "hieu_luc",
    )
    assert {r[5] for r in snapshot(demo_db, pid)["rights"] if r[4] is None} == {cert}
    if old is not None:
        assert one(
            demo_db, "SELECT status, replaced_by FROM cad.certificate WHERE id = %s", (old,)
        ) == ("cap_doi", cert)


def test_locked_or_other_subsystem_editor_is_refused(demo_db, person_factory, communes, parcels):
    a, _ = communes
    locked = person_factory(demo_db, rights=EDITOR, communes=[a])
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE sys.account SET state = 'locked', lock_reason = '5 lần đăng nhập sai', "
            "locked_at = now() WHERE role_name = %s",
            (locked.role,),
        )
    price_editor = person_factory(demo_db, rights={"land_price": ["editor"]}, communes=[a])
    pid = parcels(a)
    before = snapshot(demo_db, pid)
    update = "SELECT api.update_parcel(%s, %s, 'Số 1', NULL)"
    error = refused(locked.dsn, update, (pid, version_of(demo_db, pid)))
    assert error.sqlstate == "28000" and "khóa" in error.diag.message_primary
    error = refused(price_editor.dsn, update, (pid, version_of(demo_db, pid)))
    assert error.sqlstate == "42501"
    assert snapshot(demo_db, pid) == before


def test_first_login_must_change_the_password_before_writing(
    demo_db, person_factory, communes, parcels
):
    a, _ = communes
    fresh = person_factory(demo_db, rights=EDITOR, communes=[a])
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE sys.account SET must_change_password = true WHERE role_name = %s",
            (fresh.role,),
        )
    pid = parcels(a)
    before = snapshot(demo_db, pid)
    error = refused(
        fresh.dsn, "SELECT api.update_parcel(%s, %s, 'Số 1', NULL)", (pid, version_of(demo_db, pid))
    )
    # The first-login rule lives in the helpers (0007); the API names the reason.
    assert error.sqlstate == "28000" and "đổi mật khẩu" in error.diag.message_primary
    assert snapshot(demo_db, pid) == before
