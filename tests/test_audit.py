"""The audit log: one entry per row change and security event, hash-chained, append-only.

Tampering needs a superuser with triggers switched off (session_replication_role =
replica); each tamper test does it inside a transaction it rolls back, so the module's
database keeps an intact chain.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator

import psycopg
import psycopg.conninfo
import pytest
from conftest import scratch_database
from psycopg import errors

from app.errors import UserFacingError
from app.store import audit, audit_cli
from app.store.migrate import migrate

pytestmark = pytest.mark.store

AUDITED_SYS = {"sys.account", "sys.account_right", "sys.account_area", "sys.setting",
               "sys.contractor_project"}  # fmt: skip

HELPERS = """
CREATE SCHEMA t_audit;
-- A server function as the write API would be: SECURITY DEFINER, owned by landrec_owner.
CREATE FUNCTION t_audit.set_setting(p_key text, p_value jsonb) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO sys.setting (key, value, description) VALUES (p_key, p_value, 'test')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END;
CREATE FUNCTION t_audit.lock_someone(p_role text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN audit.log_event('LOCK', p_role, '{"reason": "test"}');
ALTER SCHEMA t_audit OWNER TO landrec_owner;
ALTER FUNCTION t_audit.set_setting(text, jsonb) OWNER TO landrec_owner;
ALTER FUNCTION t_audit.lock_someone(text) OWNER TO landrec_owner;
GRANT USAGE ON SCHEMA t_audit TO lr_person;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t_audit TO lr_person;
"""


@pytest.fixture(scope="module")
def db(owner_dsn: str) -> Iterator[str]:
    """A migrated database of this module's own (tests here tamper with the log)."""
    with scratch_database(owner_dsn, "audit") as dsn:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(HELPERS)
        yield dsn


def last_id(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM audit.log").fetchone()[0]


def entries_after(conn: psycopg.Connection, after: int) -> list[tuple]:
    return conn.execute(
        "SELECT id, actor, action, table_name, row_key, old_row, new_row, target, detail, "
        "change_set FROM audit.log WHERE id > %s ORDER BY id",
        (after,),
    ).fetchall()


# --- every change of a data table, once, with its actor --------------------------------
def test_every_data_table_is_audited(db):
    with psycopg.connect(db) as conn:
        missing = conn.execute(
            """
            SELECT n.nspname || '.' || c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND (n.nspname IN ('ref', 'cad', 'price', 'plan', 'inv', 'doc')
                   OR n.nspname || '.' || c.relname = ANY (%s))
              AND NOT EXISTS (SELECT 1 FROM pg_trigger t
                              WHERE t.tgrelid = c.oid AND t.tgname = 'zz_audit')
            """,
            (list(AUDITED_SYS),),
        ).fetchall()
        assert missing == []
        n = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'zz_audit' "
            "AND tgrelid::regclass::text LIKE 'sys.%'"
        ).fetchone()[0]
        assert n == len(AUDITED_SYS)


def test_insert_update_delete_one_entry_each_as_owner(db):
    with psycopg.connect(db, autocommit=True) as conn:
        me = conn.execute("SELECT session_user").fetchone()[0]
        start = last_id(conn)
        with conn.transaction():
            conn.execute("SET LOCAL ROLE landrec_owner")  # the owner writes; I signed in
            conn.execute(
                "INSERT INTO sys.setting (key, value, description) VALUES "
                "('t_a', '1', 'a'), ('t_b', '2', 'b'), ('t_c', '3', 'c')"
            )
            conn.execute("UPDATE sys.setting SET value = '20' WHERE key IN ('t_b', 't_c')")
            conn.execute("DELETE FROM sys.setting WHERE key = 't_c'")
        rows = entries_after(conn, start)
    assert [r[0] for r in rows] == list(range(start + 1, start + 7))  # no gaps
    assert [(r[2], r[4]["key"]) for r in rows] == [
        ("INSERT", "t_a"), ("INSERT", "t_b"), ("INSERT", "t_c"),
        ("UPDATE", "t_b"), ("UPDATE", "t_c"), ("DELETE", "t_c"),
    ]  # fmt: skip
    assert {r[1] for r in rows} == {me}  # session_user, not the owner role
    assert {r[3] for r in rows} == {"sys.setting"}
    ins, upd, dele = rows[0], rows[3], rows[5]
    assert ins[5] is None and ins[6]["value"] == 1
    assert upd[5]["value"] == 2 and upd[6]["value"] == 20
    assert dele[5]["value"] == 20 and dele[6] is None


def test_truncate_of_a_data_table_is_one_entry(db):
    with psycopg.connect(db, autocommit=True) as conn:
        start = last_id(conn)
        conn.execute("TRUNCATE ref.admin_unit_succession")
        rows = entries_after(conn, start)
    assert [(r[2], r[3]) for r in rows] == [("TRUNCATE", "ref.admin_unit_succession")]


def test_person_through_definer_function_is_the_actor(db, person_factory):
    clerk = person_factory(db, rights={"cadastral": ["editor"]}, whole_province=True)
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        conn.execute("SELECT t_audit.set_setting('t_person', '7')")
        conn.execute("SELECT t_audit.set_setting('t_person', '8')")
        # No person writes a data table directly.
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE sys.setting SET value = '9' WHERE key = 't_person'")
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT actor, action, old_row->'value', new_row->'value' FROM audit.log "
            "WHERE table_name = 'sys.setting' AND row_key = '{\"key\": \"t_person\"}' ORDER BY id"
        ).fetchall()
    assert rows == [(clerk.role, "INSERT", None, 7), (clerk.role, "UPDATE", 7, 8)]


