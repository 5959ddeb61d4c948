"""Read rights and row-level security by area (db/sql/0006_rls_api.sql), through real roles.

Every expectation is computed by the owner with plain joins written here, independently of
the policies, and compared with what a person's own connection returns.
"""

from __future__ import annotations

import psycopg
import psycopg.sql
import pytest
from conftest import busiest_communes

DATA_SCHEMAS = ("cad", "price", "plan", "inv", "doc")
SUBSYSTEMS = ("cadastral", "land_price", "planning", "inventory", "dossier", "workflow", "admin")
#: Group roles people are made members of (service roles such as an agent's are not people).
PERSON_GROUPS = "^lr_[a-z_]+_(viewer|editor|approver|administrator)$"
READERS = {s: ["viewer"] for s in ("cadastral", "land_price", "planning", "inventory", "dossier")}


def rows(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def ids(dsn: str, sql: str, params: tuple = ()) -> set[int]:
    return {r[0] for r in rows(dsn, sql, params)}


def sqlstate_of(dsn: str, sql: str) -> str | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(sql)
        except psycopg.Error as exc:
            return exc.sqlstate
    return None


@pytest.fixture(scope="module")
def communes(demo_db: str) -> tuple[int, int]:
    """Communes A and B: the two communes in force holding the most parcels."""
    a, b = busiest_communes(demo_db)
    return a, b


def units_of(dsn: str, commune: int) -> list[int]:
    """The commune and the old communes it took over (map sheets, inventory)."""
    return [commune] + [
        r[0]
        for r in rows(
            dsn,
            "SELECT predecessor_id FROM ref.admin_unit_succession WHERE successor_id = %s",
            (commune,),
        )
    ]


# What the owner says commune A holds, with joins written independently of the policies.
EXPECTED = {
    "cad.parcel": "SELECT id FROM cad.parcel WHERE commune_id = %(c)s",
    "cad.land_use": "SELECT l.id FROM cad.land_use l JOIN cad.parcel p ON p.id = l.parcel_id "
    "WHERE p.commune_id = %(c)s",
    "cad.land_right": "SELECT r.id FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id "
    "WHERE p.commune_id = %(c)s",
    "cad.asset": "SELECT a.id FROM cad.asset a JOIN cad.parcel p ON p.id = a.parcel_id "
    "WHERE p.commune_id = %(c)s",
    "cad.certificate": "SELECT DISTINCT cp.certificate_id FROM cad.certificate_parcel cp "
    "JOIN cad.parcel p ON p.id = cp.parcel_id WHERE p.commune_id = %(c)s",
    "cad.map_sheet": "SELECT id FROM cad.map_sheet WHERE commune_id = ANY (%(units)s)",
    "cad.party": """
        WITH holder AS (
            SELECT r.party_id FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
            WHERE p.commune_id = %(c)s)
        SELECT party_id FROM holder
        UNION
        SELECT m.member_id FROM cad.party_member m JOIN holder h ON h.party_id = m.group_id""",
    "cad.mutation": """
        SELECT mp.mutation_id FROM cad.mutation_parcel mp JOIN cad.parcel p ON p.id = mp.parcel_id
        WHERE p.commune_id = %(c)s
        UNION
        SELECT l.mutation_id FROM cad.parcel_lineage l
        JOIN cad.parcel p ON p.id = l.parent_id OR p.id = l.child_id WHERE p.commune_id = %(c)s""",
    "doc.document": """
        WITH area_parcel AS (SELECT id FROM cad.parcel WHERE commune_id = %(c)s),
        area_cert AS (SELECT certificate_id AS id FROM cad.certificate_parcel
                      WHERE parcel_id IN (SELECT id FROM area_parcel)),
        area_mutation AS (
            SELECT mutation_id AS id FROM cad.mutation_parcel
            WHERE parcel_id IN (SELECT id FROM area_parcel)
            UNION SELECT mutation_id FROM cad.parcel_lineage
            WHERE parent_id IN (SELECT id FROM area_parcel)
               OR child_id IN (SELECT id FROM area_parcel)),
        area_party AS (
            SELECT party_id AS id FROM cad.land_right
            WHERE parcel_id IN (SELECT id FROM area_parcel))
        SELECT document_id FROM doc.document_link
        WHERE parcel_id IN (SELECT id FROM area_parcel)
           OR certificate_id IN (SELECT id FROM area_cert)
           OR mutation_id IN (SELECT id FROM area_mutation)
           OR party_id IN (SELECT id FROM area_party)""",
    "price.zone": "SELECT id FROM price.zone WHERE commune_id = %(c)s",
    "price.road_segment": "SELECT id FROM price.road_segment WHERE commune_id = %(c)s",
    "plan.zone": "SELECT id FROM plan.zone WHERE commune_id = %(c)s",
}

# What a person's connection returns for the same table (the key column only).
SEEN = {
    "cad.parcel": "SELECT id FROM cad.parcel",
    "cad.land_use": "SELECT id FROM cad.land_use",
    "cad.land_right": "SELECT id FROM cad.land_right",
    "cad.asset": "SELECT id FROM cad.asset",
    "cad.certificate": "SELECT id FROM cad.certificate",
    "cad.map_sheet": "SELECT id FROM cad.map_sheet",
    "cad.party": "SELECT id FROM cad.party",
    "cad.mutation": "SELECT id FROM cad.mutation",
    "doc.document": "SELECT id FROM doc.document",
    "price.zone": "SELECT id FROM price.zone",
    "price.road_segment": "SELECT id FROM price.road_segment",
    "plan.zone": "SELECT id FROM plan.zone",
}


# --- grants: read only, for every kind of account ------------------------------------------
@pytest.mark.parametrize("kind", ["viewer", "editor", "approver", "administrator"])
def test_no_direct_writes_or_ddl_for_any_kind(demo_db, person_factory, kind):
    person = person_factory(demo_db, rights={s: [kind] for s in SUBSYSTEMS}, whole_province=True)
    before = rows(demo_db, "SELECT id, address, version FROM cad.parcel ORDER BY id LIMIT 3")
    statements = [
        "UPDATE cad.parcel SET address = 'x' WHERE id = 1",
        "DELETE FROM cad.parcel WHERE id = 1",
        "INSERT INTO cad.party (kind, full_name) VALUES ('ca_nhan', 'X')",
        "TRUNCATE cad.land_use",
        "UPDATE price.zone SET name = 'x'",
        "DELETE FROM plan.zone",
        "INSERT INTO inv.period (kind, year, reference_date) VALUES ('thong_ke', 2030, now())",
        "DELETE FROM doc.document_link",
        "UPDATE sys.account SET whole_province = true",
        "UPDATE ref.land_use_code SET name_vi = 'x'",
        "CREATE TABLE cad.mine (x int)",
        "CREATE TABLE public.mine (x int)",
        "CREATE TABLE api.mine (x int)",
        "CREATE SCHEMA mine",
        "ALTER TABLE cad.parcel DISABLE ROW LEVEL SECURITY",
        "DROP POLICY area ON cad.parcel",
        "CREATE FUNCTION cad.f() RETURNS int LANGUAGE sql RETURN 1",
        "DROP TABLE cad.restriction",
        "CREATE TRIGGER t BEFORE UPDATE ON cad.parcel FOR EACH ROW EXECUTE FUNCTION "
        "suppress_redundant_updates_trigger()",
    ]
    for sql in statements:
        assert sqlstate_of(person.dsn, sql) == "42501", sql
    assert (
        rows(demo_db, "SELECT id, address, version FROM cad.parcel ORDER BY id LIMIT 3") == before
    )


def test_catalog_grants_no_person_role_any_write(demo_db, person_factory):
    """No group role and no person's role holds a write or DDL privilege anywhere in LandRec."""
    person_factory(demo_db, rights={s: ["administrator"] for s in SUBSYSTEMS})
    offending = rows(
        demo_db,
        """
        SELECT r.rolname, n.nspname || '.' || c.relname, p.priv
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN pg_roles r
        CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                                'TRIGGER']) p(priv)
        WHERE n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc', 'api', 'hist',
                            'audit')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND (r.rolname = 'lr_person' OR r.rolname ~ %(groups)s
               OR pg_has_role(r.oid, 'lr_person', 'MEMBER'))
          AND NOT r.rolsuper AND r.rolname <> 'landrec_owner'
          AND has_table_privilege(r.oid, c.oid, p.priv)
        """,
        {"groups": PERSON_GROUPS},
    )
    assert offending == []
    creators = rows(
        demo_db,
        """
        SELECT r.rolname, n.nspname FROM pg_namespace n CROSS JOIN pg_roles r
        WHERE (n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc', 'api',
                             'public'))
          AND (r.rolname ~ %(groups)s OR pg_has_role(r.oid, 'lr_person', 'MEMBER'))
          AND NOT r.rolsuper AND has_schema_privilege(r.oid, n.oid, 'CREATE')
        """,
        {"groups": PERSON_GROUPS},
    )
    assert creators == []


def test_every_readable_data_table_has_row_level_security(demo_db):
    """A table people can read without a policy would show every commune's rows."""
    unguarded = rows(
        demo_db,
        """
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('cad', 'price', 'plan', 'inv', 'doc', 'hist')
          AND c.relkind IN ('r', 'p')
          AND EXISTS (SELECT 1 FROM pg_roles r
                      WHERE (r.rolname = 'lr_person' OR r.rolname ~ %(groups)s)
                        AND has_table_privilege(r.oid, c.oid, 'SELECT'))
          AND NOT (c.relrowsecurity
                   AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
        """,
        {"groups": PERSON_GROUPS},
    )
    assert unguarded == []
    # Views run with their owner's rights (no RLS) unless security_invoker is set.
    owner_views = rows(
        demo_db,
        """
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('cad', 'price', 'plan', 'inv', 'doc') AND c.relkind = 'v'
          AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
        """,
    )
    assert owner_views == []


def test_viewer_of_one_subsystem_cannot_read_another(demo_db, person_factory, communes):
    a, _ = communes
    price_only = person_factory(demo_db, rights={"land_price": ["viewer"]}, communes=[a])
    assert sqlstate_of(price_only.dsn, "SELECT 1 FROM cad.parcel LIMIT 1") == "42501"
    assert sqlstate_of(price_only.dsn, "SELECT 1 FROM doc.document LIMIT 1") == "42501"
    assert rows(price_only.dsn, "SELECT count(*) FROM price.zone")[0][0] > 0


# --- rows by area --------------------------------------------------------------------------
def test_commune_viewer_sees_exactly_their_commune(demo_db, person_factory, communes):
    a, b = communes
    viewer = person_factory(demo_db, rights=READERS, communes=[a])
    params_a = {"c": a, "units": units_of(demo_db, a)}
    params_b = {"c": b, "units": units_of(demo_db, b)}
    for table, expected_sql in EXPECTED.items():
        expected_a = ids(demo_db, expected_sql, params_a)
        seen = ids(viewer.dsn, SEEN[table])
        assert seen == expected_a, table
        if table in ("cad.parcel", "cad.land_use", "cad.land_right", "cad.map_sheet",
                     "price.zone", "plan.zone"):  # fmt: skip
            assert expected_a, f"demo data should give commune A some {table}"
            assert not seen & ids(demo_db, expected_sql, params_b), table
    # Persons and documents of commune B only are invisible.
    only_b = ids(demo_db, EXPECTED["cad.party"], params_b) - ids(
        demo_db, EXPECTED["cad.party"], params_a
    )
    assert only_b
    assert not only_b & ids(viewer.dsn, SEEN["cad.party"])
    # Inventory: A and its old communes; the province's totals are not A's.
    province = rows(demo_db, "SELECT id FROM ref.admin_unit WHERE level = 'province'")[0][0]
    units = {r[0] for r in rows(viewer.dsn, "SELECT DISTINCT unit_id FROM inv.result")}
    assert units and units <= set(params_a["units"]) and province not in units


def test_commune_viewer_reads_through_views_and_sql_functions(demo_db, person_factory, communes):
    """security_invoker views and ordinary queries keep the area rule."""
    a, _ = communes
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[a])
    dup = rows(viewer.dsn, "SELECT parcel_ids FROM cad.duplicate_parcel_key")
    a_ids = ids(demo_db, "SELECT id FROM cad.parcel WHERE commune_id = %s", (a,))
    assert all(set(r[0]) <= a_ids for r in dup)


