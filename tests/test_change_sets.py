"""Change sets (biến động): draft → submit → approve/reject through real roles (issue 5).

The module works on its own copy of the demo database (CREATE DATABASE … TEMPLATE), so
approvals here never change the parcels other test modules count. Geometry comes from the
demo parcels themselves: a parcel split by a line through its centroid with shapely, two
parcels sharing an edge merged, a vertex two parcels share moved in both. Every refusal is
checked twice: the error (SQLSTATE / Vietnamese message / problem code) and a snapshot of
the official records taken by the owner before and after, which must be equal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import psycopg.conninfo
import pytest
import shapely
from conftest import busiest_communes, database_copy
from shapely.affinity import scale, translate
from shapely.geometry import LineString, Polygon
from shapely.ops import split

from app.edit import changeset as cs

EDITOR = {"cadastral": ["editor"]}
APPROVER = {"cadastral": ["approver"]}
VIEWER = {"cadastral": ["viewer"]}


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def db(demo_db: str) -> Iterator[str]:
    """A private copy of the demo database for this module."""
    with database_copy(demo_db, "cs") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def communes(db: str) -> tuple[int, int]:
    a, b = busiest_communes(db)
    return a, b


class Parcels:
    """Hands out parcels of commune A no other test of the module has used."""

    def __init__(self, dsn: str, commune: int) -> None:
        self.dsn, self.commune, self.taken = dsn, commune, set()

    def _free(self, ids) -> bool:
        return not (set(ids) & self.taken)

    def single(self) -> tuple[int, int, Polygon]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT id, version, ST_AsBinary(geom) FROM cad.parcel "
                "WHERE commune_id = %s AND retired_at IS NULL AND ST_NumGeometries(geom) = 1 "
                "AND area_legal IS NOT NULL ORDER BY id LIMIT 400",
                (self.commune,),
            ).fetchall()
        for pid, version, wkb in rows:
            if self._free([pid]):
                self.taken.add(pid)
                return pid, version, shapely.from_wkb(bytes(wkb)).geoms[0]
        raise AssertionError("no free parcel")

    def adjacent_pair(self, same_holders: bool) -> list[tuple[int, int, Polygon]]:
        """Two current parcels sharing an edge (> 1 m), optionally with the same holders."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                """
                WITH h AS (
                    SELECT p.id, p.version, p.geom, p.commune_id,
                           (SELECT array_agg(DISTINCT r.party_id ORDER BY r.party_id)
                            FROM cad.land_right r WHERE r.parcel_id = p.id
                              AND r.valid_to IS NULL AND r.kind = 'su_dung') AS holders
                    FROM cad.parcel p
                    WHERE p.commune_id = %s AND p.retired_at IS NULL
                      AND ST_NumGeometries(p.geom) = 1)
                SELECT a.id, a.version, ST_AsBinary(a.geom), b.id, b.version, ST_AsBinary(b.geom)
                FROM h a JOIN h b ON a.id < b.id AND a.geom && b.geom
                WHERE ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 1
                  AND (NOT %s OR a.holders IS NOT DISTINCT FROM b.holders)
                ORDER BY a.id, b.id LIMIT 300
                """,
                (self.commune, same_holders),
            ).fetchall()
        for a, va, wa, b, vb, wb in rows:
            if self._free([a, b]):
                self.taken |= {a, b}
                return [
                    (a, va, shapely.from_wkb(bytes(wa)).geoms[0]),
                    (b, vb, shapely.from_wkb(bytes(wb)).geoms[0]),
                ]
        raise AssertionError("no free adjacent pair")

    def far_pair(self) -> list[tuple[int, int, Polygon]]:
        first = self.single()
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT p.id, p.version, ST_AsBinary(p.geom) FROM cad.parcel p, cad.parcel q "
                "WHERE q.id = %s AND p.commune_id = q.commune_id AND p.retired_at IS NULL "
                "AND ST_NumGeometries(p.geom) = 1 AND ST_Distance(p.geom, q.geom) > 50 "
                "ORDER BY p.id LIMIT 50",
                (first[0],),
            ).fetchall()
        for pid, v, wkb in rows:
            if self._free([pid]):
                self.taken.add(pid)
                return [first, (pid, v, shapely.from_wkb(bytes(wkb)).geoms[0])]
        raise AssertionError("no far parcel")


@pytest.fixture(scope="module")
def parcels(db: str, communes: tuple[int, int]) -> Parcels:
    return Parcels(db, communes[0])


@pytest.fixture
def people(db: str, communes: tuple[int, int], person_factory):
    """clerk (editor, commune A), approver (A), viewer (A), approver of commune B."""
    a, b = communes

    def connect(person) -> psycopg.Connection:
        return psycopg.connect(person.dsn, autocommit=True)

    made = {
        "clerk": person_factory(db, rights=EDITOR, communes=[a]),
        "clerk2": person_factory(db, rights=EDITOR, communes=[a]),
        "approver": person_factory(db, rights=APPROVER, communes=[a]),
        "viewer": person_factory(db, rights=VIEWER, communes=[a]),
        "approver_b": person_factory(db, rights=APPROVER, communes=[b]),
        "both": person_factory(db, rights={"cadastral": ["editor", "approver"]}, communes=[a]),
    }
    conns = {k: connect(p) for k, p in made.items()}
    conns_roles = {k: p.role for k, p in made.items()}
    yield type("People", (), {**conns, "roles": conns_roles})
    for c in conns.values():
        c.close()


def snapshot(dsn: str) -> tuple:
    """The official records a change set may touch, as the owner sees them."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM cad.parcel), (SELECT sum(version) FROM cad.parcel),"
            " (SELECT count(*) FROM cad.parcel WHERE retired_at IS NOT NULL),"
            " (SELECT md5(string_agg(id || ':' || version || ':' || md5(ST_AsBinary(geom)),"
            "  ',' ORDER BY id)) FROM cad.parcel),"
            " (SELECT count(*) FROM cad.land_use WHERE retired_at IS NULL),"
            " (SELECT count(*) FROM cad.parcel_lineage),"
            " (SELECT count(*) FROM cad.land_right WHERE valid_to IS NULL)"
        ).fetchone()


