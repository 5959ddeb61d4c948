"""api.search, api.parcel_details, api.reveal_personal_id (migration 0009) with real roles
on the demo province: results follow the area rule, values match the owner's tables."""

from __future__ import annotations

import psycopg
import pytest

from app.store.parcel_details import fetch_details, fetch_history, reveal_personal_id
from app.store.search import search

VIEW = {
    "cadastral": ["viewer"],
    "land_price": ["viewer"],
    "planning": ["viewer"],
    "dossier": ["viewer"],
}


@pytest.fixture(scope="module")
def owner(demo_db):
    with psycopg.connect(demo_db, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def two_communes(owner) -> tuple[int, int]:
    rows = owner.execute(
        "SELECT commune_id FROM cad.parcel WHERE retired_at IS NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 2"
    ).fetchall()
    return rows[0][0], rows[1][0]


@pytest.fixture
def province_viewer(demo_db, person_factory):
    p = person_factory(demo_db, rights=VIEW, whole_province=True)
    with psycopg.connect(p.dsn, autocommit=True) as conn:
        yield p, conn


@pytest.fixture
def commune_viewer(demo_db, person_factory, two_communes):
    p = person_factory(demo_db, rights=VIEW, communes=[two_communes[0]])
    with psycopg.connect(p.dsn, autocommit=True) as conn:
        yield p, conn


def _owned_parcels(owner, party_id: int) -> set[int]:
    return {
        r[0]
        for r in owner.execute(
            "SELECT r.parcel_id FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id "
            "WHERE r.party_id = %s AND r.valid_to IS NULL",
            (party_id,),
        ).fetchall()
    }


def _sample_person(owner, commune: int | None = None):
    """An individual with an ID number holding a current right on a current parcel."""
    return owner.execute(
        "SELECT pa.id, pa.full_name, pa.name_folded, pa.id_number, p.id FROM cad.party pa "
        "JOIN cad.land_right r ON r.party_id = pa.id AND r.valid_to IS NULL "
        "JOIN cad.parcel p ON p.id = r.parcel_id AND p.retired_at IS NULL "
        "WHERE pa.kind = 'ca_nhan' AND pa.id_kind = 'cccd' AND pa.name_folded ~ '^[a-z ]+$' "
        "AND (%s::bigint IS NULL OR p.commune_id = %s) ORDER BY pa.id LIMIT 1",
        (commune, commune),
    ).fetchone()


def test_name_without_diacritics_and_with_typo(province_viewer, owner):
    _, conn = province_viewer
    hits = search(conn, "nguyen van")
    assert len(hits) == 50
    assert all(h.kind == "owner" for h in hits)
    folded = {
        h.label: owner.execute("SELECT ref.fold_vi(%s)", (h.label,)).fetchone()[0] for h in hits
    }
    assert all(f.startswith("nguyen van") for f in folded.values())
    assert any(label.startswith("Nguyễn Văn") for label in folded)

    _party_id, full_name, name_folded, _, parcel_id = owner.execute(
        "SELECT pa.id, pa.full_name, pa.name_folded, pa.id_number, r.parcel_id FROM cad.party pa "
        "JOIN cad.land_right r ON r.party_id = pa.id AND r.valid_to IS NULL "
        "JOIN cad.parcel p ON p.id = r.parcel_id AND p.retired_at IS NULL "
        "WHERE pa.name_folded ~ '^nguyen [a-z]+ [a-z]+$' ORDER BY pa.id LIMIT 1"
    ).fetchone()
    # Two typos: a letter dropped from the family name, two letters of the middle name swapped.
    _first, middle, last = name_folded.split()
    typo = f"nguyn {middle[1] + middle[0] + middle[2:]} {last}"
    hits = search(conn, typo, 200)
    assert parcel_id in {h.parcel_id for h in hits}
    assert full_name in {h.label for h in hits}


def test_id_number_is_exact_and_audited(province_viewer, owner):
    person, conn = province_viewer
    party_id, full_name, _, id_number, _ = _sample_person(owner)
    hits = search(conn, id_number)
    assert {h.kind for h in hits} == {"id_number"}
    assert {h.parcel_id for h in hits} == _owned_parcels(owner, party_id)
    assert hits[0].label == full_name
    assert id_number not in hits[0].detail  # masked in the list
    assert id_number[:4] + "******" + id_number[-2:] in hits[0].detail
    row = owner.execute(
        "SELECT target, detail FROM audit.log WHERE actor = %s AND action = 'READ_PERSONAL_ID' "
        "ORDER BY id DESC LIMIT 1",
        (person.role,),
    ).fetchone()
    assert row is not None and row[0] == "search"
    assert row[1]["party_ids"] == [party_id]


def test_serial_key_national_id_address(province_viewer, owner):
    _, conn = province_viewer
    cert_id, serial, _parcel_id = owner.execute(
        "SELECT c.id, c.serial, cp.parcel_id FROM cad.certificate c "
        "JOIN cad.certificate_parcel cp ON cp.certificate_id = c.id ORDER BY c.id DESC LIMIT 1"
    ).fetchone()
    expected = {
        r[0]
        for r in owner.execute(
            "SELECT parcel_id FROM cad.certificate_parcel WHERE certificate_id = %s", (cert_id,)
        )
    }
    for typed in (serial, serial.replace(" ", "").lower()):
        hits = search(conn, typed)
        assert {h.parcel_id for h in hits} == expected and hits[0].label == serial

    pid, code, sheet, number, nid, address, bbox = owner.execute(
        "SELECT p.id, u.code, s.sheet_number, p.parcel_number, p.national_id, p.address, "
        "ARRAY[ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom)] "
        "FROM cad.parcel p JOIN cad.map_sheet s ON s.id = p.sheet_id "
        "JOIN ref.admin_unit u ON u.id = s.commune_id "
        "WHERE p.retired_at IS NULL AND p.duplicate_seq = 0 AND p.address LIKE 'Số %%' "
        "ORDER BY p.id LIMIT 1"
    ).fetchone()
    hits = search(conn, f"{code} {sheet} {number}")
    assert [h.parcel_id for h in hits] == [pid] and hits[0].kind == "parcel_key"
    assert hits[0].bbox == pytest.approx(tuple(bbox))
    hits = search(conn, f"tờ {sheet} thửa {number}")
    assert pid in {h.parcel_id for h in hits} and {h.kind for h in hits} == {"parcel_key"}
    expected_keys = owner.execute(
        "SELECT count(*) FROM cad.parcel p JOIN cad.map_sheet s ON s.id = p.sheet_id "
        "WHERE s.sheet_number = %s AND p.parcel_number = %s",
        (sheet, number),
    ).fetchone()[0]
    assert len(hits) == min(expected_keys, 50)
    hits = search(conn, nid.upper())
    assert [(h.kind, h.parcel_id) for h in hits] == [("national_id", pid)]
    # Address fragment typed without diacritics: "so 12, duong ..."
    fragment = owner.execute(
        "SELECT ref.fold_vi(%s)", (", ".join(address.split(", ")[:2]),)
    ).fetchone()[0]
    hits = search(conn, fragment)
    assert pid in {h.parcel_id for h in hits}
    assert all(
        fragment
        in owner.execute(
            "SELECT ref.fold_vi(address) FROM cad.parcel WHERE id = %s", (h.parcel_id,)
        ).fetchone()[0]
        for h in hits
        if h.kind == "address"
    )


def test_commune_officer_sees_only_own_commune(commune_viewer, owner, two_communes):
    mine, other = two_communes
    _, conn = commune_viewer
    theirs = _sample_person(owner, other)
    queries = ["nguyen van", "tran thi", "to 1 thua 1", "so 1", theirs[2], theirs[3]]
    seen = 0
    for q in queries:
        for h in search(conn, q):
            commune = owner.execute(
                "SELECT commune_id FROM cad.parcel WHERE id = %s", (h.parcel_id,)
            ).fetchone()[0]
            assert commune == mine, (q, h)
            seen += 1
    assert seen > 20
    nid = owner.execute(
        "SELECT national_id FROM cad.parcel WHERE commune_id = %s AND retired_at IS NULL LIMIT 1",
        (other,),
    ).fetchone()[0]
    assert search(conn, nid) == []


def test_parcel_details_sections_and_values(province_viewer, owner):
    _, conn = province_viewer
    # A priced street parcel with a certificate and holders.
    pid = owner.execute(
        "SELECT p.id FROM cad.parcel p JOIN price.parcel_position pp ON pp.parcel_id = p.id "
        "AND pp.segment_id IS NOT NULL JOIN cad.certificate_parcel cp ON cp.parcel_id = p.id "
        "WHERE p.retired_at IS NULL ORDER BY p.id LIMIT 1"
    ).fetchone()[0]
    d = fetch_details(conn, pid)
    for key in (
        "parcel",
        "land_uses",
        "holders",
        "certificates",
        "mutations",
        "price",
        "planning",
        "documents",
        "restrictions",
    ):
        assert key in d, key
    assert d["denied"] == []
    p = owner.execute(
        "SELECT parcel_number, area_legal, national_id, address, version "
        "FROM cad.parcel WHERE id = %s",
        (pid,),
    ).fetchone()
    assert (
        d["parcel"]["parcel_number"],
        d["parcel"]["area_legal"],
        d["parcel"]["national_id"],
        d["parcel"]["address"],
        d["parcel"]["version"],
    ) == (p[0], float(p[1]), p[2], p[3], p[4])
    uses = owner.execute(
        "SELECT code, area FROM cad.land_use WHERE parcel_id = %s AND retired_at "
        "IS NULL ORDER BY area DESC",
        (pid,),
    ).fetchall()
    assert [(u["code"], u["area"]) for u in d["land_uses"]] == [(c, float(a)) for c, a in uses]
    serials = {
        r[0]
        for r in owner.execute(
            "SELECT c.serial FROM cad.certificate c JOIN cad.certificate_parcel cp ON "
            "cp.certificate_id = c.id WHERE cp.parcel_id = %s",
            (pid,),
        )
    }
    assert {c["serial"] for c in d["certificates"]} == serials
    holders = {
        r[0]
        for r in owner.execute("SELECT party_id FROM cad.land_right WHERE parcel_id = %s", (pid,))
    }
    assert {h["party_id"] for h in d["holders"]} == holders
    # Price: unit price from the 2025 table for the position; value = area × price × coeff × depth.
    pr = d["price"]
    unit, coeff = owner.execute(
        "SELECT sp.price_vnd_m2, pp.coefficient FROM price.parcel_position pp "
        "JOIN price.price_table t ON t.id = pp.table_id AND t.year = 2025 "
        "JOIN price.segment_price sp ON sp.table_id = pp.table_id "
        "AND sp.segment_id = pp.segment_id "
        "AND sp.position = pp.position AND sp.land_use_code = %s WHERE pp.parcel_id = %s",
        (pr["land_use_code"], pid),
    ).fetchone()
    assert (
        pr["year"] == 2025 and pr["unit_price"] == float(unit) and pr["coefficient"] == float(coeff)
    )
    weighted = sum(b["share"] * b["factor"] for b in pr["bands"])
    assert sum(b["share"] for b in pr["bands"]) == pytest.approx(1, abs=1e-3)
    assert pr["value"] == pytest.approx(
        weighted * float(p[1]) * float(unit) * float(coeff), rel=1e-3
    )
    # Planning: the overlaps the owner computes.
    zones = owner.execute(
        "SELECT z.id, round(ST_Area(ST_Intersection(z.geom, p.geom))::numeric, 1) "
        "FROM plan.zone z, "
        "cad.parcel p WHERE p.id = %s AND ST_Intersects(z.geom, p.geom) AND "
        "ST_Area(ST_Intersection(z.geom, p.geom)) >= 0.05",
        (pid,),
    ).fetchall()
    assert {(z["zone_id"], z["area"]) for z in d["planning"]} == {(i, float(a)) for i, a in zones}
    assert sum(z["share"] for z in d["planning"]) <= 1.0001
    h = fetch_history(conn, pid, __import__("datetime").datetime.now().astimezone())
    assert h["as_of"]["parcel_number"] == p[0]


def test_id_numbers_masked_reveal_audited_and_refused(demo_db, person_factory, owner, two_communes):
    mine, other = two_communes
    party_id, _, _, id_number, pid = _sample_person(owner, mine)
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[mine])
    editor = person_factory(demo_db, rights={"cadastral": ["editor"]}, communes=[mine])
    with psycopg.connect(viewer.dsn, autocommit=True) as conn:
        d = fetch_details(conn, pid)
        assert d["may_reveal_id"] is False
        assert set(d["denied"]) == {"land_price", "planning", "dossier"} and d.get("price") is None
        shown = next(h for h in d["holders"] if h["party_id"] == party_id)
        assert shown["id_number_masked"] == id_number[:4] + "******" + id_number[-2:]
        assert id_number not in str(d)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reveal_personal_id(conn, party_id)
    with psycopg.connect(editor.dsn, autocommit=True) as conn:
        assert fetch_details(conn, pid)["may_reveal_id"] is True
        assert reveal_personal_id(conn, party_id) == id_number
        row = owner.execute(
            "SELECT target FROM audit.log WHERE actor = %s AND action = "
            "'READ_PERSONAL_ID' ORDER BY id DESC LIMIT 1",
            (editor.role,),
        ).fetchone()
        assert row == (f"cad.party:{party_id}",)
        outside_party, _, _, _, outside_parcel = _sample_person(owner, other)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reveal_personal_id(conn, outside_party)
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            fetch_details(conn, outside_parcel)
        assert "ngoài địa bàn" in err.value.diag.message_primary