def test_whole_province_viewer_sees_everything(demo_db, person_factory):
    viewer = person_factory(demo_db, rights=READERS, whole_province=True)
    for table in (*SEEN, "inv.result", "cad.party_member", "doc.document_link",
                  "price.parcel_position", "cad.parcel_lineage"):  # fmt: skip
        count = f"SELECT count(*) FROM {table}"
        assert rows(viewer.dsn, count) == rows(demo_db, count), table


def test_viewer_without_area_or_locked_sees_nothing(demo_db, person_factory, communes):
    a, _ = communes
    nowhere = person_factory(demo_db, rights=READERS)
    locked = person_factory(demo_db, rights=READERS, whole_province=True)
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE sys.account SET state = 'locked', lock_reason = 'thử nghiệm', "
            "locked_at = now() WHERE role_name = %s",
            (locked.role,),
        )
    for person in (nowhere, locked):
        for table in SEEN:
            assert rows(person.dsn, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    assert a


def test_dossier_viewer_without_cadastral_rights_reads_area_documents(
    demo_db, person_factory, communes
):
    a, _ = communes
    dossier = person_factory(demo_db, rights={"dossier": ["viewer"]}, communes=[a])
    expected = ids(demo_db, EXPECTED["doc.document"], {"c": a})
    assert expected
    assert ids(dossier.dsn, "SELECT id FROM doc.document") == expected
    assert ids(dossier.dsn, "SELECT DISTINCT document_id FROM doc.document_link") == expected
    assert sqlstate_of(dossier.dsn, "SELECT 1 FROM cad.parcel LIMIT 1") == "42501"


def test_single_record_lookup_stays_cheap(demo_db, person_factory, communes):
    """A lookup by parcel probes the parcel instead of building the whole area."""
    a, _ = communes
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[a])
    parcel = rows(demo_db, "SELECT min(id) FROM cad.parcel WHERE commune_id = %s", (a,))[0][0]
    plan = "\n".join(
        r[0]
        for r in rows(viewer.dsn, f"EXPLAIN SELECT * FROM cad.land_use WHERE parcel_id = {parcel}")
    )
    assert "land_use_parcel_idx" in plan
    assert "parcel_pkey" in plan  # the policy probes the parcel by key, no scan of the area