def items_of(dsn: str, cs_id: int) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT count(*) FROM cad.change_item WHERE mutation_id = %s", (cs_id,)
        ).fetchone()[0]


def split_in_two(poly: Polygon) -> list[Polygon]:
    """The parcel cut by a horizontal line through its centroid."""
    c = poly.centroid
    minx, _, maxx, _ = poly.bounds
    parts = list(split(poly, LineString([(minx - 1, c.y), (maxx + 1, c.y)])).geoms)
    assert len(parts) == 2
    return parts


def shared_vertex(a: Polygon, b: Polygon) -> tuple[float, float]:
    """A vertex on both boundaries, not a corner of a third parcel: on the shared edge."""
    common = set(a.exterior.coords[:-1]) & set(b.exterior.coords[:-1])
    shared = shapely.line_merge(a.exterior.intersection(b.exterior))
    ends = set()
    for line in getattr(shared, "geoms", [shared]):
        if line.geom_type == "LineString":
            ends |= {line.coords[0], line.coords[-1]}
    inner = [v for v in common if v not in ends]
    assert inner, "the pair shares no inner vertex"
    return inner[0]


def move_vertex(poly: Polygon, old: tuple[float, float], new: tuple[float, float]) -> Polygon:
    coords = [new if c == old else c for c in poly.exterior.coords]
    return Polygon(coords)