def test_geometry_table_and_table_without_primary_key(db):
    with psycopg.connect(db, autocommit=True) as conn:
        start = last_id(conn)
        with conn.transaction():
            conn.execute("SET LOCAL ROLE landrec_owner")
            unit = conn.execute(
                "INSERT INTO ref.admin_unit (level, code, name, kind, valid_from) "
                "VALUES ('commune', '99901', 'Xã Thử', 'xã', '2025-07-01') RETURNING id"
            ).fetchone()[0]
            doc = conn.execute(
                "INSERT INTO doc.document (doc_type) VALUES ('khac') RETURNING id"
            ).fetchone()[0]
            party = conn.execute(
                "INSERT INTO cad.party (kind, full_name) VALUES ('ca_nhan', 'Lê Văn Thử') "
                "RETURNING id"
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO doc.document_link (document_id, party_id) VALUES (%s, %s)",
                (doc, party),
            )
            conn.execute("DELETE FROM doc.document_link WHERE document_id = %s", (doc,))
        rows = entries_after(conn, start)
    assert [(r[2], r[3]) for r in rows] == [
        ("INSERT", "ref.admin_unit"), ("INSERT", "doc.document"), ("INSERT", "cad.party"),
        ("INSERT", "doc.document_link"), ("DELETE", "doc.document_link"),
    ]  # fmt: skip
    assert rows[0][4] == {"id": unit}
    link_insert, link_delete = rows[3], rows[4]
    assert link_insert[4] is None  # no primary key: the whole row identifies it
    assert link_delete[5] == link_insert[6] == {
        "document_id": doc, "party_id": party, "parcel_id": None, "certificate_id": None,
        "mutation_id": None,
    }  # fmt: skip


def test_secrets_are_redacted(db, person_factory):
    someone = person_factory(db)
    with psycopg.connect(db, autocommit=True) as conn:
        start = last_id(conn)
        conn.execute(
            "UPDATE sys.account SET totp_secret = '\\x0102030405' WHERE role_name = %s",
            (someone.role,),
        )
        rows = entries_after(conn, start)
    assert len(rows) == 1
    assert rows[0][5]["totp_secret"] is None
    assert rows[0][6]["totp_secret"] == "[redacted]"
    assert "0102030405" not in str(rows[0])


def test_change_set_recorded_and_garbage_ignored(db):
    with psycopg.connect(db, autocommit=True) as conn:
        start = last_id(conn)
        with conn.transaction():
            conn.execute("SET LOCAL landrec.change_set = '42'")
            conn.execute("SELECT t_audit.set_setting('t_cs', '1')")
        with conn.transaction():
            conn.execute("SET LOCAL landrec.change_set = $$'; DROP TABLE audit.log; --$$")
            conn.execute("SELECT t_audit.set_setting('t_cs', '2')")
        rows = entries_after(conn, start)
    assert [r[9] for r in rows] == [42, None]
    assert audit.verify(psycopg.connect(db)).ok