# --- viewport reads (pitfall P2) -----------------------------------------------------------
def window_in(dsn: str, commune: int, fraction: float = 0.3) -> tuple[float, ...]:
    """A box around the middle of the commune's parcels, `fraction` of their extent wide."""
    minx, miny, maxx, maxy = rows(
        dsn,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM cad.parcel WHERE commune_id = %s) x",
        (commune,),
    )[0]
    cx, cy, hw, hh = (minx + maxx) / 2, (miny + maxy) / 2, (maxx - minx) / 2, (maxy - miny) / 2
    return (cx - hw * fraction, cy - hh * fraction, cx + hw * fraction, cy + hh * fraction)


def test_viewport_returns_the_callers_communes_only(demo_db, person_factory, communes):
    a, b = communes
    viewer_a = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[a])
    viewer_b = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[b])
    province = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    everything = (-1e7, -1e7, 1e7, 1e7)
    fetch = "SELECT id FROM api.parcels_in_bbox(%s, %s, %s, %s)"
    current = "SELECT id FROM cad.parcel WHERE retired_at IS NULL"
    assert ids(viewer_a.dsn, fetch, everything) == ids(
        demo_db, current + " AND commune_id = %s", (a,)
    )
    assert ids(province.dsn, fetch, everything) == ids(demo_db, current)
    window = window_in(demo_db, a)
    in_window = ids(demo_db, current + " AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 9212)", window)
    got = ids(viewer_a.dsn, fetch, window)
    assert got and got <= in_window
    assert not ids(viewer_b.dsn, fetch, window) & got
    # Sheets: A's sheets carry A's old communes.
    sheets = ids(viewer_a.dsn, "SELECT id FROM api.sheets_in_bbox(%s, %s, %s, %s)", everything)
    assert sheets == ids(
        demo_db, "SELECT id FROM cad.map_sheet WHERE commune_id = ANY (%s)", (units_of(demo_db, a),)
    )


