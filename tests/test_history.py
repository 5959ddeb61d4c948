"""Versioned history: "as of" reads, lineage through splits and merges, the area rule.

Writes happen as the owner (SET ROLE landrec_owner in a superuser session), the way the
write API's SECURITY DEFINER functions write; reads happen as real people.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import datetime

import psycopg
import psycopg.conninfo
import pytest
from conftest import scratch_database
from psycopg import errors

from app.demo.load import load_demo_province
from app.store.migrate import migrate

pytestmark = pytest.mark.store

AS_OF = (
    "SELECT id, address, ST_AsText(geom), version, is_current "
    "FROM hist.parcel_as_of(%s, %s) ORDER BY version"
)


@pytest.fixture(scope="module")
def db(owner_dsn: str) -> Iterator[str]:
    """A small demo province of this module's own (tests here change parcels)."""
    with scratch_database(owner_dsn, "history") as dsn:
        migrate(dsn)
        load_demo_province(dsn, parcels=900, seed=11)
        yield dsn


def as_owner(dsn: str, sql: str, params=None) -> None:
    """One transaction written by landrec_owner, as the write API's definer functions do."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET LOCAL ROLE landrec_owner")
        conn.execute(sql, params)


def clock(dsn: str) -> datetime:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def pick_parcel(dsn: str, skip: int = 0) -> tuple[int, int]:
    """(parcel id, commune id) of a current parcel with a land-use row, not in any lineage."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT p.id, p.commune_id FROM cad.parcel p WHERE p.retired_at IS NULL "
            "AND EXISTS (SELECT 1 FROM cad.land_use u WHERE u.parcel_id = p.id) "
            "AND NOT EXISTS (SELECT 1 FROM cad.parcel_lineage l "
            "                WHERE p.id IN (l.parent_id, l.child_id)) "
            "ORDER BY p.id OFFSET %s LIMIT 1",
            (skip,),
        ).fetchone()


def other_commune(dsn: str, commune: int) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT commune_id FROM cad.parcel WHERE commune_id <> %s LIMIT 1", (commune,)
        ).fetchone()[0]


def test_bulk_demo_load_is_one_audit_event_and_no_history(db):
    with psycopg.connect(db) as conn:
        actions = conn.execute(
            "SELECT action, count(*), min(detail->>'parcels') FROM audit.log "
            "WHERE id <= (SELECT min(id) FROM audit.log WHERE action = 'BULK_LOAD') "
            "GROUP BY action"
        ).fetchall()
        assert actions == [("BULK_LOAD", 1, "900")]
        assert conn.execute("SELECT count(*) FROM hist.parcel").fetchone()[0] == 0
        # Demo rows begin their version when loaded, like rows created later.
        assert conn.execute(
            "SELECT bool_and(version_from = created_at) FROM cad.parcel"
        ).fetchone()[0]