# --- the full cycles -------------------------------------------------------------------------
def test_split_submit_approve(db, people, parcels):
    pid, version, poly = parcels.single()
    parts = split_in_two(poly)
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Chia thừa kế", "HS-2026/001")
    drafted = cs.draft_split(people.clerk, cs_id, pid, version, parts)
    assert list(drafted) == [] and drafted.item_id
    with psycopg.connect(db) as conn:  # a draft is not official
        assert conn.execute(
            "SELECT version, retired_at FROM cad.parcel WHERE id = %s", (pid,)
        ).fetchone() == (version, None)
    assert cs.validate(people.clerk, cs_id) == []
    cs.submit(people.clerk, cs_id)
    assert cs.load(people.clerk, cs_id).status == "da_nop"
    listed = [c.id for c in cs.list_change_sets(people.approver, "da_nop")]
    assert cs_id in listed
    rv = cs.review(people.approver, cs_id)
    assert rv["problems"] == [] and rv["items"][0]["old"][0]["parcel_id"] == pid
    assert len(rv["items"][0]["new"]) == 2
    before = dt.datetime.now(dt.UTC)

    created = cs.approve(people.approver, cs_id, "Đồng ý tách thửa")
    assert len(created) == 2
    with psycopg.connect(db) as conn:
        q = conn.execute
        parent = q(
            "SELECT sheet_id, parcel_number, retired_at, version FROM cad.parcel WHERE id = %s",
            (pid,),
        ).fetchone()
        assert parent[2] is not None and parent[3] == version + 1
        top = q(
            "SELECT max(parcel_number) FROM cad.parcel WHERE sheet_id = %s AND id <> ALL(%s)",
            (parent[0], created),
        ).fetchone()[0]
        kids = q(
            "SELECT id, sheet_id, parcel_number, national_id, area_legal, retired_at, geom "
            "= ST_Multi(ST_GeomFromWKB(%s, ST_SRID(geom))) FROM cad.parcel "
            "WHERE id = ANY(%s) ORDER BY id",
            (shapely.to_wkb(parts[0]), created),
        ).fetchall()
        assert [k[2] for k in kids] == [top + 1, top + 2]  # next free numbers on the sheet
        assert all(k[1] == parent[0] and k[5] is None for k in kids)
        assert all(len(k[3]) == 12 for k in kids) and kids[0][3] != kids[1][3]
        assert float(kids[0][4]) == pytest.approx(parts[0].area, abs=0.06)
        assert (
            q(
                "SELECT count(*) FROM cad.parcel_lineage WHERE mutation_id = %s "
                "AND parent_id = %s AND child_id = ANY(%s)",
                (cs_id, pid, created),
            ).fetchone()[0]
            == 2
        )
        # Purposes follow the area: the children's add up to their legal areas.
        for kid in created:
            legal, uses = q(
                "SELECT p.area_legal, (SELECT sum(area) FROM cad.land_use u "
                "WHERE u.parcel_id = p.id AND u.retired_at IS NULL) "
                "FROM cad.parcel p WHERE p.id = %s",
                (kid,),
            ).fetchone()
            assert uses == legal
        # History as of before the approval still shows the parent in force.
        asof = q(
            "SELECT parcel_number, retired_at FROM hist.parcel_as_of(%s, %s)", (pid, before)
        ).fetchall()
        assert asof == [(parent[1], None)]
        # Audit: the approver did it, filed under the change set.
        audit = q(
            "SELECT action, (row_key ->> 'id')::bigint, new_row ->> 'retired_at' "
            "FROM audit.log WHERE change_set = %s AND table_name = 'cad.parcel' "
            "AND actor = %s",
            (cs_id, people.roles["approver"]),
        ).fetchall()
        assert sorted(r[1] for r in audit if r[0] == "INSERT") == sorted(created)
        assert any(r[0] == "UPDATE" and r[1] == pid and r[2] for r in audit)
        row = q(
            "SELECT status, decided_by, decision_comment FROM cad.mutation WHERE id = %s", (cs_id,)
        ).fetchone()
        assert row == ("da_duyet", people.roles["approver"], "Đồng ý tách thửa")


def test_merge_of_touching_parcels(db, people, parcels):
    (a, va, pa), (b, vb, pb) = parcels.adjacent_pair(same_holders=True)
    merged = pa.union(pb)
    assert merged.geom_type == "Polygon"
    cs_id = cs.open_change_set(people.clerk, "hop_thua", "Hợp thửa theo đơn", None)
    assert list(cs.draft_merge(people.clerk, cs_id, [a, b], [va, vb], merged)) == []
    cs.submit(people.clerk, cs_id)
    created = cs.approve(people.approver, cs_id, "")
    assert len(created) == 1
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT ST_Area(geom), retired_at FROM cad.parcel WHERE id = %s", (created[0],)
        ).fetchone()
        assert row[0] == pytest.approx(merged.area, rel=1e-9) and row[1] is None
        assert (
            conn.execute(
                "SELECT count(*) FROM cad.parcel WHERE id IN (%s, %s) AND retired_at IS NOT NULL",
                (a, b),
            ).fetchone()[0]
            == 2
        )
        assert sorted(
            conn.execute(
                "SELECT parent_id FROM cad.parcel_lineage WHERE child_id = %s", (created[0],)
            ).fetchall()
        ) == [(a,), (b,)]


def test_reshape_of_a_shared_vertex_in_two_parcels(db, people, parcels):
    (a, va, pa), (b, vb, pb) = parcels.adjacent_pair(same_holders=False)
    v = shared_vertex(pa, pb)
    c = pa.centroid  # half a metre towards a's centre: a shrinks, b grows, no gap
    d = ((c.x - v[0]) ** 2 + (c.y - v[1]) ** 2) ** 0.5
    nv = (v[0] + 0.5 * (c.x - v[0]) / d, v[1] + 0.5 * (c.y - v[1]) / d)
    na, nb = move_vertex(pa, v, nv), move_vertex(pb, v, nv)
    assert na.is_valid and nb.is_valid
    cs_id = cs.open_change_set(people.clerk, "dinh_chinh_ranh_gioi", "Đo đạc lại ranh giới", None)
    assert list(cs.draft_reshape(people.clerk, cs_id, {a: (va, na), b: (vb, nb)})) == []
    cs.submit(people.clerk, cs_id)
    assert cs.approve(people.approver, cs_id, "Đúng hiện trạng") == []
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, version, ST_Area(geom), area_legal FROM cad.parcel "
            "WHERE id IN (%s, %s) ORDER BY id",
            (a, b),
        ).fetchall()
    assert [r[1] for r in rows] == [va + 1, vb + 1]
    assert rows[0][2] == pytest.approx(na.area) and rows[1][2] == pytest.approx(nb.area)
    assert float(rows[0][3]) == pytest.approx(na.area, abs=0.06)


