"""Transfers of rights, mortgages and certificates as change-set items (issue 5 gap).

Like tests/test_change_sets.py, the module works on its own copy of the demo database and
drives everything through real roles: a clerk drafts, another person approves. Refusals are
checked for their Vietnamese message / problem code and for changing nothing (a snapshot of
the records taken by the owner before and after).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import psycopg.conninfo
import pytest
import shapely
from conftest import busiest_communes, database_copy
from shapely.geometry import LineString, Polygon
from shapely.ops import split

from app.edit import changeset as cs
from app.edit.changeset import Certificate, Holder, Mortgage, NewParty

EDITOR = {"cadastral": ["editor"]}
APPROVER = {"cadastral": ["approver"]}
VIEWER = {"cadastral": ["viewer"]}


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def db(demo_db: str) -> Iterator[str]:
    """A private copy of the demo database for this module."""
    with database_copy(demo_db, "rmc") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def communes(db: str) -> tuple[int, int]:
    a, b = busiest_communes(db)
    return a, b


class Parcels:
    """Parcels of commune A with one holder and one certificate in force covering only them,
    handed out once each."""

    def __init__(self, dsn: str, commune: int) -> None:
        self.dsn, self.commune, self.taken = dsn, commune, set()

    def take(self) -> tuple[int, int, Polygon]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                """
                SELECT p.id, p.version, ST_AsBinary(p.geom) FROM cad.parcel p
                WHERE p.commune_id = %s AND p.retired_at IS NULL AND ST_NumGeometries(p.geom) = 1
                  AND (SELECT count(*) FROM cad.land_right r WHERE r.parcel_id = p.id
                       AND r.valid_to IS NULL) = 1
                  AND (SELECT count(*) FROM cad.certificate c
                       JOIN cad.certificate_parcel cp ON cp.certificate_id = c.id
                       WHERE cp.parcel_id = p.id AND c.status = 'hieu_luc'
                         AND NOT EXISTS (SELECT 1 FROM cad.certificate_parcel o
                                         WHERE o.certificate_id = c.id
                                           AND o.parcel_id <> p.id)) = 1
                  AND NOT EXISTS (SELECT 1 FROM cad.restriction x WHERE x.parcel_id = p.id
                                  AND x.valid_to IS NULL)
                ORDER BY p.id LIMIT 300
                """,
                (self.commune,),
            ).fetchall()
        for pid, version, wkb in rows:
            if pid not in self.taken:
                self.taken.add(pid)
                return pid, version, shapely.from_wkb(bytes(wkb)).geoms[0]
        raise AssertionError("no free parcel")


@pytest.fixture(scope="module")
def parcels(db: str, communes: tuple[int, int]) -> Parcels:
    return Parcels(db, communes[0])


@pytest.fixture
def people(db: str, communes: tuple[int, int], person_factory):
    """clerk + clerk2 (editors, A), approver (A), viewer (A), viewer of commune B, and a
    person who is both editor and approver (A)."""
    a, b = communes
    made = {
        "clerk": person_factory(db, rights=EDITOR, communes=[a]),
        "clerk2": person_factory(db, rights=EDITOR, communes=[a]),
        "approver": person_factory(db, rights=APPROVER, communes=[a]),
        "viewer": person_factory(db, rights=VIEWER, communes=[a]),
        "viewer_b": person_factory(db, rights=VIEWER, communes=[b]),
        "both": person_factory(db, rights={"cadastral": ["editor", "approver"]}, communes=[a]),
    }
    conns = {k: psycopg.connect(p.dsn, autocommit=True) for k, p in made.items()}
    yield type("People", (), {**conns, "roles": {k: p.role for k, p in made.items()}})
    for c in conns.values():
        c.close()


def snapshot(dsn: str) -> tuple:
    """The records these items may touch, as the owner sees them."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT (SELECT sum(version) FROM cad.parcel),"
            " (SELECT md5(string_agg(id || ':' || coalesce(valid_to::text, '-') || ':' || share"
            "  || ':' || coalesce(certificate_id, 0), ',' ORDER BY id)) FROM cad.land_right),"
            " (SELECT count(*) FROM cad.party),"
            " (SELECT md5(string_agg(id || status || coalesce(replaced_by, 0), ',' ORDER BY id))"
            "  FROM cad.certificate),"
            " (SELECT md5(coalesce(string_agg(id || ':' || coalesce(released_on::text, '-'),"
            "  ',' ORDER BY id), '')) FROM cad.mortgage)"
        ).fetchone()