# --- security events ----------------------------------------------------------------------
def test_person_reports_client_events_only(db, person_factory):
    clerk = person_factory(db, rights={"cadastral": ["viewer"]}, whole_province=True)
    nasty = "'; DROP TABLE audit.log; --"
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        exported = audit.log_event(conn, "EXPORT", nasty, {"format": "shp", "parcels": 120})
        shown = audit.log_event(conn, "READ_PERSONAL_ID", "cad.party:17")
        for action in ("LOCK", "UNLOCK", "LOGIN_FAILED", "RIGHTS_CHANGE", "BULK_LOAD"):
            with pytest.raises(errors.InsufficientPrivilege) as exc:
                audit.log_event(conn, action, clerk.role)
            assert "Không được tự ghi sự kiện" in exc.value.diag.message_primary
        # Nor through the internal functions.
        for sql in (
            "SELECT audit.write_event('LOCK', 'x', NULL)",
            "SELECT audit.append('LOCK', NULL, NULL, NULL, NULL, 'x', NULL)",
            "INSERT INTO audit.log (id, logged_at, actor, action, prev_hash, hash) "
            "VALUES (1, now(), 'x', 'LOCK', '\\x00', '\\x00')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql)
        # Bad input: a clear error, nothing written.
        bad = [
            ("NO_SUCH_ACTION", None, None),
            (None, None, None),
            ("EXPORT", "x" * 201, None),
            ("EXPORT", None, ["not", "an", "object"]),
            ("EXPORT", None, {"blob": "x" * 20_000}),
        ]
        for action, target, detail in bad:
            with pytest.raises(errors.InvalidParameterValue):
                audit.log_event(conn, action, target, detail)
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, actor, action, target, detail FROM audit.log WHERE actor = %s ORDER BY id",
            (clerk.role,),
        ).fetchall()
    assert rows == [
        (exported, clerk.role, "EXPORT", nasty, {"format": "shp", "parcels": 120}),
        (shown, clerk.role, "READ_PERSONAL_ID", "cad.party:17", None),
    ]


def test_server_function_logs_any_event(db, person_factory):
    admin = person_factory(db, rights={"admin": ["administrator"]}, whole_province=True)
    with psycopg.connect(admin.dsn, autocommit=True) as conn:
        entry = conn.execute("SELECT t_audit.lock_someone('p_victim')").fetchone()[0]
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT actor, action, target, detail FROM audit.log WHERE id = %s", (entry,)
        ).fetchone()
    assert row == (admin.role, "LOCK", "p_victim", {"reason": "test"})