def test_viewport_columns_and_twkb_geometry(demo_db, person_factory, communes):
    a, _ = communes
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[a])
    got = rows(
        viewer.dsn, "SELECT * FROM api.parcels_in_bbox(%s, %s, %s, %s)", window_in(demo_db, a)
    )
    assert got
    with psycopg.connect(demo_db, autocommit=True) as conn:
        for pid, number, sheet, code, area, twkb in got[:50]:
            expected = conn.execute(
                """
                SELECT p.parcel_number, s.sheet_number, coalesce(p.area_legal, 0)::float8,
                       (SELECT code FROM cad.land_use WHERE parcel_id = p.id
                        AND retired_at IS NULL ORDER BY area DESC LIMIT 1),
                       ST_HausdorffDistance(p.geom, ST_GeomFromTWKB(%s)),
                       ST_SRID(p.geom)
                FROM cad.parcel p JOIN cad.map_sheet s ON s.id = p.sheet_id WHERE p.id = %s
                """,
                (twkb, pid),
            ).fetchone()
            assert (number, sheet, area, code) == expected[:4]
            assert expected[4] <= 0.0071  # centimetre grid: at most half a cm on each axis
    # Simplified and coarser for overviews: fewer bytes.
    full, simple = (
        rows(
            viewer.dsn,
            "SELECT sum(length(geom)) FROM api.parcels_in_bbox(-1e7, -1e7, 1e7, 1e7, %s)",
            (tol,),
        )[0][0]
        for tol in (0, 2.0)
    )
    assert simple < full


