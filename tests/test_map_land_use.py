"""The map's land-use code stored on the parcel (migration 0010) follows the purposes."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.store


def _main_codes_disagreeing(conn: psycopg.Connection) -> int:
    return conn.execute(
        """
        SELECT count(*) FROM cad.parcel p
        WHERE p.main_land_use IS DISTINCT FROM
              (SELECT lu.code FROM cad.land_use lu
               WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL
               ORDER BY lu.area DESC, lu.id LIMIT 1)
        """
    ).fetchone()[0]


def test_demo_load_fills_every_parcels_map_code(demo_db):
    with psycopg.connect(demo_db) as conn:
        current = "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL"
        assert conn.execute(current).fetchone()[0] >= 3000
        assert _main_codes_disagreeing(conn) == 0
        nulls = conn.execute(current + " AND main_land_use IS NULL")
        assert nulls.fetchone()[0] == 0


def test_purpose_changes_move_the_map_code_and_keep_one_version(demo_db):
    with psycopg.connect(demo_db) as conn:
        pid, old_code, versions = conn.execute(
            """
            SELECT p.id, p.main_land_use,
                   (SELECT count(*) FROM hist.parcel h WHERE h.id = p.id)
            FROM cad.parcel p
            WHERE (SELECT count(*) FROM cad.land_use lu
                   WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL) = 1
            ORDER BY p.id LIMIT 1
            """
        ).fetchone()
        new_code = "CLN" if old_code != "CLN" else "LUC"
        if True:  # one transaction, rolled back at the end: the demo store is shared
            # A larger second purpose becomes the map's code …
            conn.execute(
                "INSERT INTO cad.land_use (parcel_id, code, area) "
                "SELECT %s, %s, max(area) + 1 FROM cad.land_use WHERE parcel_id = %s",
                (pid, new_code, pid),
            )
            assert (
                conn.execute(
                    "SELECT main_land_use FROM cad.parcel WHERE id = %s", (pid,)
                ).fetchone()[0]
                == new_code
            )
            # … and retiring it gives the old code back, all in one parcel version.
            conn.execute(
                "UPDATE cad.land_use SET retired_at = now() WHERE parcel_id = %s AND code = %s",
                (pid, new_code),
            )
            assert (
                conn.execute(
                    "SELECT main_land_use FROM cad.parcel WHERE id = %s", (pid,)
                ).fetchone()[0]
                == old_code
            )
        hist_versions = conn.execute(
            "SELECT count(*) FROM hist.parcel WHERE id = %s", (pid,)
        ).fetchone()[0]
        assert hist_versions == versions + 1  # one closed version for the transaction
        assert _main_codes_disagreeing(conn) == 0
        conn.rollback()


def test_refresh_touches_only_rows_that_are_wrong(demo_db):
    with psycopg.connect(demo_db) as conn:
        assert conn.execute("SELECT cad.refresh_main_land_use(NULL)").fetchone()[0] == 0
        conn.execute(
            "UPDATE cad.parcel SET main_land_use = NULL WHERE id IN "
            "(SELECT id FROM cad.parcel ORDER BY id LIMIT 3)"
        )
        assert conn.execute("SELECT cad.refresh_main_land_use(NULL)").fetchone()[0] == 3
        assert _main_codes_disagreeing(conn) == 0
        conn.rollback()


def test_person_cannot_call_the_refresh(demo_db, person_factory):
    person = person_factory(demo_db, rights={"cadastral": ["editor"]}, whole_province=True)
    with psycopg.connect(person.dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT cad.refresh_main_land_use(NULL)")
