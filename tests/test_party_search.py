"""api.search_parties and the household / couple members item (migration 0029) at the SQL
level, through real role connections: who finds whom (area rule, whole province), document
numbers masked for viewers and in clear for clerks, the exact document search audited, the
parcels of each hit; a couple of three refused, a household's new member applied at approval
with audit and one new version."""

from __future__ import annotations

import random
from collections.abc import Iterator
from types import SimpleNamespace

import psycopg
import psycopg.conninfo
import pytest
from conftest import database_copy

from app.edit import changeset as cs
from app.edit.parties import find_parties

pytestmark = pytest.mark.store


@pytest.fixture(scope="module")
def db(demo_db: str) -> Iterator[str]:
    with database_copy(demo_db, "psearch") as dsn:
        yield dsn


def owner(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def target(db: str) -> SimpleNamespace:
    """A person with a document, whose every right (own or through a group, ever) is in
    one commune, and a second commune where they have never held anything."""
    row = owner(
        db,
        """
        WITH pc AS (
            SELECT r.party_id, p.commune_id
            FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
            UNION
            SELECT m.member_id, p.commune_id FROM cad.party_member m
            JOIN cad.land_right r ON r.party_id = m.group_id
            JOIN cad.parcel p ON p.id = r.parcel_id)
        SELECT pa.id, min(pc.commune_id), pa.id_number
        FROM cad.party pa JOIN pc ON pc.party_id = pa.id
        WHERE pa.kind = 'ca_nhan' AND pa.id_kind = 'cccd' AND pa.full_name ~ '[^a-zA-Z ]'
        GROUP BY pa.id HAVING count(DISTINCT pc.commune_id) = 1
        ORDER BY pa.id LIMIT 1
        """,
    )[0]
    party_id, commune, id_number = row
    other = owner(
        db,
        "SELECT DISTINCT commune_id FROM cad.parcel WHERE commune_id <> %s ORDER BY 1 LIMIT 1",
        (commune,),
    )[0][0]
    # A unique name with diacritics, so the folded search has one answer.
    name = f"Nguyễn Thị Hồng {random.choice(['Ánh', 'Đào', 'Ngọc'])}"
    owner(db, "UPDATE cad.party SET full_name = %s WHERE id = %s", (name, party_id))
    return SimpleNamespace(party_id=party_id, commune=commune, other=other,
                           id_number=id_number, name=name)  # fmt: skip


def hits(dsn: str, text: str) -> list:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return find_parties(conn, text, 20)


def test_folded_name_finds_person_with_document_in_clear_for_a_clerk(db, target, person_factory):
    clerk = person_factory(db, {"cadastral": ["editor"]}, [target.commune])
    found = [h for h in hits(clerk.dsn, "nguyen thi hong") if h.party_id == target.party_id]
    assert len(found) == 1
    h = found[0]
    assert h.full_name == target.name
    assert h.id_number_masked == target.id_number and h.id_kind == "cccd"
    assert h.party_kind == "ca_nhan" and h.version >= 1
    assert h.parcels and all(p["commune_code"] for p in h.parcels)
    pids = owner(
        db,
        "SELECT p.id FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id "
        "WHERE r.party_id = %s AND r.valid_to IS NULL AND p.retired_at IS NULL "
        "UNION SELECT p.id FROM cad.party_member m "
        "JOIN cad.land_right r ON r.party_id = m.group_id "
        "JOIN cad.parcel p ON p.id = r.parcel_id WHERE m.member_id = %s AND r.valid_to IS NULL "
        "AND p.retired_at IS NULL",
        (target.party_id, target.party_id),
    )
    assert sorted(p["parcel_id"] for p in h.parcels) == sorted(r[0] for r in pids)[:20]
    assert h.parcel_count == len(pids)
    # Words in order anywhere in the name, without diacritics.
    assert target.party_id in [x.party_id for x in hits(clerk.dsn, "thi hong")]


def test_officer_sees_the_document_masked(db, target, person_factory):
    officer = person_factory(db, {"cadastral": ["viewer"]}, [target.commune])
    h = next(x for x in hits(officer.dsn, target.name) if x.party_id == target.party_id)
    n = target.id_number
    assert h.id_number_masked == n[:4] + "*" * (len(n) - 6) + n[-2:]
    by_id = hits(officer.dsn, n)
    assert [x.party_id for x in by_id] == [target.party_id]
    assert by_id[0].id_number_masked == h.id_number_masked


def test_other_commune_finds_nobody_whole_province_finds_them(db, target, person_factory):
    stranger = person_factory(db, {"cadastral": ["editor"]}, [target.other])
    assert target.party_id not in [x.party_id for x in hits(stranger.dsn, target.name)]
    assert hits(stranger.dsn, target.id_number) == []
    whole = person_factory(db, {"cadastral": ["viewer"]}, [], whole_province=True)
    assert target.party_id in [x.party_id for x in hits(whole.dsn, target.name)]


def test_document_search_is_audited_and_needs_a_cadastral_right(db, target, person_factory):
    clerk = person_factory(db, {"cadastral": ["editor"]}, [target.commune])
    assert [x.party_id for x in hits(clerk.dsn, target.id_number)] == [target.party_id]
    rows = owner(
        db,
        "SELECT target, detail FROM audit.log WHERE action = 'READ_PERSONAL_ID' AND actor = %s "
        "ORDER BY id DESC LIMIT 1",
        (clerk.role,),
    )
    assert rows and rows[0][0] == "search_parties"
    assert rows[0][1]["party_ids"] == [target.party_id]
    nobody = person_factory(db, {"dossier": ["viewer"]}, [target.commune])
    with (
        psycopg.connect(nobody.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM api.search_parties('nguyen', 5)").fetchall()


@pytest.fixture(scope="module")
def groups(db: str) -> SimpleNamespace:
    """A couple and a household of one commune (their rights all there)."""

    def pick(kind: str) -> tuple[int, int, int]:
        return owner(
            db,
            """
            SELECT g.id, g.version, min(p.commune_id) FROM cad.party g
            JOIN cad.land_right r ON r.party_id = g.id JOIN cad.parcel p ON p.id = r.parcel_id
            WHERE g.kind = %s AND r.valid_to IS NULL
            GROUP BY g.id HAVING count(DISTINCT p.commune_id) = 1 ORDER BY g.id LIMIT 1
            """,
            (kind,),
        )[0]

    return SimpleNamespace(couple=pick("vo_chong"), household=pick("ho_gia_dinh"))


def test_couple_of_three_is_refused(db, groups, person_factory):
    gid, version, commune = groups.couple
    clerk = person_factory(db, {"cadastral": ["editor"]}, [commune])
    members = [cs.Member("vợ" if i % 2 else "chồng", party=cs.NewParty(
        "ca_nhan", f"Người Thứ {n}", "cccd", f"0{random.randrange(10**10, 10**11)}", 1980))
        for i, n in enumerate(("Nhất", "Hai", "Ba"))]  # fmt: skip
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        cs_id = cs.open_change_set(conn, "thay_doi_thuoc_tinh", "Sửa thành viên")
        with pytest.raises(cs.InvalidInput) as err:
            cs.draft_party_members(conn, cs_id, gid, version, members)
        assert str(err.value).startswith("Vợ chồng phải có đúng hai thành viên (danh sách có 3")
        two_heads = [cs.Member("chủ hộ", party=m.party) for m in members[:2]]
        with pytest.raises(cs.InvalidInput, match="Chỉ được có một chủ hộ"):
            cs.draft_party_members(conn, cs_id, gid, version, two_heads)
        with pytest.raises(cs.InvalidInput, match="không thể là thành viên của chính nó"):
            cs.draft_party_members(conn, cs_id, gid, version,
                                   [cs.Member("vợ", party_id=gid), members[0]])  # fmt: skip
        assert cs.load(conn, cs_id).items == []


def test_household_gains_a_member_at_approval(db, groups, person_factory):
    gid, version, commune = groups.household
    before = owner(db, "SELECT member_id, role FROM cad.party_member WHERE group_id = %s", (gid,))
    clerk = person_factory(db, {"cadastral": ["editor"]}, [commune])
    approver = person_factory(db, {"cadastral": ["approver"]}, [commune])
    cccd = f"0{random.randrange(10**10, 10**11)}"
    members = [cs.Member(r, party_id=m) for m, r in before] + [
        cs.Member("con", party=cs.NewParty("ca_nhan", "Lê Thị Mới", "cccd", cccd, 2004, "nu"))
    ]
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        cs_id = cs.open_change_set(conn, "thay_doi_thuoc_tinh", "Thêm thành viên hộ")
        problems = cs.draft_party_members(conn, cs_id, gid, version, members)
        assert list(problems) == [] and problems.item_id
        cs.submit(conn, cs_id)
    # A commune officer reading the set sees the new member's document masked.
    officer = person_factory(db, {"cadastral": ["viewer"]}, [commune])
    masked = cccd[:4] + "******" + cccd[-2:]
    with psycopg.connect(officer.dsn, autocommit=True) as conn:
        (it,) = cs.load(conn, cs_id).items
        assert it.attributes["members"][-1]["party"]["id_number"] == masked
        assert cs.review(conn, cs_id)["items"][0]["record"]["after"][-1]["id_number"] == masked
    with psycopg.connect(approver.dsn, autocommit=True) as conn:
        rev = cs.review(conn, cs_id)
        (item,) = rev["items"]
        rec = item["record"]
        assert item["label"] == "Thay đổi thành viên hộ gia đình, vợ chồng"
        assert [m["party_id"] for m in rec["before"]] == [m for m, _r in sorted(before)]
        assert rec["after"][-1]["new"] is True and rec["after"][-1]["id_number"] == cccd
        assert "Lê Thị Mới (con) — mới" in item["summary"]
        cs.approve(conn, cs_id, "Đúng hồ sơ")
    after = owner(
        db,
        "SELECT pa.full_name, m.role, pa.id_number FROM cad.party_member m "
        "JOIN cad.party pa ON pa.id = m.member_id WHERE m.group_id = %s AND pa.id_number = %s",
        (gid, cccd),
    )
    assert after == [("Lê Thị Mới", "con", cccd)]
    assert owner(db, "SELECT version FROM cad.party WHERE id = %s", (gid,))[0][0] == version + 1
    audit = owner(
        db,
        "SELECT actor, change_set FROM audit.log WHERE table_name = 'cad.party_member' "
        "AND action = 'INSERT' AND new_row ->> 'group_id' = %s ORDER BY id DESC LIMIT 1",
        (str(gid),),
    )
    assert audit == [(approver.role, cs_id)]
    # The new member is found by the search of the household's commune.
    assert "Lê Thị Mới" in [h.full_name for h in hits(officer.dsn, "le thi moi")]


def test_name_and_members_of_one_household_in_one_set_make_one_version(db, groups, person_factory):
    gid, version, commune = owner(
        db,
        """
        SELECT g.id, g.version, min(p.commune_id) FROM cad.party g
        JOIN cad.land_right r ON r.party_id = g.id JOIN cad.parcel p ON p.id = r.parcel_id
        WHERE g.kind = 'ho_gia_dinh' AND r.valid_to IS NULL AND g.id <> %s
          AND (SELECT count(*) FROM cad.party_member m WHERE m.group_id = g.id) >= 2
        GROUP BY g.id HAVING count(DISTINCT p.commune_id) = 1 ORDER BY g.id LIMIT 1
        """,
        (groups.household[0],),
    )[0]
    members = owner(db, "SELECT member_id, role FROM cad.party_member WHERE group_id = %s", (gid,))
    clerk = person_factory(db, {"cadastral": ["editor"]}, [commune])
    approver = person_factory(db, {"cadastral": ["approver"]}, [commune])
    kept = [cs.Member(r, party_id=m) for m, r in members[:-1]]  # the last member leaves
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        cs_id = cs.open_change_set(conn, "thay_doi_thuoc_tinh", "Tách khẩu")
        upd = cs.PartyUpdate(full_name="Hộ Bà Đặng Thị Thu")
        assert list(cs.draft_party_update(conn, cs_id, gid, version, upd)) == []
        assert list(cs.draft_party_members(conn, cs_id, gid, version, kept)) == []
        cs.submit(conn, cs_id)
    with psycopg.connect(approver.dsn, autocommit=True) as conn:
        cs.approve(conn, cs_id, "Đúng")
    assert owner(db, "SELECT full_name, version FROM cad.party WHERE id = %s", (gid,)) == [
        ("Hộ Bà Đặng Thị Thu", version + 1)
    ]
    assert sorted(
        owner(db, "SELECT member_id FROM cad.party_member WHERE group_id = %s", (gid,))
    ) == [(m,) for m, _r in sorted(members[:-1])]
    gone = owner(
        db,
        "SELECT actor, change_set FROM audit.log WHERE table_name = 'cad.party_member' "
        "AND action = 'DELETE' AND old_row ->> 'group_id' = %s",
        (str(gid),),
    )
    assert gone == [(approver.role, cs_id)]