def test_attribute_and_land_use_change(db, people, parcels):
    pid, version, _ = parcels.single()
    with psycopg.connect(db) as conn:
        legal = conn.execute("SELECT area_legal FROM cad.parcel WHERE id = %s", (pid,)).fetchone()[
            0
        ]
    cs_id = cs.open_change_set(people.clerk, "chuyen_muc_dich", "Chuyển sang đất ở", "HS-7")
    attrs = {
        "land_uses": [
            {"code": "ONT", "area": 200.0},
            {"code": "CLN", "area": float(legal) - 200.0},
        ],
        "address": "Tổ 5, ấp 2",
    }
    assert list(cs.draft_attributes(people.clerk, cs_id, pid, version, attrs)) == []
    diff = cs.review(people.clerk, cs_id)["items"][0]["diff"]
    assert {d["field"] for d in diff} == {"address", "land_uses"}
    cs.submit(people.clerk, cs_id)
    cs.approve(people.approver, cs_id, "")
    with psycopg.connect(db) as conn:
        uses = conn.execute(
            "SELECT code, area FROM cad.land_use WHERE parcel_id = %s "
            "AND retired_at IS NULL ORDER BY code",
            (pid,),
        ).fetchall()
        addr, ver = conn.execute(
            "SELECT address, version FROM cad.parcel WHERE id = %s", (pid,)
        ).fetchone()
    assert [u[0] for u in uses] == ["CLN", "ONT"] and float(uses[1][1]) == 200.0
    assert addr == "Tổ 5, ấp 2" and ver == version + 1


def test_reject_changes_nothing_and_stays_readable(db, people, parcels):
    pid, version, poly = parcels.single()
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Tách thửa", None)
    cs.draft_split(people.clerk, cs_id, pid, version, split_in_two(poly))
    cs.submit(people.clerk, cs_id)
    before = snapshot(db)
    with pytest.raises(cs.InvalidInput):  # a rejection needs its reason
        cs.reject(people.approver, cs_id, "  ")
    cs.reject(people.approver, cs_id, "Thiếu biên bản xác định ranh giới")
    assert snapshot(db) == before
    loaded = cs.load(people.clerk, cs_id)
    assert loaded.status == "tu_choi" and loaded.decision_comment.startswith("Thiếu biên bản")
    assert len(loaded.items) == 1 and len(loaded.items[0].new_geometries) == 2
    with pytest.raises(cs.WrongState):
        cs.approve(people.approver, cs_id, "")
    with pytest.raises(cs.WrongState):
        cs.draft_split(people.clerk, cs_id, pid, version, split_in_two(poly))
    # Author and decider by full name and unit (person_factory's), the role in parentheses.
    unit = "Văn phòng đăng ký đất đai"
    clerk, approver = people.roles["clerk"], people.roles["approver"]
    assert loaded.author_label == f"Người Thử Nghiệm — {unit} ({clerk})"
    assert loaded.decider_label == f"Người Thử Nghiệm — {unit} ({approver})"


