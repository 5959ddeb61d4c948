"""Migrations from an empty database, re-runs, the CRS rows, and the schema's own rules."""

from __future__ import annotations

import psycopg
import pytest

from app.errors import UserFacingError
from app.store.migrate import head_revision, migrate

pytestmark = pytest.mark.store

SNAPSHOT_SQL = """
SELECT n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc')
ORDER BY 1, 2, 4
"""


def snapshot(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        catalog = conn.execute(SNAPSHOT_SQL).fetchall()
        codes = conn.execute("SELECT * FROM ref.land_use_code ORDER BY code").fetchall()
        srs = conn.execute(
            "SELECT srid, proj4text FROM spatial_ref_sys WHERE srid BETWEEN 9205 AND 9218"
        ).fetchall()
    return [*catalog, *codes, *srs]


def test_migrate_from_empty_then_rerun_changes_nothing(fresh_db):
    first = migrate(fresh_db)
    assert first.before is None
    assert first.after == head_revision()
    assert first.srid == 9212
    before = snapshot(fresh_db)

    second = migrate(fresh_db)
    assert not second.changed
    assert snapshot(fresh_db) == before

    with psycopg.connect(fresh_db) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema IN ('ref','cad','price','plan','inv','doc','sys')"
            )
        }
    expected = {
        "ref.admin_unit", "ref.land_use_code", "cad.map_sheet", "cad.parcel", "cad.land_use",
        "cad.party", "cad.land_right", "cad.certificate", "cad.asset", "cad.mutation",
        "cad.parcel_lineage", "price.road_segment", "price.zone", "price.price_table",
        "price.segment_price", "plan.zone", "inv.period", "inv.result", "doc.document",
        "sys.setting", "sys.alembic_version",
    }  # fmt: skip
    assert expected <= tables


def test_vn2000_crs_rows_added_with_position_vector_shift(migrated_db):
    with psycopg.connect(migrated_db) as conn:
        rows = dict(
            conn.execute(
                "SELECT srid, proj4text FROM spatial_ref_sys WHERE srid BETWEEN 9205 AND 9218"
            ).fetchall()
        )
        assert sorted(rows) == list(range(9205, 9219))
        assert "+lon_0=106.25" in rows[9212]
        assert (
            "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479"
            in (rows[9212])
        )
        # A point near Đồng Xoài: PostGIS and PROJ's EPSG pipeline (VN-2000 to WGS 84 (2))
        # must agree to a millimetre-level of a degree.
        lon, lat = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM ST_Transform("
            "ST_SetSRID(ST_MakePoint(560000, 1300000), 9212), 4326) p"
        ).fetchone()
    from pyproj import Transformer

    x, y = Transformer.from_crs(9212, 4326, always_xy=True).transform(560000, 1300000)
    assert abs(lon - x) < 1e-8 and abs(lat - y) < 1e-8


def test_srid_is_fixed_once_chosen(migrated_db):
    with pytest.raises(UserFacingError, match="already uses EPSG:9212"):
        migrate(migrated_db, srid=9206)


def test_unknown_srid_refused_and_nothing_created(fresh_db):
    with pytest.raises(UserFacingError, match="EPSG:4326 is not a VN-2000"):
        migrate(fresh_db, srid=4326)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('cad.parcel')").fetchone()[0] is None


def test_bad_dsn_is_a_clear_message():
    with pytest.raises(UserFacingError, match="cannot connect"):
        migrate("postgresql://nobody@127.0.0.1:1/none")


SQUARE = "ST_GeomFromText('MULTIPOLYGON(((560000 1300000,560020 1300000,560020 1300030,560000 1300030,560000 1300000)))', {srid})"  # noqa: E501
BOWTIE = "ST_GeomFromText('MULTIPOLYGON(((560000 1300000,560020 1300030,560020 1300000,560000 1300030,560000 1300000)))', 9212)"  # noqa: E501


@pytest.fixture
def sheet(migrated_db):
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        unit = conn.execute(
            "INSERT INTO ref.admin_unit (level, code, name, kind, valid_from) "
            "VALUES ('commune', '99901', 'Xã Thử', 'xã', '2025-07-01') RETURNING id"
        ).fetchone()[0]
        sheet = conn.execute(
            "INSERT INTO cad.map_sheet (commune_id, sheet_number, scale, frame) VALUES "
            "(%s, 1, 1000, ST_MakeEnvelope(559900, 1299900, 560400, 1300400, 9212)) "
            "RETURNING id",
            (unit,),
        ).fetchone()[0]
    yield migrated_db, unit, sheet
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("DELETE FROM cad.parcel WHERE sheet_id = %s", (sheet,))
        conn.execute("DELETE FROM cad.map_sheet WHERE id = %s", (sheet,))
        conn.execute("DELETE FROM ref.admin_unit WHERE id = %s", (unit,))


def insert_parcel(conn, sheet_id, unit_id, number, geom_sql, seq=0):
    return conn.execute(
        "INSERT INTO cad.parcel (sheet_id, parcel_number, duplicate_seq, commune_id, geom, "
        f"area_legal) VALUES (%s, %s, %s, %s, {geom_sql}, 600) RETURNING id, area_computed",
        (sheet_id, number, seq, unit_id),
    ).fetchone()