def owner(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def items_of(dsn: str, cs_id: int) -> int:
    return owner(dsn, "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,))[0][0]


def holder_of(dsn: str, pid: int) -> tuple[int, str]:
    return owner(
        dsn,
        "SELECT pa.id, pa.full_name FROM cad.land_right r JOIN cad.party pa ON pa.id = r.party_id "
        "WHERE r.parcel_id = %s AND r.valid_to IS NULL",
        (pid,),
    )[0]


def certificate_of(dsn: str, pid: int) -> tuple[int, str]:
    return owner(
        dsn,
        "SELECT c.id, c.serial FROM cad.certificate c JOIN cad.certificate_parcel cp "
        "ON cp.certificate_id = c.id WHERE cp.parcel_id = %s AND c.status = 'hieu_luc'",
        (pid,),
    )[0]


def new_cccd() -> str:
    return f"{uuid.uuid4().int % 10**12:012d}"


def new_serial() -> str:
    return f"ZX {uuid.uuid4().int % 10**8:08d}"


def other_party(dsn: str, not_id: int) -> tuple[int, str]:
    return owner(
        dsn,
        "SELECT id, full_name FROM cad.party WHERE kind = 'ca_nhan' AND id <> %s "
        "ORDER BY id LIMIT 1",
        (not_id,),
    )[0]


def today(dsn: str) -> dt.date:
    return owner(dsn, "SELECT current_date")[0][0]


def approve_set(people, cs_id: int) -> list[int]:
    cs.submit(people.clerk, cs_id)
    return cs.approve(people.approver, cs_id, "Đồng ý")


# --- transfers of rights ------------------------------------------------------------------------
def test_transfer_approved_closes_old_rights_and_history_keeps_the_old_holder(db, people, parcels):
    pid, version, _ = parcels.take()
    old_party, old_name = holder_of(db, pid)
    known_id, known_name = other_party(db, old_party)
    cccd = new_cccd()
    decomposed = "Tra\u0302\u0300n Thi\u0323 Bi\u0301ch"  # NFD on the way in, NFC stored
    cs_id = cs.open_change_set(people.clerk, "chuyen_quyen", "Chuyển nhượng", "HS-CQ/01")
    drafted = cs.draft_rights(
        people.clerk, cs_id, pid, version,
        [Holder("0.5", party=NewParty("ca_nhan", decomposed, "cccd", cccd, 1985, "nu")),
         Holder(Decimal("0.5"), party_id=known_id)],
    )  # fmt: skip
    assert list(drafted) == [] and drafted.item_id
    item = drafted.change_set.items[0]
    assert item.op == "rights" and item.parcel_ids == [pid] and item.base_versions == [version]
    assert item.attributes["holders"][0]["party"]["full_name"] == "Trần Thị Bích"
    assert owner(db, "SELECT count(*) FROM cad.party WHERE id_number = %s", (cccd,)) == [(0,)]
    # The clerk reads the new person's CCCD; a viewer of the change set sees it masked.
    assert item.attributes["holders"][0]["party"]["id_number"] == cccd
    seen = cs.load(people.viewer, cs_id).items[0].attributes["holders"][0]["party"]
    assert seen["id_number"] == cccd[:4] + "******" + cccd[-2:]

    cs.submit(people.clerk, cs_id)
    rv = cs.review(people.approver, cs_id)
    rec = rv["items"][0]["record"]
    assert rv["items"][0]["label"] == "Chuyển quyền"
    assert [h["full_name"] for h in rec["old_holders"]] == [old_name]
    assert [(h["full_name"], h["share"], h["new"]) for h in rec["new_holders"]] == [
        ("Trần Thị Bích", 0.5, True), (known_name, 0.5, False)]  # fmt: skip
    assert rec["new_holders"][0]["id_number_masked"] != cccd  # masked for the review
    assert rv["items"][0]["summary"] == (
        f"Chuyển quyền sử dụng đất: {old_name} (1) → Trần Thị Bích (0,5); {known_name} (0,5)"
    )
    before = dt.datetime.now(dt.UTC)

    cs.approve(people.approver, cs_id, "Đồng ý")
    day = today(db)
    rights = owner(
        db,
        "SELECT r.party_id, pa.full_name, r.share, r.valid_from, r.valid_to FROM cad.land_right r "
        "JOIN cad.party pa ON pa.id = r.party_id WHERE r.parcel_id = %s ORDER BY r.id",
        (pid,),
    )
    old = [r for r in rights if r[0] == old_party]
    new = [r for r in rights if r[4] is None]
    assert len(old) == 1 and old[0][4] == day  # closed on the approval date
    assert sorted((r[1], r[2], r[3]) for r in new) == sorted(
        [("Trần Thị Bích", Decimal("0.5"), day), (known_name, Decimal("0.5"), day)]
    )
    made = owner(
        db,
        "SELECT kind, full_name, birth_year, gender FROM cad.party WHERE id_number = %s",
        (cccd,),
    )
    assert made == [("ca_nhan", "Trần Thị Bích", 1985, "nu")]
    assert owner(db, "SELECT version FROM cad.parcel WHERE id = %s", (pid,)) == [(version + 1,)]
    # The records as of before the approval: the old holder alone, in force.
    then = cs.rights_as_of(people.viewer, pid, before)
    assert [(r["party_id"], r["valid_to"]) for r in then] == [(old_party, None)]
    now = cs.rights_as_of(people.viewer, pid, dt.datetime.now(dt.UTC))
    assert {r["full_name"] for r in now if r["valid_to"] is None} == {"Trần Thị Bích", known_name}
    # hist.parcel names the change set that made the new version.
    assert owner(
        db, "SELECT change_set FROM hist.parcel WHERE id = %s AND version = %s", (pid, version)
    ) == [(cs_id,)]


def test_a_known_identity_number_reuses_the_party(db, people, parcels):
    pid, version, _ = parcels.take()
    known = owner(
        db, "SELECT id, id_number FROM cad.party WHERE id_kind = 'cccd' ORDER BY id LIMIT 1"
    )[0]
    parties = owner(db, "SELECT count(*) FROM cad.party")[0][0]
    cs_id = cs.open_change_set(people.clerk, "chuyen_quyen", "Tặng cho", None)
    drafted = cs.draft_rights(
        people.clerk, cs_id, pid, version,
        [Holder(1, party=NewParty("ca_nhan", "Tên Khác Hẳn", "cccd", known[1]))],
    )  # fmt: skip
    assert list(drafted) == []
    assert drafted.change_set.items[0].attributes["holders"] == [
        {"party_id": known[0], "share": 1, "reused_identity": True}
    ]
    approve_set(people, cs_id)
    assert owner(db, "SELECT count(*) FROM cad.party")[0][0] == parties  # no duplicate person
    assert owner(
        db, "SELECT party_id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL", (pid,)
    ) == [(known[0],)]


def test_bad_transfers_are_refused_with_clear_messages_and_change_nothing(db, people, parcels):
    pid, version, _ = parcels.take()
    old_party, _ = holder_of(db, pid)
    known_id, _ = other_party(db, old_party)
    cs_id = cs.open_change_set(people.clerk, "chuyen_quyen", "Thử", None)
    before = snapshot(db)

    shares = cs.draft_rights(
        people.clerk, cs_id, pid, version,
        [Holder("0.5", party_id=known_id),
         Holder("0.4", party=NewParty("ca_nhan", "Lê Văn Cường"))],
    )  # fmt: skip
    assert shares.item_id is None and [p.code for p in shares] == ["RIGHTS_SHARES"]
    assert "tổng phần quyền của những người nhận là 0,9, phải bằng 1" in shares[0].message
    assert shares[0].parcel_id == pid and shares[0].location.geom_type == "Point"

    unknown = cs.draft_rights(people.clerk, cs_id, pid, version, [Holder(1, party_id=987654321)])
    assert [p.code for p in unknown] == ["RIGHTS_PARTY"]
    assert "người nhận quyền thứ 1 — không có chủ thể mã 987654321" in unknown[0].message

    twice = cs.draft_rights(
        people.clerk, cs_id, pid, version,
        [Holder("0.5", party_id=known_id), Holder("0.5", party_id=known_id)],
    )  # fmt: skip
    assert [p.code for p in twice] == ["RIGHTS_DUPLICATE"]

    with pytest.raises(cs.InvalidInput, match="Người nhận quyền thứ 1: Số căn cước công dân") as e:
        cs.draft_rights(
            people.clerk, cs_id, pid, version,
            [Holder(1, party=NewParty("ca_nhan", "Lê Văn Cường", "cccd", "12345"))],
        )  # fmt: skip
    assert e.value.sqlstate == "22023"
    with pytest.raises(cs.InvalidInput, match="phần quyền"):
        cs.draft_rights(people.clerk, cs_id, pid, version, [Holder("1.5", party_id=known_id)])
    with pytest.raises(cs.InvalidInput, match="Tổ chức được nhận diện bằng mã số thuế"):
        cs.draft_rights(
            people.clerk, cs_id, pid, version,
            [Holder(1, party=NewParty("to_chuc", "Công ty TNHH An Phú", "cccd", new_cccd()))],
        )  # fmt: skip
    assert items_of(db, cs_id) == 0
    assert snapshot(db) == before


def test_land_in_dispute_is_not_transferred_or_mortgaged(db, people, parcels):
    pid, version, _ = parcels.take()
    known_id, _ = other_party(db, holder_of(db, pid)[0])
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO cad.restriction (parcel_id, kind, description, valid_from) "
            "VALUES (%s, 'tranh_chap', 'Tranh chấp ranh giới với thửa bên cạnh', '2026-01-15')",
            (pid,),
        )
    cs_id = cs.open_change_set(people.clerk, "chuyen_quyen", "Chuyển nhượng", None)
    refused = cs.draft_rights(people.clerk, cs_id, pid, version, [Holder(1, party_id=known_id)])
    assert [p.code for p in refused] == ["RESTRICTED"] and refused.item_id is None
    assert "đang có tranh chấp (từ ngày 15/01/2026" in refused[0].message
    assert refused[0].message.endswith("không chuyển quyền được")
    mortgage = cs.draft_mortgage(
        people.clerk, cs_id, pid, version, Mortgage("Ngân hàng Á Châu", "R-1", dt.date(2026, 2, 1))
    )
    assert [p.code for p in mortgage] == ["RESTRICTED"]
    assert items_of(db, cs_id) == 0


def test_a_transfer_on_a_parcel_changed_meanwhile_is_reported_not_merged(db, people, parcels):
    pid, version, _ = parcels.take()
    known_id, _ = other_party(db, holder_of(db, pid)[0])
    first = cs.open_change_set(people.clerk, "chuyen_quyen", "Chuyển nhượng", None)
    assert (
        list(cs.draft_rights(people.clerk, first, pid, version, [Holder(1, party_id=known_id)]))
        == []
    )
    second = cs.open_change_set(people.clerk2, "thay_doi_thuoc_tinh", "Địa chỉ", None)
    assert list(cs.draft_attributes(people.clerk2, second, pid, version, {"address": "Ấp 7"})) == []
    cs.submit(people.clerk2, second)
    cs.approve(people.approver, second, "")
    before = snapshot(db)
    with pytest.raises(cs.ConflictError, match=f"phiên bản {version} → {version + 1}") as e:
        cs.submit(people.clerk, first)
    assert f"biến động số {second}" in e.value.message
    assert [p.code for p in cs.validate(people.clerk, first)] == ["VERSION_CONFLICT"]
    assert snapshot(db) == before


# --- mortgages ---------------------------------------------------------------------------------
def test_mortgage_registered_then_released_in_a_second_change_set(db, people, parcels, communes):
    pid, version, poly = parcels.take()
    contract = f"HĐTC-{uuid.uuid4().hex[:6]}"
    cs1 = cs.open_change_set(people.clerk, "the_chap", "Thế chấp vay vốn", None)
    m = Mortgage("Ngân hàng Nông nghiệp và Phát triển Nông thôn", contract, dt.date(2026, 3, 2),
                 500_000_000)  # fmt: skip
    assert list(cs.draft_mortgage(people.clerk, cs1, pid, version, m)) == []
    # The same contract twice on the parcel: refused, the item is not kept.
    again = cs.draft_mortgage(people.clerk, cs1, pid, version, m)
    assert [p.code for p in again] == ["MORTGAGE_CONTRACT"] and again.item_id is None
    assert f"hợp đồng thế chấp số {contract} đã có trong biến động số {cs1}" in again[0].message
    # A second mortgage (another contract, another lender) is allowed.
    m2 = Mortgage("Quỹ tín dụng nhân dân Hòa Bình", contract + "-2", dt.date(2026, 3, 5))
    assert list(cs.draft_mortgage(people.clerk, cs1, pid, version, m2)) == []
    cs.submit(people.clerk, cs1)
    rv = cs.review(people.approver, cs1)
    assert rv["items"][0]["summary"] == (
        f"Đăng ký thế chấp: Ngân hàng Nông nghiệp và Phát triển Nông thôn, hợp đồng số {contract}"
        ", ngày 02/03/2026, số tiền bảo đảm 500.000.000 đồng"
    )
    cs.approve(people.approver, cs1, "")
    rows = owner(
        db,
        "SELECT id, lender, contract_number, registered_on, secured_amount, released_on, "
        "registered_mutation FROM cad.mortgage WHERE parcel_id = %s ORDER BY id",
        (pid,),
    )
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        (contract, dt.date(2026, 3, 2), Decimal(500_000_000), None, cs1),
        (contract + "-2", dt.date(2026, 3, 5), None, None, cs1),
    ]
    details = people.viewer.execute("SELECT api.parcel_details(%s)", (pid,)).fetchone()[0]
    assert [x["contract_number"] for x in details["mortgages"] if x["in_force"]] == [
        contract + "-2", contract]  # fmt: skip
    assert {"holders", "certificates", "restrictions", "assets"} <= details.keys()
    # Registered on the official record: the same contract in a later set is refused too.
    version += 1
    cs_dup = cs.open_change_set(people.clerk, "the_chap", "Thử lại", None)
    dup = cs.draft_mortgage(people.clerk, cs_dup, pid, version, m)
    assert [p.code for p in dup] == ["MORTGAGE_CONTRACT"] and "ngày 02/03/2026" in dup[0].message
    # A mortgaged parcel is not split.
    minx, _, maxx, _ = poly.bounds
    parts = list(
        split(poly, LineString([(minx - 1, poly.centroid.y), (maxx + 1, poly.centroid.y)])).geoms
    )
    cs_split = cs.open_change_set(people.clerk, "tach_thua", "Tách", None)
    assert "MORTGAGED" in [
        p.code for p in cs.draft_split(people.clerk, cs_split, pid, version, parts)
    ]

    cs2 = cs.open_change_set(people.clerk, "xoa_the_chap", "Trả hết nợ", None)
    assert list(cs.draft_mortgage_release(people.clerk, cs2, pid, version, rows[0][0])) == []
    cs.submit(people.clerk, cs2)
    assert cs.review(people.approver, cs2)["items"][0]["summary"].startswith(
        f"Xóa thế chấp: Ngân hàng Nông nghiệp và Phát triển Nông thôn, hợp đồng số {contract}"
    )
    cs.approve(people.approver, cs2, "")
    assert owner(
        db, "SELECT released_on, released_mutation FROM cad.mortgage WHERE id = %s", (rows[0][0],)
    ) == [(today(db), cs2)]
    assert owner(db, "SELECT count(*) FROM cad.mortgage WHERE parcel_id = %s "
                     "AND released_on IS NULL", (pid,)) == [(1,)]  # fmt: skip
    # Audit and history carry the change sets.
    assert owner(
        db, "SELECT action FROM audit.log WHERE table_name = 'cad.mortgage' AND change_set = %s "
            "AND (row_key ->> 'id')::bigint = %s", (cs2, rows[0][0]))  == [("UPDATE",)]  # fmt: skip
    assert owner(db, "SELECT change_set, released_on FROM hist.mortgage WHERE id = %s",
                 (rows[0][0],)) == [(cs2, None)]  # fmt: skip

    # Releasing it again, or a mortgage of another parcel: not in force there.
    version += 1
    before = snapshot(db)
    cs3 = cs.open_change_set(people.clerk, "xoa_the_chap", "Thử", None)
    twice = cs.draft_mortgage_release(people.clerk, cs3, pid, version, rows[0][0])
    assert [p.code for p in twice] == ["MORTGAGE_NOT_IN_FORCE"] and twice.item_id is None
    assert f"hợp đồng số {contract} đã được xóa ngày" in twice[0].message
    other, other_version, _ = parcels.take()
    elsewhere = cs.draft_mortgage_release(people.clerk, cs3, other, other_version, rows[1][0])
    assert [p.code for p in elsewhere] == ["MORTGAGE_NOT_IN_FORCE"]
    assert f"không có thế chấp mã {rows[1][0]} trên thửa đất này" in elsewhere[0].message
    with pytest.raises(cs.InvalidInput, match="ở tương lai"):
        cs.draft_mortgage(
            people.clerk, cs3, pid, version,
            Mortgage("Ngân hàng Á Châu", "X-1", dt.date.today() + dt.timedelta(days=30)),
        )  # fmt: skip
    assert snapshot(db) == before and items_of(db, cs3) == 0

    # The area rule: an officer of another commune sees none of these rows.
    assert people.viewer.execute(
        "SELECT count(*) FROM cad.mortgage WHERE parcel_id = %s", (pid,)
    ).fetchone() == (2,)
    assert people.viewer_b.execute(
        "SELECT count(*) FROM cad.mortgage WHERE parcel_id = %s", (pid,)
    ).fetchone() == (0,)
    assert people.viewer_b.execute(
        "SELECT count(*) FROM hist.mortgage WHERE parcel_id = %s", (pid,)
    ).fetchone() == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        people.viewer_b.execute("SELECT api.parcel_details(%s)", (pid,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nobody writes it directly
        people.clerk.execute(
            "UPDATE cad.mortgage SET released_on = NULL WHERE parcel_id = %s", (pid,)
        )


# --- certificates ------------------------------------------------------------------------------
def test_certificate_for_the_new_holders_replaces_the_old_one(db, people, parcels):
    pid, version, _ = parcels.take()
    old_cert, old_serial = certificate_of(db, pid)
    known_id, _ = other_party(db, holder_of(db, pid)[0])
    serial = new_serial()
    cs_id = cs.open_change_set(people.clerk, "chuyen_quyen", "Chuyển nhượng và cấp GCN", None)
    assert (
        list(cs.draft_rights(people.clerk, cs_id, pid, version, [Holder(1, party_id=known_id)]))
        == []
    )
    cert = Certificate(
        serial.lower(), "CS 01234", dt.date(2026, 4, 1), "Sở Nông nghiệp và Môi trường"
    )
    drafted = cs.draft_certificate(people.clerk, cs_id, {pid: version}, cert)
    assert list(drafted) == []
    assert drafted.change_set.items[1].attributes["serial"] == serial  # upper-cased
    cs.submit(people.clerk, cs_id)
    rec = cs.review(people.approver, cs_id)["items"][1]
    assert rec["record"]["replaces"][0]["serial"] == old_serial
    assert rec["summary"] == (
        f"Cấp giấy chứng nhận số phát hành {serial}, số vào sổ CS 01234, ngày 01/04/2026,"
        f" Sở Nông nghiệp và Môi trường; cấp đổi giấy {old_serial}"
    )
    cs.approve(people.approver, cs_id, "")
    new_id = owner(db, "SELECT id FROM cad.certificate WHERE serial = %s", (serial,))[0][0]
    assert owner(
        db,
        "SELECT id, status, replaced_by FROM cad.certificate WHERE id IN (%s, %s) ORDER BY id",
        (old_cert, new_id),
    ) == [(old_cert, "cap_doi", new_id), (new_id, "hieu_luc", None)]
    assert owner(
        db,
        "SELECT party_id, certificate_id FROM cad.land_right WHERE parcel_id = %s "
        "AND valid_to IS NULL",
        (pid,),
    ) == [(known_id, new_id)]
    assert owner(
        db, "SELECT parcel_id FROM cad.certificate_parcel WHERE certificate_id = %s", (new_id,)
    ) == [(pid,)]


def test_one_certificate_for_two_parcels_of_the_same_new_holder(db, people, parcels):
    (a, va, _), (b, vb, _) = parcels.take(), parcels.take()
    olds = [certificate_of(db, a)[0], certificate_of(db, b)[0]]
    cccd = new_cccd()
    buyer = NewParty("ca_nhan", "Phạm Minh Đức", "cccd", cccd, 1990, "nam")
    cs_id = cs.open_change_set(people.clerk, "chuyen_quyen", "Mua hai thửa", None)
    for pid, version in ((a, va), (b, vb)):
        assert (
            list(cs.draft_rights(people.clerk, cs_id, pid, version, [Holder(1, party=buyer)])) == []
        )
    cert = Certificate(new_serial(), "CS 55", dt.date(2026, 5, 4), "Sở Nông nghiệp và Môi trường")
    drafted = cs.draft_certificate(people.clerk, cs_id, {a: va, b: vb}, cert)
    assert list(drafted) == []
    # Removing an item keeps the parcel in the set while another item still names it.
    extra = cs.draft_mortgage(
        people.clerk, cs_id, a, va, Mortgage("Ngân hàng Á Châu", "T-1", dt.date(2026, 5, 4))
    )
    cs.remove_item(people.clerk, cs_id, extra.item_id)
    assert owner(
        db, "SELECT parcel_id FROM cad.mutation_parcel WHERE mutation_id = %s ORDER BY 1", (cs_id,)
    ) == sorted([(a,), (b,)])
    approve_set(people, cs_id)
    party = owner(db, "SELECT id FROM cad.party WHERE id_number = %s", (cccd,))
    assert len(party) == 1  # created once for both parcels
    new_id = owner(db, "SELECT id FROM cad.certificate WHERE serial = %s", (cert.serial,))[0][0]
    assert owner(
        db,
        "SELECT parcel_id, party_id, certificate_id FROM cad.land_right "
        "WHERE parcel_id IN (%s, %s) AND valid_to IS NULL ORDER BY parcel_id",
        (a, b),
    ) == sorted([(a, party[0][0], new_id), (b, party[0][0], new_id)])
    assert (
        owner(db, "SELECT status, replaced_by FROM cad.certificate WHERE id = ANY(%s)", (olds,))
        == [("cap_doi", new_id)] * 2
    )


def test_a_serial_is_used_once_even_across_open_drafts(db, people, parcels):
    (a, va, _), (b, vb, _) = parcels.take(), parcels.take()
    serial = new_serial()
    cert = Certificate(serial, "CS 7", dt.date(2026, 1, 5), "Sở Nông nghiệp và Môi trường")
    first = cs.open_change_set(people.clerk, "thay_doi_thuoc_tinh", "Cấp đổi", None)
    assert list(cs.draft_certificate(people.clerk, first, {a: va}, cert)) == []
    before = snapshot(db)
    second = cs.open_change_set(people.clerk2, "thay_doi_thuoc_tinh", "Cấp đổi", None)
    dup = cs.draft_certificate(people.clerk2, second, {b: vb}, cert)
    assert [p.code for p in dup] == ["CERT_SERIAL"] and dup.item_id is None
    assert f"Số phát hành {serial} đã có trong biến động số {first}" in dup[0].message
    # A serial of an official certificate.
    _, official = certificate_of(db, b)
    used = cs.draft_certificate(people.clerk2, second, {b: vb}, Certificate(
        official, "CS 8", dt.date(2026, 1, 5), "Sở Nông nghiệp và Môi trường"))  # fmt: skip
    assert [p.code for p in used] == ["CERT_SERIAL"]
    assert "đã được dùng cho giấy chứng nhận cấp ngày" in used[0].message
    with pytest.raises(cs.InvalidInput, match="không đúng dạng"):
        cs.draft_certificate(people.clerk2, second, {b: vb}, Certificate(
            "A-12", "CS 9", dt.date(2026, 1, 5), "Sở Nông nghiệp và Môi trường"))  # fmt: skip
    with pytest.raises(cs.InvalidInput, match="ở tương lai"):
        cs.draft_certificate(people.clerk2, second, {b: vb}, Certificate(
            new_serial(), "CS 9", dt.date.today() + dt.timedelta(days=3), "Sở Nông nghiệp"),
        )  # fmt: skip
    # Parcels of different holders on one certificate.
    mixed = cs.draft_certificate(people.clerk2, second, {a: va, b: vb}, Certificate(
        new_serial(), "CS 10", dt.date(2026, 1, 5), "Sở Nông nghiệp và Môi trường"))  # fmt: skip
    assert "CERT_HOLDERS" in [p.code for p in mixed]
    assert items_of(db, second) == 0 and snapshot(db) == before
    # The first draft stays valid and is approved.
    approve_set(people, first)
    assert owner(db, "SELECT count(*) FROM cad.certificate WHERE serial = %s", (serial,)) == [(1,)]


def test_split_approval_revokes_the_parents_certificate(db, people, parcels):
    pid, version, poly = parcels.take()
    cert_id, _ = certificate_of(db, pid)
    minx, _, maxx, _ = poly.bounds
    parts = list(
        split(poly, LineString([(minx - 1, poly.centroid.y), (maxx + 1, poly.centroid.y)])).geoms
    )
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Tách thửa", None)
    assert list(cs.draft_split(people.clerk, cs_id, pid, version, parts)) == []
    # A record item cannot join a parcel being split in the same set.
    with pytest.raises(cs.InvalidInput, match="đang được tách"):
        cs.draft_mortgage(people.clerk, cs_id, pid, version,
                          Mortgage("Ngân hàng Á Châu", "X-2", dt.date(2026, 1, 1)))  # fmt: skip
    created = approve_set(people, cs_id)
    assert len(created) == 2
    assert owner(
        db, "SELECT status, replaced_by FROM cad.certificate WHERE id = %s", (cert_id,)
    ) == [("thu_hoi", None)]
    assert owner(db, "SELECT change_set FROM hist.certificate WHERE id = %s", (cert_id,)) == [
        (cs_id,)
    ]


# --- who may ------------------------------------------------------------------------------------
def test_a_viewer_cannot_draft_and_the_author_cannot_approve(db, people, parcels):
    pid, version, _ = parcels.take()
    known_id, _ = other_party(db, holder_of(db, pid)[0])
    before = snapshot(db)
    cs_id = cs.open_change_set(people.both, "chuyen_quyen", "Thử", None)
    for call in (
        lambda c: cs.draft_rights(c, cs_id, pid, version, [Holder(1, party_id=known_id)]),
        lambda c: cs.draft_mortgage(c, cs_id, pid, version,
                                    Mortgage("Ngân hàng Á Châu", "V-1", dt.date(2026, 1, 1))),
        lambda c: cs.draft_mortgage_release(c, cs_id, pid, version, 1),
        lambda c: cs.draft_certificate(c, cs_id, {pid: version}, Certificate(
            new_serial(), "CS 1", dt.date(2026, 1, 1), "Sở Nông nghiệp")),
    ):  # fmt: skip
        with pytest.raises(cs.PermissionDenied) as e:
            call(people.viewer)
        assert e.value.sqlstate == "42501"
    assert (
        list(cs.draft_rights(people.both, cs_id, pid, version, [Holder(1, party_id=known_id)]))
        == []
    )
    cs.submit(people.both, cs_id)
    with pytest.raises(cs.PermissionDenied, match="không được tự phê duyệt"):
        cs.approve(people.both, cs_id, "")
    assert snapshot(db) == before
    cs.approve(people.approver, cs_id, "")  # another approver may
    assert owner(
        db, "SELECT party_id FROM cad.land_right WHERE parcel_id = %s AND valid_to IS NULL", (pid,)
    ) == [(known_id,)]


# --- the parcel panel ---------------------------------------------------------------------------
def test_the_parcel_panel_shows_the_mortgages_in_force(
    qtbot, qapp, db, people, parcels, communes, person_factory
):
    from app.ui.i18n import install_language
    from app.ui.parcel_panel import ParcelPanel
    from app.ui.tasks import TaskRunner

    install_language(qapp, "vi")

    pid, version, _ = parcels.take()
    cs1 = cs.open_change_set(people.clerk, "the_chap", "Thế chấp", None)
    for contract, day in (("HĐ-01/2026", 2), ("HĐ-02/2026", 9)):
        m = Mortgage("Ngân hàng Á Châu", contract, dt.date(2026, 2, day), 1_200_000_000)
        assert list(cs.draft_mortgage(people.clerk, cs1, pid, version, m)) == []
    approve_set(people, cs1)
    first = owner(db, "SELECT min(id) FROM cad.mortgage WHERE parcel_id = %s", (pid,))[0][0]
    cs2 = cs.open_change_set(people.clerk, "xoa_the_chap", "Trả nợ", None)
    assert list(cs.draft_mortgage_release(people.clerk, cs2, pid, version + 1, first)) == []
    approve_set(people, cs2)

    viewer = person_factory(db, rights=VIEWER, communes=[communes[0]])
    runner = TaskRunner()
    try:
        panel = ParcelPanel(lambda: viewer.dsn, runner)
        qtbot.addWidget(panel)
        panel.show_parcel(pid)
        qtbot.waitUntil(lambda: panel.details is not None, timeout=10_000)
        assert panel.fields["mortgages"].text() == (
            "Ngân hàng Á Châu, hợp đồng số HĐ-02/2026, đăng ký ngày 09/02/2026 (1.200.000.000 đ)"
            "\nĐã xóa thế chấp trước đây: 1"
        )
    finally:
        runner.shutdown()
