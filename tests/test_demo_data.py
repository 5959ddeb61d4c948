"""The demo province as loaded into the store: the invariants a clerk would rely on."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from app.demo.load import load_demo_province
from app.errors import UserFacingError

pytestmark = pytest.mark.store

DEMO_PARCELS = 6_000


@pytest.fixture(scope="module")
def demo_db(migrated_db: str) -> str:
    """The session's migrated database with a small demo province (loaded once)."""
    report = load_demo_province(migrated_db, parcels=DEMO_PARCELS, seed=7, replace=True)
    assert not report.skipped
    return migrated_db


def scalar(dsn: str, sql: str, params=None):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_size_and_communes(demo_db):
    n = scalar(demo_db, "SELECT count(*) FROM cad.parcel")
    assert 0.8 * DEMO_PARCELS <= n <= 1.25 * DEMO_PARCELS
    communes = scalar(
        demo_db,
        "SELECT count(*) FROM ref.admin_unit WHERE level = 'commune' AND valid_to IS NULL",
    )
    assert communes >= 5
    # Old communes (before the 2025 merger) are kept with their end date.
    old = scalar(demo_db, "SELECT count(*) FROM ref.admin_unit WHERE valid_to = '2025-07-01'")
    assert old > communes


def test_all_geometries_valid_in_province_crs(demo_db):
    with psycopg.connect(demo_db) as conn:
        bad = conn.execute(
            "SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)), "
            "count(*) FILTER (WHERE ST_SRID(geom) <> 9212), min(ST_Area(geom)) FROM cad.parcel"
        ).fetchone()
    assert bad[0] == 0 and bad[1] == 0
    assert bad[2] >= 30.0  # no slivers


def test_no_overlapping_parcels(demo_db):
    overlaps = scalar(
        demo_db,
        """
        SELECT count(*) FROM cad.parcel a JOIN cad.parcel b
          ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
        WHERE a.retired_at IS NULL AND b.retired_at IS NULL
          AND ST_Area(ST_Intersection(a.geom, b.geom)) > 0.01
        """,
    )
    assert overlaps == 0


def test_parcels_cover_the_communes_without_gaps(demo_db):
    # Parcels (with roads and rivers as DGT/SON parcels) tile the new communes.
    with psycopg.connect(demo_db) as conn:
        parcels, communes = conn.execute(
            "SELECT (SELECT sum(ST_Area(geom)) FROM cad.parcel WHERE retired_at IS NULL), "
            "(SELECT sum(ST_Area(geom)) FROM ref.admin_unit "
            " WHERE level = 'commune' AND valid_to IS NULL)"
        ).fetchone()
    assert parcels == pytest.approx(communes, rel=0.02)


def test_keys_unique_except_documented_duplicates(demo_db):
    with psycopg.connect(demo_db) as conn:
        n, keys, full_keys, national = conn.execute(
            "SELECT count(*), count(DISTINCT (sheet_id, parcel_number)), "
            "count(DISTINCT (sheet_id, parcel_number, duplicate_seq)), "
            "count(DISTINCT national_id) FROM cad.parcel WHERE retired_at IS NULL"
        ).fetchone()
        dup_rows = conn.execute(
            "SELECT coalesce(sum(cardinality(parcel_ids) - 1), 0) FROM cad.duplicate_parcel_key"
        ).fetchone()[0]
    assert full_keys == n and national == n
    # About 0.2 % carry a duplicate number on their sheet, as in real data.
    assert n - keys == dup_rows
    assert 0 < dup_rows < 0.01 * n


def test_national_id_point_inside_parcel(demo_db):
    outside = scalar(
        demo_db,
        "SELECT count(*) FROM (SELECT * FROM cad.parcel ORDER BY id LIMIT 2000) p "
        "WHERE NOT ST_Contains(p.geom, ST_Transform(ST_SetSRID("
        "ST_PointFromGeoHash(p.national_id), 4326), 9212))",
    )
    assert outside == 0


def test_every_land_use_code_known_and_current(demo_db):
    with psycopg.connect(demo_db) as conn:
        unknown = conn.execute(
            "SELECT count(*) FROM cad.land_use u LEFT JOIN ref.land_use_code c USING (code) "
            "WHERE c.code IS NULL OR c.status <> 'current'"
        ).fetchone()[0]
        mix = dict(
            conn.execute(
                "SELECT code, count(*) FROM cad.land_use GROUP BY code ORDER BY 2 DESC"
            ).fetchall()
        )
        no_purpose = conn.execute(
            "SELECT count(*) FROM cad.parcel p WHERE NOT EXISTS "
            "(SELECT 1 FROM cad.land_use u WHERE u.parcel_id = p.id)"
        ).fetchone()[0]
    assert unknown == 0 and no_purpose == 0
    for code in ("ONT", "ODT", "CLN", "HNK", "LUC", "DGT", "SON"):
        assert mix.get(code, 0) > 0, f"no {code} parcel in the demo"