def test_commune_officer_names_match_the_owners_tables_without_repeats(
    commune_viewer, owner, two_communes
):
    """The officer's path (a commune under 20 000 parcels: read the area, stop at the
    limit) finds every holder of the name in the commune once per parcel, with a typo too."""
    mine, _ = two_communes
    _, conn = commune_viewer
    _pid, _name, folded, _idn, _parcel = _sample_person(owner, mine)
    expected = {
        (r[0], r[1])
        for r in owner.execute(
            "SELECT pa.full_name, p.id FROM cad.party pa "
            "JOIN cad.land_right r ON r.valid_to IS NULL AND (r.party_id = pa.id OR r.party_id "
            "  IN (SELECT m.group_id FROM cad.party_member m WHERE m.member_id = pa.id)) "
            "JOIN cad.parcel p ON p.id = r.parcel_id AND p.retired_at IS NULL "
            "WHERE p.commune_id = %s AND pa.name_folded LIKE %s",
            (mine, folded + "%"),
        ).fetchall()
    }
    assert expected
    hits = [(h.label, h.parcel_id) for h in search(conn, folded) if h.kind == "owner"]
    assert len(hits) == len(set(hits))  # no (person, parcel) twice
    assert set(hits) == expected
    # The same person with two letters of the longest word swapped.
    words = folded.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    words[i] = w[0] + w[2] + w[1] + w[3:] if len(w) >= 4 else w
    typo = {(h.label, h.parcel_id) for h in search(conn, " ".join(words)) if h.kind == "owner"}
    assert expected <= typo
    # A common prefix fills the limit with distinct rows of the commune only.
    common = [(h.label, h.parcel_id) for h in search(conn, "nguyen") if h.kind == "owner"]
    assert len(common) == len(set(common)) == 50