def test_as_of_before_and_after_an_update(db, person_factory):
    parcel, commune = pick_parcel(db)
    before = clock(db)
    with psycopg.connect(db) as conn:
        old_geom, old_address = conn.execute(
            "SELECT ST_AsText(geom), address FROM cad.parcel WHERE id = %s", (parcel,)
        ).fetchone()
    as_owner(
        db,
        "UPDATE cad.parcel SET geom = ST_Multi(ST_Translate(ST_GeometryN(geom, 1), 5, 0)), "
        "address = 'Số 1 đường Mới', version = version + 1 WHERE id = %s",
        (parcel,),
    )
    after = clock(db)
    with psycopg.connect(db) as conn:
        new_geom, version = conn.execute(
            "SELECT ST_AsText(geom), version FROM cad.parcel WHERE id = %s", (parcel,)
        ).fetchone()
        minx, miny, maxx, maxy = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Expand(geom::box2d, 10) e FROM cad.parcel WHERE id = %s) b",
            (parcel,),
        ).fetchone()
    assert new_geom != old_geom

    # A viewer of the parcel's commune reads both states through RLS.
    viewer = person_factory(db, rights={"cadastral": ["viewer"]}, communes=[commune])
    with psycopg.connect(viewer.dsn) as conn:
        assert conn.execute(AS_OF, (parcel, before)).fetchall() == [
            (parcel, old_address, old_geom, version - 1, False)
        ]
        assert conn.execute(AS_OF, (parcel, after)).fetchall() == [
            (parcel, "Số 1 đường Mới", new_geom, version, True)
        ]
        box = conn.execute(
            "SELECT id, ST_AsText(geom), is_current FROM hist.parcels_as_of(%s, %s, %s, %s, %s) "
            "WHERE id = %s",
            (minx, miny, maxx, maxy, before, parcel),
        ).fetchall()
        assert box == [(parcel, old_geom, False)]
        box = conn.execute(
            "SELECT id, ST_AsText(geom), is_current FROM hist.parcels_as_of(%s, %s, %s, %s, %s) "
            "WHERE id = %s",
            (minx, miny, maxx, maxy, after, parcel),
        ).fetchall()
        assert box == [(parcel, new_geom, True)]
        # The box holds other parcels of that moment too, each once.
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM hist.parcels_as_of(%s, %s, %s, %s, %s)",
                (minx - 200, miny - 200, maxx + 200, maxy + 200, after),
            )
        ]
        assert parcel in ids and len(ids) == len(set(ids)) > 1
        versions = conn.execute(
            "SELECT closed_by_op, is_current FROM hist.parcel_versions(%s)", (parcel,)
        ).fetchall()
        assert versions == [("UPDATE", False), (None, True)]
        # Before the parcel was recorded there is nothing.
        assert conn.execute(AS_OF, (parcel, datetime(1950, 1, 1))).fetchall() == []
        # People read history, never write it.
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE hist.parcel SET address = 'x'")
    with psycopg.connect(db) as conn:
        closed_by, period_ok = conn.execute(
            "SELECT closed_by, upper(version_period) > %s AND upper(version_period) < %s "
            "FROM hist.parcel WHERE id = %s",
            (before, after, parcel),
        ).fetchone()
        assert period_ok
        assert closed_by == conn.execute("SELECT session_user").fetchone()[0]


def test_officer_of_another_commune_gets_no_history(db, person_factory):
    parcel, commune = pick_parcel(db, skip=1)
    before = clock(db)
    as_owner(db, "UPDATE cad.parcel SET address = 'Đã sửa' WHERE id = %s", (parcel,))
    as_owner(db, "UPDATE cad.land_use SET origin = 'Đã sửa' WHERE parcel_id = %s", (parcel,))
    with psycopg.connect(db) as conn:
        minx, miny, maxx, maxy = conn.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM cad.parcel WHERE id = %s",
            (parcel,),
        ).fetchone()
    home = person_factory(db, rights={"cadastral": ["viewer"]}, communes=[commune])
    stranger = person_factory(
        db, rights={"cadastral": ["viewer"]}, communes=[other_commune(db, commune)]
    )
    reads = {
        "parcel": ("SELECT count(*) FROM hist.parcel WHERE id = %s", (parcel,)),
        "land_use": ("SELECT count(*) FROM hist.land_use WHERE parcel_id = %s", (parcel,)),
        "as_of": ("SELECT count(*) FROM hist.parcel_as_of(%s, %s)", (parcel, before)),
        "box": (
            "SELECT count(*) FROM hist.parcels_as_of(%s, %s, %s, %s, %s) WHERE id = %s",
            (minx, miny, maxx, maxy, before, parcel),
        ),
    }
    with psycopg.connect(home.dsn) as conn:
        seen = {k: conn.execute(sql, p).fetchone()[0] for k, (sql, p) in reads.items()}
    assert seen["parcel"] == 1 and seen["land_use"] >= 1 and seen["as_of"] == seen["box"] == 1
    with psycopg.connect(stranger.dsn) as conn:
        seen = {k: conn.execute(sql, p).fetchone()[0] for k, (sql, p) in reads.items()}
    assert seen == {"parcel": 0, "land_use": 0, "as_of": 0, "box": 0}


def test_retirement_closes_validity(db):
    parcel, _ = pick_parcel(db, skip=2)
    before = clock(db)
    as_owner(db, "UPDATE cad.parcel SET retired_at = now() WHERE id = %s", (parcel,))
    after = clock(db)
    with psycopg.connect(db) as conn:
        assert [r[4] for r in conn.execute(AS_OF, (parcel, before))] == [False]
        assert conn.execute(AS_OF, (parcel, after)).fetchall() == []