def test_people_rights_and_certificates(demo_db):
    with psycopg.connect(demo_db) as conn:
        names = [r[0] for r in conn.execute("SELECT full_name FROM cad.party LIMIT 500")]
        bad_ids = conn.execute(
            "SELECT count(*) FROM cad.party WHERE id_kind = 'cccd' AND id_number !~ '^[0-9]{12}$'"
        ).fetchone()[0]
        shares = conn.execute(
            "SELECT count(*) FROM (SELECT parcel_id, kind, sum(share) s FROM cad.land_right "
            "WHERE valid_to IS NULL GROUP BY parcel_id, kind) x WHERE abs(s - 1) > 0.0001"
        ).fetchone()[0]
        certified = conn.execute(
            "SELECT count(DISTINCT parcel_id) FROM cad.certificate_parcel"
        ).fetchone()[0]
        found = conn.execute(
            "SELECT count(*) FROM cad.party WHERE name_folded LIKE 'nguyen %'"
        ).fetchone()[0]
    assert bad_ids == 0 and shares == 0
    assert any(ch in "".join(names) for ch in "ễếộờữăđ")  # real diacritics
    assert certified > 0 and found > 0


def test_subsystem_layers_have_rows(demo_db):
    with psycopg.connect(demo_db) as conn:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "cad.map_sheet", "cad.parcel_lineage", "price.road_segment",
                "price.segment_price", "price.zone_price", "plan.zone", "inv.result",
            )
        }  # fmt: skip
        periods = conn.execute("SELECT count(*) FROM inv.period").fetchone()[0]
        scales = {r[0] for r in conn.execute("SELECT DISTINCT scale FROM cad.map_sheet")}
        # Planning zones cut across parcels rather than following their boundaries.
        crossing = conn.execute(
            "SELECT count(*) FROM plan.zone z JOIN cad.parcel p ON p.geom && z.geom "
            "AND ST_Overlaps(p.geom, z.geom)"
        ).fetchone()[0]
        positions = {
            r[0] for r in conn.execute("SELECT DISTINCT position FROM price.segment_price")
        }
    assert all(n > 0 for n in counts.values()), counts
    assert periods == 2 and scales <= {1000, 2000} and scales
    assert crossing > 0
    assert {"VT1", "VT2", "VT3", "VT4"} <= positions


def test_same_seed_same_data(demo_db, fresh_db):
    from app.store.migrate import migrate

    migrate(fresh_db)
    load_demo_province(fresh_db, parcels=DEMO_PARCELS, seed=7)
    digest = (
        "SELECT md5(string_agg(national_id || parcel_number || ST_AsBinary(geom)::text, ',' "
        "ORDER BY national_id)) FROM cad.parcel"
    )
    assert scalar(fresh_db, digest) == scalar(demo_db, digest)


def test_second_load_needs_a_choice(demo_db):
    with pytest.raises(UserFacingError, match="already holds"):
        load_demo_province(demo_db, parcels=DEMO_PARCELS, seed=7)
    report = load_demo_province(demo_db, parcels=DEMO_PARCELS, seed=7, if_empty=True)
    assert report.skipped and report.existing_parcels > 0


def test_unmigrated_store_refused_and_unchanged(fresh_db):
    with pytest.raises(UserFacingError, match="landrec db migrate"):
        load_demo_province(fresh_db, parcels=500)


def test_cli_if_empty_is_a_no_op(demo_db):
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo-data", "--dsn", demo_db, "--if-empty"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "nothing loaded" in out.stdout


def test_replace_reloads_and_clears_account_areas(fresh_db, person_factory):
    from app.store.migrate import migrate

    migrate(fresh_db)
    load_demo_province(fresh_db, parcels=500, seed=3)
    commune = scalar(
        fresh_db, "SELECT min(id) FROM ref.admin_unit WHERE level = 'commune' AND valid_to IS NULL"
    )
    officer = person_factory(fresh_db, {"cadastral": ["viewer"]}, [commune])
    report = load_demo_province(fresh_db, parcels=500, seed=4, replace=True)
    assert report.rows["cad.parcel"] == scalar(fresh_db, "SELECT count(*) FROM cad.parcel")
    areas = scalar(
        fresh_db, "SELECT count(*) FROM sys.account_area WHERE role_name = %s", (officer.role,)
    )
    accounts = scalar(
        fresh_db, "SELECT count(*) FROM sys.account WHERE role_name = %s", (officer.role,)
    )
    assert (areas, accounts) == (0, 1)