def test_people_are_named_in_the_same_round_trip(db, people, parcels):
    """review / list / load carry full name and unit of author and decider (0021) in the
    one statement each already sends; a role without account keeps its bare name."""
    pid, version, poly = parcels.single()
    clerk = people.roles["clerk"]
    with psycopg.connect(db, autocommit=True) as owner:
        owner.execute(
            "UPDATE sys.account SET full_name = 'Nguyễn Thị Lan', "
            "unit = 'Văn phòng đăng ký đất đai tỉnh' WHERE role_name = %s",
            (clerk,),
        )
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Tách thửa", None)
    cs.draft_split(people.clerk, cs_id, pid, version, split_in_two(poly))
    cs.submit(people.clerk, cs_id)
    sent: list[tuple] = []

    class Counting:  # one execute = one round trip on an autocommit connection
        def execute(self, *args, **kw):
            sent.append(args)
            return people.approver.execute(*args, **kw)

    review = cs.review(Counting(), cs_id)
    assert len(sent) == 1
    got = review["change_set"]
    assert (got.created_by_name, got.created_by_unit) == (
        "Nguyễn Thị Lan", "Văn phòng đăng ký đất đai tỉnh")  # fmt: skip
    assert got.author_label == f"Nguyễn Thị Lan — Văn phòng đăng ký đất đai tỉnh ({clerk})"
    assert got.decided_by is None and got.decider_label is None
    listed = {c.id: c for c in cs.list_change_sets(people.approver, "da_nop")}
    assert listed[cs_id].author_label == got.author_label
    cs.reject(people.approver, cs_id, "Thiếu hồ sơ")
    assert cs.person_label("landrec", None, None) == "landrec"


# --- bad input: a clear problem or error, nothing official changed -------------------------
def _refused_draft(db, problems, code: str, cs_id: int) -> cs.Problem:
    assert problems.item_id is None and items_of(db, cs_id) == 0
    found = [p for p in problems if p.code == code]
    assert found, [p.code for p in problems]
    return found[0]


def test_self_intersecting_ring(db, people, parcels):
    pid, version, poly = parcels.single()
    a, b = split_in_two(poly)
    x0, y0, x1, y1 = a.bounds
    bow = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # a bow-tie
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Thử", None)
    before = snapshot(db)
    p = _refused_draft(
        db, cs.draft_split(people.clerk, cs_id, pid, version, [bow, b]), "INVALID_GEOMETRY", cs_id
    )
    assert "tự cắt" in p.message and p.location is not None
    assert p.location.distance(shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)) < 0.01
    assert snapshot(db) == before


def test_split_parts_not_covering_the_parent(db, people, parcels):
    pid, version, poly = parcels.single()
    a, b = split_in_two(poly)
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Thử", None)
    before = snapshot(db)
    p = _refused_draft(
        db,
        cs.draft_split(people.clerk, cs_id, pid, version, [a, scale(b, 0.9, 0.9)]),
        "SPLIT_COVER",
        cs_id,
    )
    assert "chưa phủ hết" in p.message and poly.buffer(0.01).contains(p.location)
    assert snapshot(db) == before


def test_overlap_with_a_neighbour(db, people, parcels):
    pid, _, poly = parcels.single()
    square = translate(poly.centroid.buffer(5, cap_style="square"), 0, 0)
    cs_id = cs.open_change_set(people.clerk, "thua_moi", "Thửa mới", None)
    before = snapshot(db)
    p = _refused_draft(
        db,
        cs.draft_new_parcel(people.clerk, cs_id, square, {"land_use_code": "ONT"}),
        "OVERLAP",
        cs_id,
    )
    assert p.parcel_id == pid and "chồng lấn" in p.message and poly.contains(p.location)
    assert snapshot(db) == before


def test_gap_between_parcels_that_touched(db, people, parcels):
    (a, va, pa), (_, _, pb) = parcels.adjacent_pair(same_holders=False)
    v = shared_vertex(pa, pb)
    c = pa.centroid
    d = ((c.x - v[0]) ** 2 + (c.y - v[1]) ** 2) ** 0.5
    nv = (v[0] + 1.0 * (c.x - v[0]) / d, v[1] + 1.0 * (c.y - v[1]) / d)
    cs_id = cs.open_change_set(people.clerk, "dinh_chinh_ranh_gioi", "Thử", None)
    before = snapshot(db)
    # Only parcel a gives up the corner: a sliver opens between a and b.
    p = _refused_draft(
        db, cs.draft_reshape(people.clerk, cs_id, {a: (va, move_vertex(pa, v, nv))}), "GAP", cs_id
    )
    assert "khe hở" in p.message and pa.buffer(0.01).contains(p.location)
    assert snapshot(db) == before


def test_merge_of_non_adjacent_parcels(db, people, parcels):
    (a, va, pa), (b, vb, pb) = parcels.far_pair()
    cs_id = cs.open_change_set(people.clerk, "hop_thua", "Thử", None)
    before = snapshot(db)
    p = _refused_draft(
        db,
        cs.draft_merge(people.clerk, cs_id, [a, b], [va, vb], pa.union(pb)),
        "MERGE_NOT_ADJACENT",
        cs_id,
    )
    assert "không liền kề" in p.message
    assert snapshot(db) == before