def test_versions_of_purposes_rights_certificates(db):
    parcel, _ = pick_parcel(db, skip=3)
    with psycopg.connect(db) as conn:
        use_id = conn.execute(
            "SELECT id FROM cad.land_use WHERE parcel_id = %s LIMIT 1", (parcel,)
        ).fetchone()[0]
        right_id, cert_id = conn.execute(
            "SELECT id, certificate_id FROM cad.land_right WHERE certificate_id IS NOT NULL LIMIT 1"
        ).fetchone()
    # Two changes in one transaction leave one earlier version: the state between them
    # was never visible to anyone.
    with psycopg.connect(db) as conn:
        conn.execute("SET LOCAL ROLE landrec_owner")
        conn.execute("SET LOCAL landrec.change_set = '77'")
        conn.execute("UPDATE cad.land_use SET origin = 'một' WHERE id = %s", (use_id,))
        conn.execute("UPDATE cad.land_use SET origin = 'hai' WHERE id = %s", (use_id,))
        conn.execute("UPDATE cad.land_right SET share = 0.5 WHERE id = %s", (right_id,))
        conn.execute("UPDATE cad.certificate SET status = 'thu_hoi' WHERE id = %s", (cert_id,))
    as_owner(db, "DELETE FROM cad.land_use WHERE id = %s", (use_id,))
    with psycopg.connect(db) as conn:
        uses = conn.execute(
            "SELECT origin, closed_by_op, change_set FROM hist.land_use WHERE id = %s "
            "ORDER BY lower(version_period)",
            (use_id,),
        ).fetchall()
        assert [u[1:] for u in uses] == [("UPDATE", 77), ("DELETE", None)]
        assert uses[1][0] == "hai"
        assert (
            conn.execute("SELECT share FROM hist.land_right WHERE id = %s", (right_id,)).fetchone()[
                0
            ]
            != 0.5
        )
        assert (
            conn.execute(
                "SELECT status FROM hist.certificate WHERE id = %s", (cert_id,)
            ).fetchone()[0]
            == "hieu_luc"
        )
        # Periods of consecutive versions meet: no gap, no overlap.
        gaps = conn.execute(
            "SELECT count(*) FROM (SELECT version_period, lead(version_period) OVER "
            "(ORDER BY lower(version_period)) nxt FROM hist.land_use WHERE id = %s) v "
            "WHERE nxt IS NOT NULL AND upper(version_period) <> lower(nxt)",
            (use_id,),
        ).fetchone()[0]
        assert gaps == 0