@pytest.mark.parametrize(
    "args",
    [
        ("NULL", "0", "1", "1", "0"),
        ("'NaN'", "0", "1", "1", "0"),
        ("'Infinity'", "0", "1", "1", "0"),
        ("5", "0", "1", "1", "0"),  # minx > maxx
        ("0", "0", "1", "1", "-1"),  # negative tolerance
        ("0", "0", "1", "1", "NULL"),
        ("0", "0", "1e300", "1", "0"),
    ],
)
def test_viewport_bad_box_is_refused(demo_db, person_factory, args):
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    call = "SELECT count(*) FROM api.parcels_in_bbox({})".format(", ".join(args))
    assert sqlstate_of(viewer.dsn, call) == "22023"


def test_viewport_needs_the_cadastral_right(demo_db, person_factory, communes):
    a, _ = communes
    price_only = person_factory(demo_db, rights={"land_price": ["viewer"]}, communes=[a])
    call = "SELECT count(*) FROM api.parcels_in_bbox(0, 0, 1e6, 2e6)"
    assert sqlstate_of(price_only.dsn, call) == "42501"


def inner_plans(owner_dsn: str, role: str, sql: str, params: tuple) -> str:
    """Plans of every statement `sql` runs as `role`, nested ones included (auto_explain).

    The superuser loads auto_explain, then becomes the person with SET SESSION AUTHORIZATION:
    session_user is the person, so the area helpers see their account exactly as in their
    own session, and the plans of the function's inner query come back as notices.
    """
    notices: list[str] = []
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_nested_statements = on",
                        "log_level = notice", "log_format = text"):  # fmt: skip
            conn.execute(f"SET auto_explain.{setting}")
        conn.execute(psycopg.sql.SQL("SET SESSION AUTHORIZATION {}").format(
            psycopg.sql.Identifier(role)))  # fmt: skip
        assert conn.execute("SELECT session_user").fetchone()[0] == role
        conn.execute(sql, params).fetchall()
    return "\n".join(notices)