def test_unknown_land_use_code(db, people, parcels):
    pid, version, _ = parcels.single()
    cs_id = cs.open_change_set(people.clerk, "chuyen_muc_dich", "Thử", None)
    before = snapshot(db)
    p = _refused_draft(
        db,
        cs.draft_attributes(people.clerk, cs_id, pid, version, {"land_use_code": "XYZ"}),
        "LAND_USE_CODE",
        cs_id,
    )
    assert "«XYZ» không có trong danh mục" in p.message
    with pytest.raises(cs.InvalidInput, match="không được biết"):
        cs.draft_attributes(people.clerk, cs_id, pid, version, {"colour": "red"})
    with pytest.raises(cs.InvalidInput, match="chưa có thay đổi"):
        cs.submit(people.clerk, cs_id)
    assert snapshot(db) == before


def test_viewer_cannot_draft(db, people, parcels):
    pid, version, poly = parcels.single()
    before = snapshot(db)
    with pytest.raises(cs.PermissionDenied, match="không có quyền cập nhật") as caught:
        cs.open_change_set(people.viewer, "tach_thua", "Thử", None)
    assert caught.value.sqlstate == "42501"
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Thử", None)
    with pytest.raises(cs.PermissionDenied):
        cs.draft_split(people.viewer, cs_id, pid, version, split_in_two(poly))
    with pytest.raises(cs.PermissionDenied, match="chỉ người lập"):  # another clerk's draft
        cs.draft_split(people.clerk2, cs_id, pid, version, split_in_two(poly))
    assert snapshot(db) == before


def test_author_cannot_approve_and_approver_out_of_area_is_refused(db, people, parcels):
    pid, version, poly = parcels.single()
    cs_id = cs.open_change_set(people.both, "tach_thua", "Thử", None)
    cs.draft_split(people.both, cs_id, pid, version, split_in_two(poly))
    cs.submit(people.both, cs_id)
    before = snapshot(db)
    with pytest.raises(cs.PermissionDenied, match="không được tự phê duyệt"):
        cs.approve(people.both, cs_id, "")
    with pytest.raises(cs.PermissionDenied, match="ngoài địa bàn"):
        cs.approve(people.approver_b, cs_id, "")
    with pytest.raises(cs.PermissionDenied, match="không có quyền phê duyệt"):
        cs.approve(people.clerk, cs_id, "")
    assert snapshot(db) == before
    assert cs.load(people.both, cs_id).status == "da_nop"


def test_concurrent_edit_of_one_parcel(db, people, parcels):
    pid, version, poly = parcels.single()
    first = cs.open_change_set(people.clerk, "chuyen_muc_dich", "Đổi địa chỉ", None)
    second = cs.open_change_set(people.clerk2, "tach_thua", "Tách thửa", None)
    assert list(cs.draft_attributes(people.clerk, first, pid, version, {"address": "Ấp 3"})) == []
    assert list(cs.draft_split(people.clerk2, second, pid, version, split_in_two(poly))) == []
    cs.submit(people.clerk, first)
    cs.approve(people.approver, first, "")
    before = snapshot(db)
    with pytest.raises(cs.ConflictError) as caught:
        cs.submit(people.clerk2, second)
    msg = str(caught.value)
    assert caught.value.sqlstate == "40001"
    assert f"phiên bản {version} → {version + 1}" in msg and f"(mã {pid})" in msg
    assert people.roles["approver"] in msg and f"biến động số {first}" in msg
    assert snapshot(db) == before
    assert cs.load(people.clerk2, second).status == "nhap"
    # The review shows the conflict too, as a located problem.
    codes = [p.code for p in cs.validate(people.clerk2, second)]
    assert codes == ["VERSION_CONFLICT"]


def test_approval_of_a_stale_change_set_is_refused(db, people, parcels):
    pid, version, poly = parcels.single()
    first = cs.open_change_set(people.clerk, "thay_doi_thuoc_tinh", "Đổi địa chỉ", None)
    second = cs.open_change_set(people.clerk2, "tach_thua", "Tách thửa", None)
    cs.draft_attributes(people.clerk, first, pid, version, {"address": "Ấp 4"})
    cs.draft_split(people.clerk2, second, pid, version, split_in_two(poly))
    cs.submit(people.clerk, first)
    cs.submit(people.clerk2, second)  # both submitted on version 1
    cs.approve(people.approver, first, "")
    before = snapshot(db)
    with pytest.raises(cs.ConflictError, match=f"phiên bản {version} → {version + 1}"):
        cs.approve(people.approver, second, "")
    assert snapshot(db) == before
    assert cs.load(people.approver, second).status == "da_nop"