def test_lineage_of_demo_split_and_merge(db, person_factory):
    with psycopg.connect(db) as conn:
        split = conn.execute(
            "SELECT l.mutation_id, min(l.parent_id), array_agg(l.child_id ORDER BY l.child_id) "
            "FROM cad.parcel_lineage l JOIN cad.mutation m ON m.id = l.mutation_id "
            "WHERE m.kind = 'tach_thua' GROUP BY l.mutation_id "
            "HAVING count(DISTINCT l.parent_id) = 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
        merge = conn.execute(
            "SELECT l.mutation_id, min(l.child_id), array_agg(l.parent_id ORDER BY l.parent_id) "
            "FROM cad.parcel_lineage l JOIN cad.mutation m ON m.id = l.mutation_id "
            "WHERE m.kind = 'hop_thua' GROUP BY l.mutation_id "
            "HAVING count(DISTINCT l.child_id) = 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
        split_commune = conn.execute(
            "SELECT commune_id FROM cad.parcel WHERE id = %s", (split[1],)
        ).fetchone()[0]
    split_mutation, parent, children = split
    merge_mutation, merged, merged_parents = merge
    assert len(children) >= 2 and len(merged_parents) >= 2

    viewer = person_factory(db, rights={"cadastral": ["viewer"]}, whole_province=True)
    tree_sql = (
        "SELECT depth, parcel_id, mutation_id, mutation_kind "
        "FROM cad.parcel_lineage_tree(%s) ORDER BY depth, parcel_id"
    )
    with psycopg.connect(viewer.dsn) as conn:
        down = conn.execute(tree_sql, (parent,)).fetchall()
        assert down[0] == (0, parent, None, None)
        assert [r for r in down if r[0] != 0] == [
            (1, c, split_mutation, "tach_thua") for c in children
        ]
        up = conn.execute(tree_sql, (children[0],)).fetchall()
        assert up == [(-1, parent, split_mutation, "tach_thua"), (0, children[0], None, None)]
        up = conn.execute(tree_sql, (merged,)).fetchall()
        assert up == [
            *[(-1, p, merge_mutation, "hop_thua") for p in merged_parents],
            (0, merged, None, None),
        ]

    # Two generations: a child of the split is split again (a link added by the owner).
    with psycopg.connect(db) as conn:
        conn.execute("SET LOCAL ROLE landrec_owner")
        again = conn.execute(
            "INSERT INTO cad.mutation (kind, status, reason, decided_at) "
            "VALUES ('tach_thua', 'da_duyet', 'thử', now()) RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO cad.parcel_lineage VALUES (%s, %s, %s)", (again, children[0], merged)
        )
        conn.commit()
    with psycopg.connect(viewer.dsn) as conn:
        down = conn.execute(tree_sql, (parent,)).fetchall()
        assert (2, merged, again, "tach_thua") in down
        up = conn.execute(tree_sql, (merged,)).fetchall()
        assert (-2, parent, split_mutation, "tach_thua") in up
        assert (-1, children[0], again, "tach_thua") in up

    # An officer of another commune learns nothing about the family.
    stranger = person_factory(
        db, rights={"cadastral": ["viewer"]}, communes=[other_commune(db, split_commune)]
    )
    with psycopg.connect(stranger.dsn) as conn:
        assert conn.execute(tree_sql, (parent,)).fetchall() == []


def test_bad_input_is_refused_clearly(db, person_factory):
    viewer = person_factory(db, rights={"cadastral": ["viewer"]}, whole_province=True)
    bad = [
        ("SELECT * FROM hist.parcel_as_of(NULL, now())", None),
        ("SELECT * FROM hist.parcel_as_of(1, NULL)", None),
        ("SELECT * FROM hist.parcel_as_of(1, 'infinity')", None),
        ("SELECT * FROM hist.parcels_as_of(10, 0, 0, 10, now())", None),
        ("SELECT * FROM hist.parcels_as_of('NaN', 0, 10, 10, now())", None),
        ("SELECT * FROM hist.parcels_as_of(0, 0, 'Infinity', 10, now())", None),
        ("SELECT * FROM hist.parcels_as_of(0, NULL, 10, 10, now())", None),
        ("SELECT * FROM hist.parcels_as_of(0, 0, 10, 10, NULL)", None),
        ("SELECT * FROM cad.parcel_lineage_tree(NULL)", None),
    ]
    with psycopg.connect(viewer.dsn, autocommit=True) as conn:
        for sql, params in bad:
            with pytest.raises(errors.InvalidParameterValue) as exc:
                conn.execute(sql, params)
            assert exc.value.diag.message_primary  # a Vietnamese sentence, not a crash
        with pytest.raises(errors.InvalidTextRepresentation):
            conn.execute("SELECT * FROM hist.parcel_as_of(%s, now())", ("'; DROP TABLE x; --",))
    # A person without cadastral rights cannot read history at all.
    nobody = person_factory(db, rights={"land_price": ["viewer"]}, whole_province=True)
    with psycopg.connect(nobody.dsn, autocommit=True) as conn:
        for sql in (
            "SELECT count(*) FROM hist.parcel",
            "SELECT * FROM hist.parcel_as_of(1, now())",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql)


def test_one_audited_update_is_fast(db):
    """Cost of audit + history on one parcel edit (one statement, one transaction)."""
    parcel, _ = pick_parcel(db, skip=4)
    sql = "UPDATE cad.parcel SET address = %s, version = version + 1 WHERE id = %s"
    with psycopg.connect(db, autocommit=True) as conn:  # a superuser: replica needs it

        def median_ms(replica: bool) -> float:
            conn.execute(f"SET session_replication_role = {'replica' if replica else 'origin'}")
            times = []
            for i in range(40):
                t = time.perf_counter()
                conn.execute(sql, (f"Số {i}", parcel))
                times.append(time.perf_counter() - t)
            return statistics.median(times) * 1e3

        plain = median_ms(replica=True)
        audited = median_ms(replica=False)
        conn.execute("RESET session_replication_role")
        entries = conn.execute(
            "SELECT count(*) FROM audit.log WHERE table_name = 'cad.parcel' "
            "AND row_key = jsonb_build_object('id', %s::bigint)",
            (parcel,),
        ).fetchone()[0]
    print(f"\none parcel UPDATE: {plain:.2f} ms without triggers, {audited:.2f} ms audited")
    assert entries == 40
    assert audited < 25  # measured ≈ 0.5 ms on the 2-core machine