# --- nobody used by people can read or change the log -----------------------------------
def test_people_cannot_change_the_log(db, person_factory):
    clerk = person_factory(db, rights={"cadastral": ["editor"]}, whole_province=True)
    auditor = person_factory(db, rights={"admin": ["viewer"]}, whole_province=True)
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        for sql in (
            "SELECT count(*) FROM audit.log",
            "SELECT * FROM audit.verify()",
            "UPDATE audit.log SET actor = 'nobody'",
            "DELETE FROM audit.log",
            "TRUNCATE audit.log",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql)
    with psycopg.connect(auditor.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit.log").fetchone()[0] > 0
        assert audit.verify(conn).ok
        for sql in (
            "UPDATE audit.log SET actor = 'nobody'",
            "DELETE FROM audit.log",
            "TRUNCATE audit.log",
            "TRUNCATE audit.log_2030",
            "UPDATE audit.chain_head SET last_id = 0",
            "DELETE FROM audit.log_default",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql)
    # Not even the owner: the triggers refuse it.
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET ROLE landrec_owner")
        for sql in (
            "UPDATE audit.log SET actor = 'nobody' WHERE id = 1",
            "DELETE FROM audit.log WHERE id = 1",
            "TRUNCATE audit.log",
            "TRUNCATE audit.log_2030",
            "TRUNCATE audit.log_default",
        ):
            with pytest.raises(errors.InsufficientPrivilege) as exc:
                conn.execute(sql)
            assert "chỉ được ghi thêm" in exc.value.diag.message_primary
        assert audit.verify(conn).ok


# --- the chain: verify finds edits, deletions and re-orderings ---------------------------
@pytest.fixture
def chained(db) -> Iterator[tuple[psycopg.Connection, list[int]]]:
    """Ten fresh entries, and a superuser connection inside a transaction that is rolled
    back afterwards, with triggers off (replica) as a tamperer would have them."""
    with psycopg.connect(db, autocommit=True) as conn:
        for i in range(10):
            conn.execute("SELECT t_audit.set_setting('t_chain', %s::jsonb)", (str(i),))
    conn = psycopg.connect(db)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM audit.log ORDER BY id DESC LIMIT 10")]
        assert audit.verify(conn).ok
        conn.execute("SET LOCAL session_replication_role = replica")
        yield conn, sorted(ids)
    finally:
        conn.rollback()
        conn.close()
    with psycopg.connect(db) as conn:
        assert audit.verify(conn).ok  # the tamper was rolled back


def test_verify_all_clear(db):
    with psycopg.connect(db) as conn:
        result = audit.verify(conn)
        top, _ = audit.head(conn)
        n = conn.execute("SELECT count(*) FROM audit.log").fetchone()[0]
    assert result == audit.VerifyResult(True, top, "ok", n)
    assert "intact" in result.message()


def test_verify_finds_an_edited_entry(chained):
    conn, ids = chained
    victim = ids[3]
    conn.execute(
        "UPDATE audit.log SET new_row = jsonb_set(new_row, '{value}', '999') WHERE id = %s",
        (victim,),
    )
    assert audit.verify(conn) == audit.VerifyResult(False, victim, "edited", victim)


def test_verify_finds_an_edited_and_rehashed_entry(chained):
    conn, ids = chained
    victim = ids[3]
    conn.execute(
        """
        UPDATE audit.log SET actor = 'someone_else',
            hash = audit.entry_hash(prev_hash, logged_at, 'someone_else', client_addr,
                                    application, change_set, action, table_name, row_key,
                                    old_row, new_row, target, detail)
        WHERE id = %s
        """,
        (victim,),
    )
    result = audit.verify(conn)
    assert (result.ok, result.entry_id, result.reason) == (False, victim, "edited")


def test_verify_finds_a_deleted_entry(chained):
    conn, ids = chained
    victim = ids[4]
    conn.execute("DELETE FROM audit.log WHERE id = %s", (victim,))
    result = audit.verify(conn)
    assert (result.ok, result.entry_id, result.reason) == (False, victim, "deleted")


def test_verify_finds_a_deleted_tail(chained):
    conn, ids = chained
    conn.execute("DELETE FROM audit.log WHERE id >= %s", (ids[7],))
    result = audit.verify(conn)
    assert (result.ok, result.entry_id, result.reason) == (False, ids[7], "deleted")


def test_verify_finds_swapped_entries(chained):
    conn, ids = chained
    a, b = ids[2], ids[6]
    conn.execute(
        "UPDATE audit.log SET id = CASE id WHEN %s THEN %s ELSE %s END WHERE id IN (%s, %s)",
        (a, b, a, a, b),
    )
    result = audit.verify(conn)
    assert (result.ok, result.entry_id, result.reason) == (False, a, "re-ordered")
    assert "moved" in result.message()


def test_verify_from_a_time(chained):
    conn, ids = chained
    since = conn.execute("SELECT logged_at FROM audit.log WHERE id = %s", (ids[5],)).fetchone()[0]
    assert audit.verify(conn, since) == audit.VerifyResult(True, ids[-1], "ok", 5)
    conn.execute("UPDATE audit.log SET action = 'DELETE' WHERE id = %s", (ids[8],))
    assert audit.verify(conn, since) == audit.VerifyResult(False, ids[8], "edited", 4)


# --- chain order under concurrency and rollbacks -------------------------------------------
def test_savepoint_rollback_leaves_no_gap(db):
    with psycopg.connect(db) as conn:
        conn.execute("SELECT t_audit.set_setting('t_sp', '1')")
        with pytest.raises(errors.InvalidParameterValue), conn.transaction():  # a savepoint
            conn.execute("SELECT t_audit.set_setting('t_sp', '2')")
            conn.execute("SELECT audit.log_event('NO_SUCH', NULL, NULL)")
        conn.execute("SELECT t_audit.set_setting('t_sp', '3')")
        conn.commit()
        ids = [r[0] for r in conn.execute("SELECT id FROM audit.log ORDER BY id")]
        values = [
            r[0]
            for r in conn.execute(
                "SELECT new_row->'value' FROM audit.log WHERE row_key->>'key' = 't_sp' ORDER BY id"
            )
        ]
        assert ids == list(range(1, len(ids) + 1))
        assert values == [1, 3]
        assert audit.verify(conn).ok


def test_concurrent_writers_are_chained_in_commit_order(db):
    first = psycopg.connect(db)
    second = psycopg.connect(db)
    try:
        first.execute("SELECT t_audit.set_setting('t_conc_1', '1')")  # holds the chain lock
        done = threading.Event()

        def write_second() -> None:
            second.execute("SELECT t_audit.set_setting('t_conc_2', '2')")
            second.commit()
            done.set()

        worker = threading.Thread(target=write_second)
        worker.start()
        assert not done.wait(0.5)  # waits for the first writer to commit
        first.execute("SELECT t_audit.set_setting('t_conc_1', '11')")
        first.commit()
        worker.join(10)
        assert done.is_set()
        keys = [
            r[0]
            for r in first.execute(
                "SELECT row_key->>'key' FROM audit.log WHERE row_key->>'key' LIKE 't_conc_%' "
                "ORDER BY id"
            )
        ]
        assert keys == ["t_conc_1", "t_conc_1", "t_conc_2"]
        assert audit.verify(first).ok
    finally:
        first.close()
        second.close()


def test_stale_repeatable_read_writer_must_retry(db):
    with psycopg.connect(db) as stale, psycopg.connect(db, autocommit=True) as other:
        stale.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stale.execute("SELECT 1")  # snapshot taken now
        other.execute("SELECT t_audit.set_setting('t_rr', '1')")  # commits after it
        with pytest.raises(errors.SerializationFailure):
            stale.execute("SELECT t_audit.set_setting('t_rr_stale', '1')")
        stale.rollback()
        assert audit.verify(stale).ok


# --- partitions ---------------------------------------------------------------------------
def test_year_partitions(db):
    with psycopg.connect(db) as conn:
        years = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit.log'::regclass"
        ).fetchone()[0]
        assert years == 2035 - 2015 + 1 + 1  # plus DEFAULT
        assert conn.execute("SELECT audit.add_year_partition(2036)").fetchone()[0] == (
            "audit.log_2036"
        )
        assert conn.execute("SELECT audit.add_year_partition(2036)").fetchone()[0] == (
            "audit.log_2036"
        )
        owner = conn.execute(
            "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'audit.log_2036'::regclass"
        ).fetchone()[0]
        assert owner == "landrec_owner"
        with pytest.raises(errors.InvalidParameterValue):
            conn.execute("SELECT audit.add_year_partition(NULL)")
        conn.rollback()