@pytest.mark.parametrize("area", ["province", "commune"])
def test_a_typo_that_makes_another_real_syllable(
    area, demo_db, person_factory, owner, two_communes
):
    """'tan …' for 'tran …': 'tan' is itself a name syllable, so the word-by-word
    correction keeps it; when nobody is called 'tan …', near syllables are tried."""
    mine, _ = two_communes
    row = owner.execute(
        "SELECT pa.full_name, pa.name_folded FROM cad.party pa "
        "JOIN cad.land_right r ON r.party_id = pa.id AND r.valid_to IS NULL "
        "JOIN cad.parcel p ON p.id = r.parcel_id AND p.retired_at IS NULL "
        "WHERE p.commune_id = %s AND pa.name_folded LIKE 'tran %%' "
        "AND NOT EXISTS (SELECT 1 FROM cad.party q "
        "                WHERE q.name_folded LIKE 'tan ' || substr(pa.name_folded, 6) || '%%') "
        "AND EXISTS (SELECT 1 FROM sys.name_word WHERE word = 'tan') "
        "ORDER BY pa.id LIMIT 1",
        (mine,),
    ).fetchone()
    assert row is not None, "the demo should hold a 'Trần …' with no 'Tân …' namesake"
    full_name, folded = row
    typo = "tan " + folded[len("tran ") :]
    if area == "province":
        person = person_factory(demo_db, rights=VIEW, whole_province=True)
    else:
        person = person_factory(demo_db, rights=VIEW, communes=[mine])
    with psycopg.connect(person.dsn, autocommit=True) as conn:
        labels = {h.label for h in search(conn, typo) if h.kind == "owner"}
    assert full_name in labels
