"""Official records change only through an approved change set (migration 0027).

Issue 3's direct write API (api.update_parcel, set_land_uses, create_party, update_party,
grant_right, end_right, issue_certificate) now refuses every caller with 42501 and a
Vietnamese message pointing to the change sets; no person role may write a table; a
party's details are corrected by a change-set item (op 'party').

Every validation the old direct-function tests covered is still covered, now on the
change-set path (draft → submit → approve):
  * bad parcel input (address, legal area, NULL ids/versions, nothing to change): here,
    test_bad_attribute_drafts_are_refused_and_store_nothing;
  * bad purposes (unknown / legacy code, sums, fields, types): here (same test) and
    tests/test_change_sets.py::test_unknown_land_use_code / test_attribute_and_land_use_change;
  * purposes replaced, old ones kept as history, legacy code kept where the parcel has it:
    test_change_sets.py::test_attribute_and_land_use_change, and here
    test_an_attribute_change_is_official_only_after_approval;
  * stale version naming what changed: here (parcel and party) and
    test_change_sets.py::test_concurrent_edit_of_one_parcel and
    ::test_approval_of_a_stale_change_set_is_refused;
  * officer of another commune refused with the commune named: here (draft and approval);
  * viewer refused: here and test_change_sets.py::test_viewer_cannot_draft,
    test_rights_mortgages_certificates.py::test_a_viewer_cannot_draft_and_the_author_cannot_approve;
  * locked account, other-subsystem editor, first login must change the password: here;
  * new persons (NFC names, document formats, a known document reuses the party):
    test_rights_mortgages_certificates.py::test_bad_transfers_are_refused_with_clear_messages_and_change_nothing
    and ::test_a_known_identity_number_reuses_the_party; corrections of a person: here;
  * rights (shares, duplicates, unknown party) and their ending:
    test_rights_mortgages_certificates.py::test_bad_transfers_… and
    ::test_transfer_approved_closes_old_rights_and_history_keeps_the_old_holder;
  * certificates (serial format and reuse, holders, replacement, area):
    test_rights_mortgages_certificates.py::test_certificate_for_the_new_holders_replaces_the_old_one,
    ::test_one_certificate_for_two_parcels_of_the_same_new_holder,
    ::test_a_serial_is_used_once_even_across_open_drafts;
  * change sets belong to their drafter, bad api.create_mutation input: here.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterator

import psycopg
import psycopg.conninfo
import pytest
from conftest import busiest_communes, database_copy

from app.edit import changeset as cs
from app.edit.changeset import PartyUpdate

EDITOR = {"cadastral": ["editor"]}
APPROVER = {"cadastral": ["approver"]}
VIEWER = {"cadastral": ["viewer"]}
REFUSAL = "Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động"
RETIRED = [
    "update_parcel",
    "set_land_uses",
    "create_party",
    "update_party",
    "grant_right",
    "end_right",
    "issue_certificate",
]
# The records, plus their history, the audit log and the accounts: no person writes any.
SCHEMAS = ("cad", "ref", "price", "plan", "inv", "doc", "hist", "audit", "sys")


# --- fixtures and helpers ------------------------------------------------------------------
@pytest.fixture(scope="module")
def db(demo_db: str) -> Iterator[str]:
    """A private copy of the demo database: approvals here change parties and parcels."""
    with database_copy(demo_db, "wapi") as dsn:
        yield dsn


def one(dsn: str, sql: str, params: tuple = ()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0] if len(row) == 1 else row


def refused(dsn: str, sql: str, params: tuple = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        one(dsn, sql, params)
    return caught.value


@pytest.fixture(scope="module")
def communes(db: str) -> tuple[int, int]:
    a, b = busiest_communes(db)
    return a, b


@pytest.fixture(scope="module")
def picks(db: str, communes: tuple[int, int]):
    """Hand out (parcel, its only holder) pairs of a commune, the holder a person whose
    rights in force all lie in that commune; each parcel and person once."""
    taken: set[int] = set()

    def take(commune: int) -> tuple[int, int]:
        rows = (
            psycopg.connect(db)
            .execute(
                """
            SELECT p.id, r.party_id FROM cad.parcel p
            JOIN cad.land_right r ON r.parcel_id = p.id AND r.valid_to IS NULL
            JOIN cad.party pa ON pa.id = r.party_id AND pa.kind = 'ca_nhan'
            WHERE p.commune_id = %s AND p.retired_at IS NULL AND p.area_legal IS NOT NULL
              AND (SELECT count(*) FROM cad.land_right x
                   WHERE x.parcel_id = p.id AND x.valid_to IS NULL) = 1
              AND NOT EXISTS (SELECT 1 FROM cad.land_right y JOIN cad.parcel q ON q.id = y.parcel_id
                              WHERE y.party_id = r.party_id AND y.valid_to IS NULL
                                AND q.commune_id <> p.commune_id)
            ORDER BY p.id DESC LIMIT 400
            """,
                (commune,),
            )
            .fetchall()
        )
        for pid, party in rows:
            if pid not in taken and party not in taken:
                taken.update((pid, party))
                return pid, party
        raise AssertionError("no free parcel")

    return take


def state(db: str, pid: int, party: int) -> tuple:
    """Everything a refused call might have touched, as the owner sees it."""
    return one(
        db,
        "SELECT (SELECT row(address, area_legal, version, retired_at)::text FROM cad.parcel"
        "        WHERE id = %s),"
        " (SELECT string_agg(code || area || coalesce(retired_at::text, '-'), ',' ORDER BY id)"
        "  FROM cad.land_use WHERE parcel_id = %s),"
        " (SELECT string_agg(id || ':' || coalesce(valid_to::text, '-')"
        "  || coalesce(certificate_id, 0), ',' ORDER BY id)"
        "  FROM cad.land_right WHERE parcel_id = %s),"
        " (SELECT row(full_name, id_kind, id_number, address, version)::text FROM cad.party"
        "  WHERE id = %s),"
        " (SELECT count(*) FROM cad.party), (SELECT count(*) FROM cad.certificate),"
        " (SELECT count(*) FROM cad.change_item), (SELECT count(*) FROM audit.log)",
        (pid, pid, pid, party),
    )


def version_of(db: str, pid: int) -> int:
    return one(db, "SELECT version FROM cad.parcel WHERE id = %s", (pid,))


def party_version(db: str, party: int) -> int:
    return one(db, "SELECT version FROM cad.party WHERE id = %s", (party,))


def commune_name(db: str, commune: int) -> str:
    return one(db, "SELECT name FROM ref.admin_unit WHERE id = %s", (commune,))


def retired_calls(db: str, pid: int, party: int) -> list[tuple[str, str, tuple]]:
    right = one(
        db, "SELECT id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL", (pid,)
    )
    v = version_of(db, pid)
    area = one(db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,))
    uses = f'[{{"code": "ONT", "area": {area}}}]'
    return [
        ("update_parcel", "SELECT api.update_parcel(%s, %s, 'Số 1, Ấp Mới', NULL)", (pid, v)),
        ("set_land_uses", "SELECT api.set_land_uses(%s, %s, %s::jsonb)", (pid, v, uses)),
        ("create_party", "SELECT api.create_party('ca_nhan', 'Nguyễn Văn An')", ()),
        ("update_party", "SELECT api.update_party(%s, %s, 'Nguyễn Văn An')",
         (party, party_version(db, party))),
        ("grant_right", "SELECT api.grant_right(%s, %s, 'quan_ly', 0.5)", (pid, party)),
        ("end_right", "SELECT api.end_right(%s)", (right,)),
        ("issue_certificate",
         "SELECT api.issue_certificate('BD 999001', 'CH99001', current_date, 'UBND tỉnh', "
         "ARRAY[%s]::bigint[])", (pid,)),
    ]  # fmt: skip


# --- the direct writers are retired ------------------------------------------------------
@pytest.mark.parametrize("who", ["editor", "approver", "editor_and_approver_of_the_province"])
def test_a_direct_call_of_each_retired_writer_is_refused_and_changes_nothing(
    db, person_factory, communes, picks, who
):
    a, _ = communes
    rights = {
        "editor": EDITOR,
        "approver": APPROVER,
        "editor_and_approver_of_the_province": {"cadastral": ["editor", "approver"]},
    }[who]
    person = person_factory(
        db, rights=rights, communes=[a], whole_province=who.endswith("province")
    )
    pid, party = picks(a)
    before = state(db, pid, party)
    calls = retired_calls(db, pid, party)
    assert [c[0] for c in calls] == RETIRED
    for name, sql, params in calls:
        error = refused(person.dsn, sql, params)
        assert error.sqlstate == "42501", name
        message = error.diag.message_primary
        assert message.startswith(REFUSAL), message
        assert f"api.{name} không còn ghi trực tiếp được" in message
        assert "api.cs_draft_" in message  # names the change-set function to use
    # Row, version, purposes, rights, party, counts and the audit log: all unchanged.
    assert state(db, pid, party) == before


def test_the_retired_writers_hold_no_owner_privilege_and_refuse_the_owner_too(db, communes, picks):
    rows = (
        psycopg.connect(db)
        .execute(
            "SELECT p.proname, p.prosecdef, p.prosrc FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'api' AND p.proname = ANY (%s) ORDER BY 1",
            (RETIRED,),
        )
        .fetchall()
    )
    assert sorted(r[0] for r in rows) == sorted(RETIRED)  # one signature each, kept
    for name, definer, body in rows:
        assert definer is False, name  # SECURITY INVOKER: nothing of the owner's rights
        words = body.upper()
        assert "INSERT" not in words and "UPDATE " not in words and "DELETE" not in words, name
        assert "RAISE EXCEPTION" in words
    # Whoever still may run them (the owner, a superuser) meets the same refusal.
    pid, party = picks(communes[0])
    before = state(db, pid, party)
    for name, sql, params in retired_calls(db, pid, party):
        error = refused(db, sql, params)
        assert error.sqlstate == "42501" and error.diag.message_primary.startswith(REFUSAL), name
    assert state(db, pid, party) == before


def test_no_person_role_may_write_any_table(db):
    """Every table of cad/ref/price/plan/inv/doc (and hist/audit/sys), every lr_* role
    (inherited grants included): no INSERT, UPDATE, DELETE or TRUNCATE; information_schema
    lists no such grant, on a table or a column."""
    with psycopg.connect(db) as conn:
        roles = [r[0] for r in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'lr\\_%' ORDER BY 1"
        ).fetchall()]  # fmt: skip
        tables = conn.execute(
            "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname = ANY (%s) ORDER BY 1",
            (list(SCHEMAS),),
        ).fetchall()
        assert "lr_person" in roles and "lr_cadastral_editor" in roles
        assert "lr_cadastral_approver" in roles and len(roles) >= 10
        assert len(tables) >= 50 and ("cad.parcel",) in tables and ("cad.party",) in tables
        writable = conn.execute(
            "SELECT r, t, p FROM unnest(%s::text[]) r, unnest(%s::text[]) t, "
            "unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p "
            "WHERE has_table_privilege(r, t, p)",
            (roles, [t[0] for t in tables]),
        ).fetchall()
        # The one exception: lr_agent, the log-reading service (not a person, 0007), keeps
        # its read position in sys.agent_log_position.
        assert {
            w for w in writable if w[0] != "lr_agent" or w[1] != "sys.agent_log_position"
        } == set()
        granted = conn.execute(
            "SELECT grantee, table_schema, table_name, privilege_type "
            "FROM information_schema.role_table_grants "
            "WHERE grantee LIKE 'lr\\_%%' AND table_schema = ANY (%s) "
            "AND privilege_type NOT IN ('SELECT') "
            "AND NOT (grantee = 'lr_agent' AND table_name = 'agent_log_position')",
            (list(SCHEMAS),),
        ).fetchall()
        assert granted == []
        # Nor may a person write a column (column grants are separate from table grants).
        columns = conn.execute(
            "SELECT grantee, table_schema, table_name, column_name, privilege_type "
            "FROM information_schema.column_privileges "
            "WHERE grantee LIKE 'lr\\_%%' AND table_schema = ANY (%s) "
            "AND privilege_type NOT IN ('SELECT') "
            "AND NOT (grantee = 'lr_agent' AND table_name = 'agent_log_position')",
            (list(SCHEMAS),),
        ).fetchall()
        assert columns == []


def test_an_editor_cannot_write_a_table_with_plain_sql(db, person_factory, communes, picks):
    a, _ = communes
    editor = person_factory(db, rights=EDITOR, communes=[a])
    pid, party = picks(a)
    before = state(db, pid, party)
    for sql in (
        "UPDATE cad.parcel SET area_legal = 1 WHERE id = %s",
        "DELETE FROM cad.land_use WHERE parcel_id = %s",
        "INSERT INTO cad.land_right (parcel_id, party_id, kind, share) "
        "VALUES (%s, 1, 'su_dung', 1)",
    ):
        error = refused(editor.dsn, sql, (pid,))
        assert error.sqlstate == "42501" and "permission denied" in str(error)
    error = refused(editor.dsn, "UPDATE cad.party SET full_name = 'X' WHERE id = %s", (party,))
    assert error.sqlstate == "42501"
    assert state(db, pid, party) == before


# --- parcels through change sets ----------------------------------------------------------
def test_an_attribute_change_is_official_only_after_approval(db, person_factory, communes, picks):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    approver = person_factory(db, rights=APPROVER, communes=[a])
    pid, _ = picks(a)
    v = version_of(db, pid)
    area = float(one(db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Sửa địa chỉ và mục đích")
    uses = [{"code": "ONT", "area": 100.0}, {"code": "cln", "area": round(area - 100.0, 1)}]
    drafted = cs.draft_attributes(
        clerk, cs_id, pid, v, {"address": "Số 12/3, Ấp Phước Hòa", "land_uses": uses}
    )
    assert list(drafted) == [] and drafted.item_id
    assert version_of(db, pid) == v  # a draft is not official
    cs.submit(clerk, cs_id)
    assert version_of(db, pid) == v  # nor a submitted set
    with psycopg.connect(approver.dsn, autocommit=True) as conn:
        cs.approve(conn, cs_id, "Đồng ý")
    assert one(db, "SELECT address, version FROM cad.parcel WHERE id = %s", (pid,)) == (
        "Số 12/3, Ấp Phước Hòa", v + 1)  # fmt: skip
    current = (
        psycopg.connect(db)
        .execute(
            "SELECT code, area FROM cad.land_use WHERE parcel_id = %s AND retired_at IS NULL "
            "ORDER BY area DESC",
            (pid,),
        )
        .fetchall()
    )
    assert {(c, float(x)) for c, x in current} == {("ONT", 100.0), ("CLN", round(area - 100, 1))}
    actors = one(
        db,
        "SELECT array_agg(DISTINCT actor) FROM audit.log WHERE table_name = 'cad.parcel' "
        "AND change_set = %s AND row_key = jsonb_build_object('id', %s::bigint)",
        (cs_id, pid),
    )
    assert actors == [approver.role]


BAD_ATTRIBUTES = [
    ("blank address", {"address": "   "}),
    ("huge address", {"address": "Số 1 " * 200_000}),
    ("SQL in address", {"address": "x'; DROP TABLE cad.parcel; --"}),
    ("control character", {"address": "Số 1\x07"}),
    ("negative area", {"area_legal": -5}),
    ("zero area", {"area_legal": 0}),
    ("area as text", {"area_legal": "abc"}),
    ("unknown field", {"hack": 1}),
    ("nothing to change", {}),
    ("purposes not a list", {"land_uses": {"code": "ONT", "area": 1}}),
    ("purpose code not text", {"land_uses": [{"code": 5, "area": "AREA"}]}),
    ("purpose item not object", {"land_uses": ["ONT"]}),
]


@pytest.mark.parametrize("case", BAD_ATTRIBUTES, ids=[c[0] for c in BAD_ATTRIBUTES])
def test_bad_attribute_drafts_are_refused_and_store_nothing(
    db, person_factory, communes, picks, case
):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    pid, party = picks(a)
    area = float(one(db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    attrs = {
        k: ([{**u, "area": area} if u.get("area") == "AREA" else u for u in val]
            if k == "land_uses" and isinstance(val, list) and val and isinstance(val[0], dict)
            else val)
        for k, val in case[1].items()
    }  # fmt: skip
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Thử")
    before = state(db, pid, party)
    with pytest.raises(cs.ChangeSetError) as caught:
        problems = cs.draft_attributes(clerk, cs_id, pid, version_of(db, pid), attrs)
        # Some inputs are validation problems (the item is not stored) rather than errors.
        assert problems.item_id is None and len(problems) > 0
        raise cs.InvalidInput("problems: " + "; ".join(p.message for p in problems), "22023")
    assert caught.value.sqlstate in ("22023", "23514") and str(caught.value)
    assert state(db, pid, party)[:-1] == before[:-1]  # the log holds only the opening
    assert one(db, "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,)) == 0


def test_purpose_problems_name_the_rule(db, person_factory, communes, picks):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    pid, _ = picks(a)
    area = float(one(db, "SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)))
    cs_id = cs.open_change_set(clerk, "chuyen_muc_dich", "Thử")
    v = version_of(db, pid)
    cases = [
        ([{"code": "XYZ", "area": area}], "LAND_USE_CODE", "XYZ"),
        ([{"code": "BHK", "area": area}], "LAND_USE_CODE", "HNK"),  # legacy → current code
        ([{"code": "ONT", "area": 1.0}], "LAND_USE_SUM", ""),
    ]
    for uses, code, says in cases:
        problems = cs.draft_attributes(clerk, cs_id, pid, v, {"land_uses": uses})
        assert problems.item_id is None
        assert any(p.code == code and says in p.message for p in problems), list(problems)
    assert one(db, "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,)) == 0


def test_a_stale_parcel_draft_names_what_changed(db, person_factory, communes, picks):
    a, _ = communes
    first = person_factory(db, rights=EDITOR, communes=[a])
    second = psycopg.connect(
        person_factory(db, rights=EDITOR, whole_province=True).dsn, autocommit=True
    )
    approver = person_factory(db, rights=APPROVER, communes=[a])
    pid, _ = picks(a)
    v = version_of(db, pid)
    with psycopg.connect(first.dsn, autocommit=True) as conn:
        first_cs = cs.open_change_set(conn, "thay_doi_thuoc_tinh", "Đổi địa chỉ")
        cs.draft_attributes(conn, first_cs, pid, v, {"address": "Số 7, Ấp Mới"})
        cs.submit(conn, first_cs)
    with psycopg.connect(approver.dsn, autocommit=True) as conn:
        cs.approve(conn, first_cs, "")
    cs_id = cs.open_change_set(second, "thay_doi_thuoc_tinh", "Đổi địa chỉ lần nữa")
    with pytest.raises(cs.ConflictError) as caught:
        cs.draft_attributes(second, cs_id, pid, v, {"address": "Số 9"})
    message = str(caught.value)
    assert f"phiên bản {v} → {v + 1}" in message and approver.role in message
    assert f"biến động số {first_cs}" in message and first.role in message


# --- party corrections through change sets ------------------------------------------------
def test_a_party_correction_is_drafted_reviewed_and_applied_on_approval(
    db, person_factory, communes, picks
):
    a, _ = communes
    clerk_p = person_factory(db, rights=EDITOR, communes=[a])
    approver = person_factory(db, rights=APPROVER, communes=[a])
    viewer = person_factory(db, rights=VIEWER, communes=[a])
    clerk = psycopg.connect(clerk_p.dsn, autocommit=True)
    _, party = picks(a)
    old = one(db, "SELECT full_name, id_kind, id_number, address, version FROM cad.party "
                  "WHERE id = %s", (party,))  # fmt: skip
    with psycopg.connect(db, autocommit=True) as conn:  # old records: a CMND of 9 digits
        conn.execute("UPDATE cad.party SET id_kind = 'cmnd', id_number = %s WHERE id = %s",
                     (f"{uuid.uuid4().int % 10**9:09d}", party))  # fmt: skip
    cmnd = one(db, "SELECT id_number FROM cad.party WHERE id = %s", (party,))
    v = party_version(db, party)
    cccd = f"{uuid.uuid4().int % 10**12:012d}"
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị Hồng  ")
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Cập nhật CCCD", "HS-2026-77")
    problems = cs.draft_party_update(
        clerk, cs_id, party, v,
        PartyUpdate(full_name=decomposed, id_kind="cccd", id_number=cccd, address=old[3]),
    )  # fmt: skip
    assert list(problems) == [] and problems.item_id is not None
    item = problems.change_set.items[0]
    assert item.op == "party"
    # Only what differs is stored (the address was the same), with the values drafted from.
    assert item.attributes["changes"] == {
        "full_name": "Nguyễn Thị Hồng", "id_kind": "cccd", "id_number": cccd}  # fmt: skip
    assert item.attributes["before"]["id_number"] == cmnd
    # Nothing official yet.
    assert one(db, "SELECT id_number, version FROM cad.party WHERE id = %s", (party,)) == (cmnd, v)
    cs.submit(clerk, cs_id)
    # The commune's approver finds it in the list (the party's parcels joined the set).
    with psycopg.connect(approver.dsn, autocommit=True) as conn:
        assert cs_id in [s.id for s in cs.list_change_sets(conn, "da_nop")]
        review = cs.review(conn, cs_id)
        rec = review["items"][0]
        assert rec["op"] == "party" and rec["label"] == "Sửa thông tin người sử dụng đất"
        fields = {f["field"]: (f["old"], f["new"]) for f in rec["record"]["fields"]}
        assert fields == {"full_name": (old[0], "Nguyễn Thị Hồng"), "id_kind": ("cmnd", "cccd"),
                          "id_number": (cmnd, cccd)}  # fmt: skip
        assert rec["summary"].startswith(f"Sửa thông tin {old[0]}: họ tên «{old[0]}» → «Nguyễn")
        assert f"loại giấy tờ «CMND» → «CCCD»; số giấy tờ «{cmnd}» → «{cccd}»" in rec["summary"]
        audit_before = one(db, "SELECT count(*) FROM audit.log")
        cs.approve(conn, cs_id, "Đúng hồ sơ")
    assert unicodedata.is_normalized("NFC", "Nguyễn Thị Hồng")
    assert one(db, "SELECT full_name, id_kind, id_number, address, version FROM cad.party "
                   "WHERE id = %s", (party,)) == (
        "Nguyễn Thị Hồng", "cccd", cccd, old[3], v + 1)  # fmt: skip
    assert one(db, "SELECT status, decided_by FROM cad.mutation WHERE id = %s", (cs_id,)) == (
        "da_duyet", approver.role)  # fmt: skip
    # The audit log keeps the old row (history) with the approver and the change set.
    log = one(
        db,
        "SELECT actor, old_row ->> 'id_number', new_row ->> 'id_number', old_row ->> 'full_name' "
        "FROM audit.log WHERE table_name = 'cad.party' AND action = 'UPDATE' AND change_set = %s "
        "AND row_key = jsonb_build_object('id', %s::bigint)",
        (cs_id, party),
    )
    assert log == (approver.role, cmnd, cccd, old[0])
    assert one(db, "SELECT count(*) FROM audit.log") > audit_before
    # A viewer reading the decided set sees the documents masked.
    with psycopg.connect(viewer.dsn, autocommit=True) as conn:
        rec = cs.review(conn, cs_id)["items"][0]["record"]
        shown = {f["field"]: (f["old"], f["new"]) for f in rec["fields"]}
        assert cccd not in str(shown) and cmnd not in str(shown)
        assert "*" in shown["id_number"][1]
        attrs = cs.load(conn, cs_id).items[0].attributes
        assert cccd not in str(attrs) and cmnd not in str(attrs)


BAD_PARTY_UPDATES = [
    ("blank name", PartyUpdate(full_name=" \t "), "22023"),
    ("huge name", PartyUpdate(full_name="An " * 100_000), "22023"),
    ("SQL in name", PartyUpdate(full_name="Robert'); DROP TABLE cad.party; --"), "22023"),
    ("control character", PartyUpdate(full_name="Nguyễn\x1bAn"), "22023"),
    ("digits in a person's name", PartyUpdate(full_name="Nguyễn Văn 2"), "22023"),
    ("CCCD of 11 digits", PartyUpdate(id_kind="cccd", id_number="07918500077"), "22023"),
    ("CMND with letters", PartyUpdate(id_kind="cmnd", id_number="07918500A"), "22023"),
    ("number without kind", PartyUpdate(id_number="079185000778"), "22023"),
    ("unknown document kind", PartyUpdate(id_kind="ssn", id_number="079185000778"), "22023"),
    ("unknown gender", PartyUpdate(gender="x"), "22023"),
    ("birth year 1700", PartyUpdate(birth_year=1700), "22023"),
    ("blank address", PartyUpdate(address="   "), "22023"),
    ("SQL in address", PartyUpdate(address="x'; DROP TABLE x; --"), "22023"),
    ("nothing to change", PartyUpdate(), "22023"),
    ("document of another party", PartyUpdate(id_kind="cccd", id_number="TAKEN"), "23505"),
]


@pytest.mark.parametrize("case", BAD_PARTY_UPDATES, ids=[c[0] for c in BAD_PARTY_UPDATES])
def test_bad_party_corrections_are_refused_and_store_nothing(
    db, person_factory, communes, picks, case
):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    pid, party = picks(a)
    update = case[1]
    if update.id_number == "TAKEN":
        update = PartyUpdate(id_kind="cccd", id_number=one(
            db, "SELECT id_number FROM cad.party WHERE id_kind = 'cccd' AND id <> %s LIMIT 1",
            (party,)))  # fmt: skip
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Thử")
    before = state(db, pid, party)
    with pytest.raises(cs.InvalidInput) as caught:
        cs.draft_party_update(clerk, cs_id, party, party_version(db, party), update)
    assert caught.value.sqlstate == case[2] and str(caught.value)
    if case[2] == "23505":
        assert "đã thuộc chủ thể mã" in str(caught.value)
    assert state(db, pid, party) == before


def test_an_organisation_has_no_gender_and_the_same_values_are_no_change(
    db, person_factory, communes, picks
):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    # A whole-province clerk: an organisation may hold land in many communes.
    province = psycopg.connect(
        person_factory(db, rights=EDITOR, whole_province=True).dsn, autocommit=True
    )
    company = one(db, "SELECT id FROM cad.party WHERE kind = 'to_chuc' ORDER BY id LIMIT 1")
    cs_p = cs.open_change_set(province, "thay_doi_thuoc_tinh", "Thử")
    for update, says in [
        (PartyUpdate(gender="nam"), "chỉ ghi cho cá nhân"),
        (PartyUpdate(birth_year=1990), "chỉ ghi cho cá nhân"),
        (PartyUpdate(id_kind="cccd", id_number="079185000123"), "mã số thuế"),
    ]:
        with pytest.raises(cs.InvalidInput, match=says):
            cs.draft_party_update(province, cs_p, company, party_version(db, company), update)
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Thử")
    _, party = picks(a)
    name = one(db, "SELECT full_name FROM cad.party WHERE id = %s", (party,))
    with pytest.raises(cs.InvalidInput, match="giống hồ sơ hiện tại"):
        cs.draft_party_update(clerk, cs_id, party, party_version(db, party),
                              PartyUpdate(full_name=name))  # fmt: skip
    assert one(db, "SELECT count(*) FROM cad.change_item WHERE mutation_id IN (%s, %s)",
               (cs_id, cs_p)) == 0  # fmt: skip


def test_a_stale_party_correction_names_what_changed(db, person_factory, communes, picks):
    a, _ = communes
    first = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    second = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    approver_p = person_factory(db, rights=APPROVER, communes=[a])
    approver = psycopg.connect(approver_p.dsn, autocommit=True)
    pid, party = picks(a)
    v = party_version(db, party)
    # The second clerk drafts on version v and submits; the first one's set is approved first.
    late = cs.open_change_set(second, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    assert cs.draft_party_update(second, late, party, v, PartyUpdate(address="Số 9, Ấp 3")).item_id
    cs.submit(second, late)
    early = cs.open_change_set(first, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    cs.draft_party_update(first, early, party, v, PartyUpdate(address="Số 5, Ấp 2"))
    cs.submit(first, early)
    cs.approve(approver, early, "")
    assert party_version(db, party) == v + 1
    before = state(db, pid, party)
    # Its approval is refused with who changed what, and nothing changes.
    with pytest.raises(cs.ConflictError) as caught:
        cs.approve(approver, late, "")
    message = str(caught.value)
    assert f"phiên bản {v} → {v + 1}" in message and approver_p.role in message
    assert f"biến động số {early}" in message and "«Số 5, Ấp 2»" in message
    assert state(db, pid, party) == before
    # validate shows it, and a new draft on the old version is refused the same way.
    assert [p.code for p in cs.validate(second, late)] == ["VERSION_CONFLICT"]
    again = cs.open_change_set(second, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    with pytest.raises(cs.ConflictError, match="Số 5, Ấp 2"):
        cs.draft_party_update(second, again, party, v, PartyUpdate(address="Số 9, Ấp 3"))


def test_a_stale_party_correction_cannot_be_submitted(db, person_factory, communes, picks):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    other = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    approver = psycopg.connect(
        person_factory(db, rights=APPROVER, communes=[a]).dsn, autocommit=True
    )
    _, party = picks(a)
    v = party_version(db, party)
    mine = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Sửa năm sinh")
    cs.draft_party_update(clerk, mine, party, v, PartyUpdate(birth_year=1971))
    theirs = cs.open_change_set(other, "thay_doi_thuoc_tinh", "Sửa tên")
    cs.draft_party_update(other, theirs, party, v, PartyUpdate(full_name="Lê Thị Mận"))
    cs.submit(other, theirs)
    cs.approve(approver, theirs, "")
    with pytest.raises(cs.ConflictError, match="họ tên"):
        cs.submit(clerk, mine)
    assert one(db, "SELECT status FROM cad.mutation WHERE id = %s", (mine,)) == "nhap"


def test_the_other_communes_clerk_and_approver_are_refused_with_the_commune_named(
    db, person_factory, communes, picks
):
    a, b = communes
    clerk_a = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    clerk_b = psycopg.connect(person_factory(db, rights=EDITOR, communes=[b]).dsn, autocommit=True)
    approver_b = psycopg.connect(
        person_factory(db, rights=APPROVER, communes=[b]).dsn, autocommit=True
    )
    pid, party = picks(a)
    name = commune_name(db, a)
    before = state(db, pid, party)
    cs_b = cs.open_change_set(clerk_b, "thay_doi_thuoc_tinh", "Thử")
    with pytest.raises(cs.PermissionDenied) as caught:
        cs.draft_party_update(clerk_b, cs_b, party, party_version(db, party),
                              PartyUpdate(address="Số 1"))  # fmt: skip
    assert name in str(caught.value) and "ngoài địa bàn" in str(caught.value)
    with pytest.raises(cs.PermissionDenied) as caught:
        cs.draft_attributes(clerk_b, cs_b, pid, version_of(db, pid), {"address": "Số 1"})
    assert name in str(caught.value) and "ngoài địa bàn" in str(caught.value)
    # Drafted in A, approved from B: refused, commune named, nothing changes.
    cs_a = cs.open_change_set(clerk_a, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    cs.draft_party_update(clerk_a, cs_a, party, party_version(db, party),
                          PartyUpdate(address="Số 1, Ấp 4"))  # fmt: skip
    cs.submit(clerk_a, cs_a)
    mid = state(db, pid, party)
    with pytest.raises(cs.PermissionDenied) as caught:
        cs.approve(approver_b, cs_a, "")
    assert name in str(caught.value) and "ngoài địa bàn" in str(caught.value)
    assert state(db, pid, party) == mid
    assert before[3] == mid[3]  # the party itself never changed
    assert one(db, "SELECT status FROM cad.mutation WHERE id = %s", (cs_a,)) == "da_nop"


def test_the_author_cannot_approve_a_party_correction(db, person_factory, communes, picks):
    a, _ = communes
    both = psycopg.connect(
        person_factory(db, rights={"cadastral": ["editor", "approver"]}, communes=[a]).dsn,
        autocommit=True,
    )
    _, party = picks(a)
    cs_id = cs.open_change_set(both, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    cs.draft_party_update(both, cs_id, party, party_version(db, party), PartyUpdate(address="Số 3"))
    cs.submit(both, cs_id)
    with pytest.raises(cs.PermissionDenied, match="không được tự phê duyệt"):
        cs.approve(both, cs_id, "")
    assert one(db, "SELECT address <> 'Số 3' OR address IS NULL FROM cad.party WHERE id = %s",
               (party,))  # fmt: skip


def test_removing_a_party_item_takes_its_parcels_out_of_the_set(
    db, person_factory, communes, picks
):
    a, _ = communes
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    pid, party = picks(a)
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    item = cs.draft_party_update(
        clerk, cs_id, party, party_version(db, party), PartyUpdate(address="Số 8")
    ).item_id
    parcels = "SELECT array_agg(parcel_id) FROM cad.mutation_parcel WHERE mutation_id = %s"
    assert pid in one(db, parcels, (cs_id,))
    with pytest.raises(cs.InvalidInput, match="đã có một thay đổi thông tin"):
        cs.draft_party_update(clerk, cs_id, party, party_version(db, party),
                              PartyUpdate(address="Số 9"))  # fmt: skip
    cs.remove_item(clerk, cs_id, item)
    assert one(db, parcels, (cs_id,)) is None
    with pytest.raises(cs.InvalidInput):  # nothing left to submit
        cs.submit(clerk, cs_id)


# --- who may write at all -----------------------------------------------------------------
def test_viewer_locked_account_and_other_subsystem_editor_are_refused(
    db, person_factory, communes, picks
):
    a, _ = communes
    viewer = person_factory(db, rights=VIEWER, communes=[a])
    locked = person_factory(db, rights=EDITOR, communes=[a])
    price_editor = person_factory(db, rights={"land_price": ["editor"]}, communes=[a])
    clerk = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    pid, party = picks(a)
    cs_id = cs.open_change_set(clerk, "thay_doi_thuoc_tinh", "Thử")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE sys.account SET state = 'locked', "
                     "lock_reason = '5 lần đăng nhập sai', locked_at = now() "
                     "WHERE role_name = %s", (locked.role,))  # fmt: skip
    before = state(db, pid, party)
    for person, sqlstate, says in [
        (viewer, "42501", "không có quyền cập nhật trong phân hệ Địa chính"),
        (locked, "28000", "khóa"),
        (price_editor, "42501", "không có quyền cập nhật trong phân hệ Địa chính"),
    ]:
        with psycopg.connect(person.dsn, autocommit=True) as conn:
            with pytest.raises(cs.PermissionDenied) as caught:
                cs.open_change_set(conn, "thay_doi_thuoc_tinh", "Thử")
            assert caught.value.sqlstate == sqlstate and says in str(caught.value)
            # Nor may they draft into someone's set (the right is checked first).
            for draft in (
                lambda: cs.draft_attributes(conn, cs_id, pid, version_of(db, pid),
                                            {"address": "Số 1"}),
                lambda: cs.draft_party_update(conn, cs_id, party, party_version(db, party),
                                              PartyUpdate(address="Số 1")),
            ):  # fmt: skip
                with pytest.raises(cs.PermissionDenied) as caught:
                    draft()
                assert caught.value.sqlstate == sqlstate and says in str(caught.value)
    assert state(db, pid, party) == before


def test_first_login_must_change_the_password_before_writing(db, person_factory, communes, picks):
    a, _ = communes
    fresh = person_factory(db, rights=EDITOR, communes=[a])
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE sys.account SET must_change_password = true WHERE role_name = %s",
                     (fresh.role,))  # fmt: skip
    pid, party = picks(a)
    before = state(db, pid, party)
    with (
        psycopg.connect(fresh.dsn, autocommit=True) as conn,
        pytest.raises(cs.PermissionDenied) as caught,
    ):
        cs.open_change_set(conn, "thay_doi_thuoc_tinh", "Thử")
    # The first-login rule lives in the helpers (0007); the API names the reason.
    assert caught.value.sqlstate == "28000" and "đổi mật khẩu" in str(caught.value)
    assert state(db, pid, party) == before


# --- change sets themselves ---------------------------------------------------------------
def test_change_sets_belong_to_their_drafter(db, person_factory, communes, picks):
    a, b = communes
    drafter = psycopg.connect(person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True)
    colleague = psycopg.connect(
        person_factory(db, rights=EDITOR, communes=[a]).dsn, autocommit=True
    )
    officer_b = person_factory(db, rights=VIEWER, communes=[b])
    pid, party = picks(a)
    cs_id = cs.open_change_set(drafter, "thay_doi_thuoc_tinh", "Sửa địa chỉ")
    assert one(officer_b.dsn, "SELECT count(*) FROM cad.mutation WHERE id = %s", (cs_id,)) == 0
    before = state(db, pid, party)
    for draft in (
        lambda: cs.draft_attributes(colleague, cs_id, pid, version_of(db, pid),
                                    {"address": "Số 2"}),
        lambda: cs.draft_party_update(colleague, cs_id, party, party_version(db, party),
                                      PartyUpdate(address="Số 2")),
    ):  # fmt: skip
        with pytest.raises(cs.PermissionDenied, match="chỉ người lập"):
            draft()
    with pytest.raises(cs.InvalidInput):
        cs.draft_party_update(drafter, 10**12, party, 1, PartyUpdate(address="Số 2"))
    assert state(db, pid, party) == before


BAD_MUTATIONS = [
    ("unknown kind", ("ban_thua", "Lý do", None)),
    ("NULL kind", (None, "Lý do", None)),
    ("NULL reason", ("tach_thua", None, None)),
    ("huge reason", ("tach_thua", "x" * 100_000, None)),
    ("SQL in dossier number", ("tach_thua", "Lý do", "HS-1'; DROP TABLE x; --")),
]


@pytest.mark.parametrize("case", BAD_MUTATIONS, ids=[c[0] for c in BAD_MUTATIONS])
def test_create_mutation_refuses_bad_input(db, person_factory, communes, case):
    a, _ = communes
    editor = person_factory(db, rights=EDITOR, communes=[a])
    count = one(db, "SELECT count(*) FROM cad.mutation")
    error = refused(editor.dsn, "SELECT api.create_mutation(%s, %s, %s)", case[1])
    assert error.sqlstate == "22023"
    assert one(db, "SELECT count(*) FROM cad.mutation") == count