def empty_square(dsn: str, side: float) -> tuple[int, Polygon]:
    """A square on a map sheet that no current parcel covers, and the sheet's commune."""
    with psycopg.connect(dsn) as conn:
        commune, x, y, r = conn.execute(
            """
            WITH e AS (
                SELECT s.commune_id AS commune,
                       (ST_Dump(ST_Difference(s.frame, coalesce(
                           (SELECT ST_Union(p.geom) FROM cad.parcel p
                            WHERE p.geom && s.frame AND p.retired_at IS NULL),
                           'POLYGON EMPTY'::geometry)))).geom AS g
                FROM cad.map_sheet s)
            SELECT e.commune, ST_X(c.center), ST_Y(c.center), c.radius
            FROM e CROSS JOIN LATERAL ST_MaximumInscribedCircle(e.g) c
            WHERE ST_Area(e.g) > 1 ORDER BY c.radius DESC LIMIT 1
            """
        ).fetchone()
    assert r > side, "no empty land on any sheet"
    return commune, shapely.Point(x, y).buffer(side / 2, cap_style="square")


def test_two_new_parcels_on_the_same_land_second_approval_refused(db, person_factory):
    commune, square = empty_square(db, 6.0)
    clerk1, clerk2, approver = (
        psycopg.connect(person_factory(db, rights=r, communes=[commune]).dsn, autocommit=True)
        for r in (EDITOR, EDITOR, APPROVER)
    )
    first = cs.open_change_set(clerk1, "thua_moi", "Đăng ký lần đầu", None)
    second = cs.open_change_set(clerk2, "thua_moi", "Đăng ký lần đầu", None)
    attrs = {"land_use_code": "ONT", "address": "Ấp 1"}
    assert list(cs.draft_new_parcel(clerk1, first, square, attrs)) == []
    assert list(cs.draft_new_parcel(clerk2, second, square, attrs)) == []
    cs.submit(clerk1, first)
    cs.submit(clerk2, second)
    created = cs.approve(approver, first, "")
    with psycopg.connect(db) as conn:
        number, nid, area, code, where = conn.execute(
            "SELECT p.parcel_number, p.national_id, p.area_legal, "
            "(SELECT string_agg(code, ',') FROM cad.land_use u WHERE u.parcel_id = p.id), "
            "p.commune_id FROM cad.parcel p WHERE p.id = %s",
            (created[0],),
        ).fetchone()
    assert number > 0 and len(nid) == 12 and float(area) == 36.0 and code == "ONT"
    assert where is not None
    before = snapshot(db)
    # The second now overlaps an official parcel: validation refuses the approval.
    with pytest.raises(cs.ValidationFailed, match="chồng lấn") as caught:
        cs.approve(approver, second, "")
    assert [p.code for p in caught.value.problems] == ["OVERLAP"]
    assert caught.value.problems[0].parcel_id == created[0]
    assert square.buffer(0.01).contains(caught.value.problems[0].location)
    assert snapshot(db) == before
    for c in (clerk1, clerk2, approver):
        c.close()


def test_listing_follows_the_area(db, people, parcels):
    pid, version, poly = parcels.single()
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Tách thửa", None)
    cs.draft_split(people.clerk, cs_id, pid, version, split_in_two(poly))
    assert cs_id not in [c.id for c in cs.list_change_sets(people.approver)]  # a draft
    cs.submit(people.clerk, cs_id)
    assert cs_id in [c.id for c in cs.list_change_sets(people.approver, "da_nop")]
    assert cs_id not in [c.id for c in cs.list_change_sets(people.approver_b)]
    with pytest.raises(cs.PermissionDenied):
        cs.review(people.approver_b, cs_id)
    mine = cs.list_change_sets(people.clerk)
    assert [c.id for c in mine if c.id == cs_id] == [cs_id] and mine[0].items == []