# --- the command line -----------------------------------------------------------------------
def run_cli(argv: list[str]) -> int:
    """``landrec audit …`` through audit_cli.register, as app/cli.py wires it."""
    parser = argparse.ArgumentParser(prog="landrec")
    audit_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_verify_intact(db, capsys):
    assert run_cli(["audit", "verify", "--dsn", db]) == 0
    out = capsys.readouterr().out
    assert "audit chain intact" in out
    assert "chain head: entry" in out


def test_cli_verify_broken_exits_1(fresh_db, capsys):
    migrate(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("UPDATE sys.setting SET value = '0.02' WHERE key = 'overlap_tolerance_m2'")
        conn.execute("UPDATE sys.setting SET value = '0.03' WHERE key = 'overlap_tolerance_m2'")
        with conn.transaction():  # a superuser who switched the triggers off
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("DELETE FROM audit.log WHERE id = 1")
    assert run_cli(["audit", "verify", "--dsn", fresh_db]) == 1
    assert "AUDIT CHAIN BROKEN: entry 1 was deleted" in capsys.readouterr().out


def test_cli_verify_refused_to_people(db, person_factory):
    clerk = person_factory(db, rights={"cadastral": ["editor"]}, whole_province=True)
    with pytest.raises(UserFacingError, match="may not read the audit log"):
        run_cli(["audit", "verify", "--dsn", clerk.dsn])


def test_verify_result_messages():
    broken = audit.VerifyResult(False, 17, "deleted", 20)
    assert broken.message().startswith("AUDIT CHAIN BROKEN: entry 17 was deleted")