def test_viewport_plan_uses_the_gist_index_for_a_commune_viewer(demo_db, person_factory, communes):
    a, _ = communes
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[a])
    window = window_in(demo_db, a, fraction=0.2)
    plans = inner_plans(
        demo_db, viewer.role, "SELECT * FROM api.parcels_in_bbox(%s, %s, %s, %s)", window
    )
    inner = plans[plans.index("FROM cad.parcel p") :]
    assert "parcel_geom_idx" in inner
    assert "Seq Scan on parcel" not in inner


# --- the Qt-free client (app/store/viewport.py) --------------------------------------------
def test_viewport_client_fetches_and_decodes(demo_db, person_factory, communes):
    import shapely

    from app.store.viewport import fetch_parcels, fetch_sheets

    a, _ = communes
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, communes=[a])
    window = window_in(demo_db, a, fraction=0.5)
    with psycopg.connect(viewer.dsn) as conn:
        view = fetch_parcels(conn, window)
        sheets = fetch_sheets(conn, window)
        overview = fetch_parcels(conn, window, simplify=2.0)
    assert len(view) > 0 and len(overview) == len(view)
    assert set(view.ids.tolist()) == ids(
        viewer.dsn, "SELECT id FROM api.parcels_in_bbox(%s, %s, %s, %s)", window
    )
    geoms = view.geometries()
    stored = dict(
        rows(
            demo_db,
            "SELECT id, ST_AsBinary(geom) FROM cad.parcel WHERE id = ANY (%s)",
            (view.ids.tolist(),),
        )
    )
    expected = shapely.from_wkb([stored[i] for i in view.ids.tolist()])
    assert float(shapely.hausdorff_distance(geoms, expected).max()) <= 0.0071
    assert all(g.geom_type == "MultiPolygon" for g in overview.geometries())
    assert len(sheets.ids) > 0 and all(g.area > 0 for g in sheets.geometries())


def test_decode_twkb_handles_holes_multiparts_and_empties(demo_db):
    import shapely

    from app.store.viewport import decode_twkb

    shapes = [
        "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 3, 3 3, 2 2))",
        "MULTIPOLYGON(((0 0, 10 0, 10 10, 0 0)), ((20 20, 30 20, 30 30.555, 20 20), "
        "(21 21.5, 22 22, 21 22, 21 21.5)))",
        "MULTIPOLYGON EMPTY",
        "MULTIPOLYGON(((500000.12 1300000.34, 500010 1300000, 500010 1300010, "
        "500000.12 1300000.34)))",
        "POLYGON((-5 -5, 5 -5, 0 5, -5 -5))",
    ]
    with psycopg.connect(demo_db) as conn:
        got = conn.execute(
            "SELECT ST_AsTWKB(ST_GeomFromText(t), 2), ST_AsBinary(ST_Multi(ST_GeomFromText(t))) "
            "FROM unnest(%s::text[]) WITH ORDINALITY u(t, n) ORDER BY n",
            (shapes,),
            binary=True,
        ).fetchall()
    decoded = decode_twkb([r[0] for r in got])
    expected = shapely.from_wkb([r[1] for r in got])
    assert [g.geom_type for g in decoded] == ["MultiPolygon"] * len(shapes)
    assert all(shapely.equals_exact(decoded, expected, tolerance=0.006))
    assert decode_twkb([]).shape == (0,)


# --- the migration itself ------------------------------------------------------------------
def test_0006_applies_to_a_store_already_at_the_other_heads(fresh_db):
    """Upgrading a store that already has the audit triggers (0005) must work: 0006 writes
    no audited rows, which would leave a deferred trigger event pending on audit.chain_head
    and make migrate()'s ownership pass fail in the same transaction."""
    from alembic import command

    from app.store.migrate import _engine, alembic_config, head_revision, migrate

    cfg = alembic_config()
    # The branches that were written beside this one; the merge revision 0008 follows.
    others = [b for b in ("0005", "0006", "0007") if b != "0006"]
    with _engine(fresh_db).connect() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["srid"] = 9212
        for head in others:
            command.upgrade(cfg, head)
        conn.commit()
    result = migrate(fresh_db)
    assert result.after == head_revision()
    assert rows(fresh_db, "SELECT to_regprocedure('api.update_parcel(bigint, integer, text, "
                "numeric, bigint)') IS NOT NULL")[0][0]  # fmt: skip