def test_parcel_rules(sheet):
    dsn, unit, sheet_id = sheet
    with psycopg.connect(dsn, autocommit=True) as conn:
        _, area = insert_parcel(conn, sheet_id, unit, 1, SQUARE.format(srid=9212))
        assert area == pytest.approx(600.0)

        with pytest.raises(psycopg.errors.CheckViolation):
            insert_parcel(conn, sheet_id, unit, 2, BOWTIE)  # self-intersecting ring
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="SRID"):
            insert_parcel(conn, sheet_id, unit, 3, SQUARE.format(srid=9206))  # wrong CRS
        with pytest.raises(psycopg.errors.UniqueViolation):
            insert_parcel(conn, sheet_id, unit, 1, SQUARE.format(srid=9212))  # same key
        # The documented duplicate rule: a second "parcel 1" is kept with duplicate_seq 1
        # and reported by cad.duplicate_parcel_key.
        insert_parcel(conn, sheet_id, unit, 1, SQUARE.format(srid=9212), seq=1)
        dup = conn.execute(
            "SELECT parcel_number, cardinality(parcel_ids) FROM cad.duplicate_parcel_key "
            "WHERE sheet_id = %s",
            (sheet_id,),
        ).fetchall()
        assert dup == [(1, 2)]


def test_unknown_land_use_code_rejected(sheet):
    dsn, unit, sheet_id = sheet
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid, _ = insert_parcel(conn, sheet_id, unit, 7, SQUARE.format(srid=9212))
        conn.execute(
            "INSERT INTO cad.land_use (parcel_id, code, area) VALUES (%s, 'ONT', 600)", (pid,)
        )
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO cad.land_use (parcel_id, code, area) VALUES (%s, 'XYZ', 1)", (pid,)
            )
        conn.execute("DELETE FROM cad.land_use WHERE parcel_id = %s", (pid,))


def test_commune_code_effective_dates(migrated_db):
    with psycopg.connect(migrated_db) as conn:
        ins = (
            "INSERT INTO ref.admin_unit (level, code, name, kind, valid_from, valid_to) "
            "VALUES ('commune', '99902', %s, 'xã', %s, %s)"
        )
        conn.execute(ins, ("Xã Cũ", "2000-01-01", "2025-07-01"))
        conn.execute(ins, ("Xã Mới", "2025-07-01", None))  # code reused after the merger
        with pytest.raises(psycopg.errors.ExclusionViolation):
            conn.execute(ins, ("Xã Trùng", "2024-01-01", None))  # two meanings at once
        conn.rollback()


def test_text_and_parcel_id_functions(migrated_db):
    with psycopg.connect(migrated_db) as conn:
        folded = conn.execute(
            "SELECT ref.fold_vi('Nguyễn Thị Đào Ưng Hoàng Phượng'), "
            "ref.fold_vi(normalize('Trần Văn Được', NFD))"
        ).fetchone()
        assert folded == ("nguyen thi dao ung hoang phuong", "tran van duoc")
        # An L-shaped parcel: the national ID's point must lie inside it.
        pid, inside = conn.execute(
            "WITH l AS (SELECT ST_GeomFromText('POLYGON((560000 1300000,560040 1300000,"
            "560040 1300010,560010 1300010,560010 1300040,560000 1300040,560000 1300000))',"
            " 9212) g) SELECT cad.national_parcel_id(g), ST_Contains(ST_Transform(g, 4326),"
            " ST_SetSRID(ST_PointFromGeoHash(cad.national_parcel_id(g)), 4326)) FROM l"
        ).fetchone()
        assert len(pid) == 12 and inside
        tol = conn.execute("SELECT cad.area_tolerance(400, 1000)").fetchone()[0]
        assert float(tol) == pytest.approx(0.0004 * 1000 * 20)


def test_upgrade_of_a_store_holding_records(fresh_db):
    """A store with records at 0004 takes the security migrations: the history backfill
    is not audited row by row, and ownership passes to landrec_owner."""
    from alembic import command

    from app.store.migrate import _engine, alembic_config

    cfg = alembic_config()
    with _engine(fresh_db).connect() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["srid"] = 9212
        command.upgrade(cfg, "0004")
        conn.commit()
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        unit = conn.execute(
            "INSERT INTO ref.admin_unit (level, code, name, kind, valid_from) "
            "VALUES ('commune', '99903', 'Xã Nâng Cấp', 'xã', '2025-07-01') RETURNING id"
        ).fetchone()[0]
        sheet = conn.execute(
            "INSERT INTO cad.map_sheet (commune_id, sheet_number, scale, frame) VALUES "
            "(%s, 1, 1000, ST_MakeEnvelope(559900, 1299900, 560400, 1300400, 9212)) RETURNING id",
            (unit,),
        ).fetchone()[0]
        for number in (1, 2, 3):
            conn.execute(
                "INSERT INTO cad.parcel (sheet_id, parcel_number, commune_id, geom, created_at) "
                f"VALUES (%s, %s, %s, {SQUARE.format(srid=9212)}, '2010-05-01')",
                (sheet, number, unit),
            )
    assert migrate(fresh_db).after == head_revision()
    with psycopg.connect(fresh_db) as conn:
        versions = conn.execute(
            "SELECT count(*) FROM cad.parcel WHERE version_from = created_at"
        ).fetchone()[0]
        audited = conn.execute(
            "SELECT count(*) FROM audit.log WHERE table_name = 'cad.parcel'"
        ).fetchone()[0]
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'cad' AND tablename = 'parcel'"
        ).fetchone()[0]
    assert (versions, audited, owner) == (3, 0, "landrec_owner")