# --- one round trip per edit action (migration 0016) ----------------------------------------
class CountingConnection:
    """Counts the statements sent (each one round trip on an autocommit connection)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn, self.statements = conn, 0

    def execute(self, *args, **kw):
        self.statements += 1
        return self.conn.execute(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_each_draft_reply_carries_the_change_set_in_one_statement(db, people, parcels):
    pid, version, poly = parcels.single()
    conn = CountingConnection(people.clerk)
    opened = cs.open_and_load(conn, "tach_thua", "Một lượt gửi", "HS-1")
    assert conn.statements == 1
    assert opened.status == "nhap" and opened.items == [] and opened.dossier_number == "HS-1"
    parts = split_in_two(poly)
    # A refused draft: its problems and the change set without it, in one statement.
    conn.statements = 0
    bad = cs.draft_split(conn, opened.id, pid, version, [parts[0], translate(parts[1], 3, 0)])
    assert conn.statements == 1 and bad.item_id is None and len(bad) > 0
    assert bad.change_set.id == opened.id and bad.change_set.items == []
    conn.statements = 0
    drafted = cs.draft_split(conn, opened.id, pid, version, parts)
    assert conn.statements == 1 and list(drafted) == []
    (item,) = drafted.change_set.items  # the stored item, in the same reply
    assert item.id == drafted.item_id and item.op == "split" and item.parcel_ids == [pid]
    assert sum(g.area for g in item.new_geometries) == pytest.approx(poly.area, abs=0.01)
    conn.statements = 0
    after = cs.remove_item(conn, opened.id, item.id)
    assert conn.statements == 1 and after.items == [] and items_of(db, opened.id) == 0
    # Another person's set is not readable through the reply either.
    with pytest.raises(cs.PermissionDenied):
        cs.remove_item(people.clerk2, opened.id, item.id)


# --- restrictions follow the land (migration 0016) ------------------------------------------
def add_restriction(dsn: str, pid: int, kind: str, text: str, ended: bool = False) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "INSERT INTO cad.restriction (parcel_id, kind, description, valid_from, valid_to) "
            "VALUES (%s, %s, %s, DATE '2024-03-01', CASE WHEN %s THEN DATE '2025-01-01' END) "
            "RETURNING id",
            (pid, kind, text, ended),
        ).fetchone()[0]


def restrictions_of(dsn: str, ids: list[int]) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT parcel_id, kind, description, valid_from, valid_to, carried_from, "
            "mutation_id FROM cad.restriction WHERE parcel_id = ANY(%s) ORDER BY parcel_id, id",
            (ids,),
        ).fetchall()


def test_a_split_carries_the_parents_restrictions_to_every_child(db, people, parcels):
    pid, version, poly = parcels.single()
    dispute = add_restriction(db, pid, "tranh_chap", "Tranh chấp ranh giới với thửa bên cạnh")
    add_restriction(db, pid, "ke_bien", "Kê biên đã giải tỏa", ended=True)
    cs_id = cs.open_change_set(people.clerk, "tach_thua", "Chia thừa kế", "HS-9")
    assert cs.draft_split(people.clerk, cs_id, pid, version, split_in_two(poly)) == []
    cs.submit(people.clerk, cs_id)
    created = cs.approve(people.approver, cs_id, "Đồng ý")
    start = dt.date(2024, 3, 1)
    kids = restrictions_of(db, created)
    # Only the restriction in force, on each child, with its start date and its origin.
    assert kids == [
        (kid, "tranh_chap", "Tranh chấp ranh giới với thửa bên cạnh", start, None, dispute, cs_id)
        for kid in sorted(created)
    ]
    parent = {r[1]: r[4] for r in restrictions_of(db, [pid])}
    assert parent["tranh_chap"] == dt.date.today()  # ends with the parent
    assert parent["ke_bien"] == dt.date(2025, 1, 1)  # already ended: untouched
    with psycopg.connect(db) as conn:
        audit = conn.execute(
            "SELECT action, count(*) FROM audit.log WHERE change_set = %s "
            "AND table_name = 'cad.restriction' AND actor = %s GROUP BY 1 ORDER BY 1",
            (cs_id, people.roles["approver"]),
        ).fetchall()
    assert audit == [("INSERT", 2), ("UPDATE", 1)]


def test_a_merge_carries_the_restrictions_of_both_parents(db, people, parcels):
    (a, va, ga), (b, vb, gb) = parcels.adjacent_pair(same_holders=True)
    ra = add_restriction(db, a, "hanh_lang", "Hành lang an toàn lưới điện")
    rb = add_restriction(db, b, "tranh_chap", "Đang giải quyết tranh chấp")
    merged = shapely.union_all([ga, gb])
    cs_id = cs.open_change_set(people.clerk, "hop_thua", "Hợp thửa", None)
    assert cs.draft_merge(people.clerk, cs_id, [a, b], [va, vb], merged) == []
    cs.submit(people.clerk, cs_id)
    (child,) = cs.approve(people.approver, cs_id, "Đồng ý")
    carried = restrictions_of(db, [child])
    assert sorted((r[1], r[5], r[6]) for r in carried) == sorted(
        [("hanh_lang", ra, cs_id), ("tranh_chap", rb, cs_id)]
    )
    assert all(r[4] == dt.date.today() for r in restrictions_of(db, [a, b]))
