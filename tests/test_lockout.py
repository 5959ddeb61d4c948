"""Failed-login lockout that holds for psql (DESIGN P5): real connections, the real server
log, and the agent that reads it (app/security/agent.py)."""

from __future__ import annotations

import argparse
import io
import json
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import psycopg.conninfo
import pytest

from app.security.agent import Agent, parse_record

pytestmark = pytest.mark.store


@pytest.fixture
def agent(migrated_db, local_store) -> Agent:
    a = Agent(migrated_db, local_store.log_dir)
    a.process_once()  # catch up with what the session has logged so far
    return a


def account(db: str, role: str) -> dict:
    with psycopg.connect(db) as conn:
        cur = conn.execute(
            "SELECT a.*, r.rolcanlogin FROM sys.account a "
            "JOIN pg_roles r ON r.rolname = a.role_name WHERE a.role_name = %s",
            (role,),
        )
        return dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))


def wrong_logins(dsn: str, n: int) -> None:
    for i in range(n):
        bad = psycopg.conninfo.make_conninfo(dsn, password=f"Wrong#{i}-pass")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(bad, connect_timeout=5).close()


def process_until(agent: Agent, done, timeout: float = 10.0) -> None:
    """The logging collector writes asynchronously: poll until ``done()`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        agent.process_once()
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the agent did not see the expected log records in time")
        time.sleep(0.1)


def audit_actions(db: str, target: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit.log WHERE target = %s ORDER BY id", (target,)
            )
        ]


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(
    migrated_db, person_factory, agent
):
    person = person_factory(migrated_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    wrong_logins(person.dsn, 5)
    process_until(agent, lambda: account(migrated_db, person.role)["state"] == "locked")

    row = account(migrated_db, person.role)
    assert row["lock_kind"] == "failed_logins" and row["failed_logins"] == 5
    assert "Đăng nhập sai 5 lần" in row["lock_reason"] and "127.0.0.1" in row["lock_reason"]
    assert row["rolcanlogin"] is False
    minutes = (row["locked_until"] - row["locked_at"]).total_seconds() / 60
    assert 14 < minutes <= 15
    # The sixth attempt, with the RIGHT password, is refused as psql would be.
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(person.dsn).close()
    actions = audit_actions(migrated_db, person.role)
    assert actions.count("LOGIN_FAILED") == 5 and actions[-1] == "LOCK"

    # Fifteen minutes later (moved back rather than waited for) the rules unlock it.
    with psycopg.connect(migrated_db) as conn:
        conn.execute(
            "UPDATE sys.account SET locked_until = now() - interval '1 second' "
            "WHERE role_name = %s",
            (person.role,),
        )
    assert (person.role, "unlock", "lockout period over") in agent.enforce_policies()
    row = account(migrated_db, person.role)
    assert row["state"] == "active" and row["rolcanlogin"] and row["failed_logins"] == 0
    with psycopg.connect(person.dsn) as conn:
        assert conn.execute("SELECT count(*) >= 0 FROM cad.parcel").fetchone()[0]
    assert audit_actions(migrated_db, person.role)[-1] == "UNLOCK"


def test_a_successful_login_resets_the_count(migrated_db, person_factory, agent):
    person = person_factory(migrated_db)
    wrong_logins(person.dsn, 4)
    psycopg.connect(person.dsn).close()
    wrong_logins(person.dsn, 4)

    def seen_all() -> bool:
        row = account(migrated_db, person.role)
        return row["last_login_at"] is not None and row["failed_logins"] == 4

    process_until(agent, seen_all)
    row = account(migrated_db, person.role)
    assert row["state"] == "active" and row["rolcanlogin"]


def test_an_administrator_unlocks_before_the_time_is_over(
    migrated_db, person_factory, api_accounts, agent
):
    person = person_factory(migrated_db)
    wrong_logins(person.dsn, 5)
    process_until(agent, lambda: account(migrated_db, person.role)["state"] == "locked")
    admin = api_accounts.administrator(migrated_db)
    with api_accounts.verified_connection(admin, migrated_db) as conn:
        conn.execute("SELECT admin.unlock_account(%s)", (person.role,))
    psycopg.connect(person.dsn).close()


def test_agent_once_command_counts_each_record_once(migrated_db, person_factory, local_store):
    from app.security.cli import register  # the lead wires it into app/cli.py

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    argv = ["agent", "once", "--store-dir", str(local_store.directory), "--dsn", migrated_db]

    def once() -> str:
        args = parser.parse_args(argv)
        out = io.StringIO()
        with redirect_stdout(out):
            assert args.func(args) == 0
        return out.getvalue()

    once()
    person = person_factory(migrated_db)
    wrong_logins(person.dsn, 2)
    deadline = time.monotonic() + 10
    while account(migrated_db, person.role)["failed_logins"] < 2:
        assert time.monotonic() < deadline
        assert "failed logins" in once()
        time.sleep(0.1)
    once()
    once()  # nothing new: the saved offsets keep each record counted once
    assert account(migrated_db, person.role)["failed_logins"] == 2
    with psycopg.connect(migrated_db) as conn:
        assert conn.execute(
            "SELECT count(*) > 0 FROM sys.agent_log_position WHERE starts_with(file_name, %s)",
            (str(local_store.log_dir),),
        ).fetchone()[0]


def test_a_person_can_report_failures_only_against_themselves(migrated_db, person_factory, agent):
    mallory = person_factory(migrated_db)
    victim = person_factory(migrated_db)
    with psycopg.connect(mallory.dsn, autocommit=True) as conn:
        for _ in range(5):  # forged "failures" naming the victim, written by mallory
            conn.execute(
                "DO $$ BEGIN RAISE LOG 'landrec auth failure: current password %', "
                f"'{victim.role}'; END $$"
            )
    process_until(agent, lambda: account(migrated_db, mallory.role)["state"] == "locked")
    assert account(migrated_db, victim.role)["state"] == "active"
    assert account(migrated_db, victim.role)["failed_logins"] == 0


def test_a_wrong_current_password_counts_like_a_failed_login(migrated_db, person_factory, agent):
    person = person_factory(migrated_db)
    # In a transaction that is rolled back: the count must survive the rollback.
    with (
        psycopg.connect(person.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InvalidPassword),
        conn.transaction(),
    ):
        conn.execute("SELECT sys.change_password('Not#The-Old1', 'New#Pass-2026')")
    process_until(agent, lambda: account(migrated_db, person.role)["failed_logins"] == 1)
    with psycopg.connect(migrated_db) as conn:
        detail = conn.execute(
            "SELECT detail FROM audit.log WHERE target = %s AND action = 'LOGIN_FAILED' "
            "ORDER BY id DESC LIMIT 1",
            (person.role,),
        ).fetchone()[0]
    assert detail["kind"] == "current_password" and detail["known"] is True


# --- the log reader on its own: records, partial lines, rotation ---------------------------
def log_line(role: str, *, ok: bool = False, at: datetime | None = None) -> str:
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    base = {"timestamp": stamp, "user": role, "dbname": "x", "remote_host": "10.0.0.7"}
    if ok:
        base |= {"error_severity": "LOG", "message": f"connection authorized: user={role}"}
    else:
        base |= {
            "error_severity": "FATAL",
            "state_code": "28P01",
            "message": f'password authentication failed for user "{role}"',
        }
    return json.dumps(base)


def test_parse_record_reads_only_what_it_should():
    assert parse_record(json.loads(log_line("nva"))).kind == "failure"
    login = parse_record(json.loads(log_line("nva", ok=True)))
    assert (login.kind, login.client) == ("login", "10.0.0.7")
    local = {"user": "nva", "timestamp": "t", "remote_host": "[local]", "error_severity": "LOG",
             "message": "connection authorized: user=nva"}  # fmt: skip
    assert parse_record(local).client is None
    # Another FATAL (no such database …), a statement error, a record without a user: none.
    assert parse_record({"user": "nva", "timestamp": "t", "error_severity": "FATAL",
                         "state_code": "3D000", "message": "x"}) is None  # fmt: skip
    assert (
        parse_record({"timestamp": "t", "error_severity": "FATAL", "state_code": "28P01"}) is None
    )
    totp = {"user": "a", "timestamp": "t", "error_severity": "LOG",
            "message": "landrec auth failure: second factor"}  # fmt: skip
    assert parse_record(totp).detail == "totp"


def test_partial_lines_wait_and_a_replaced_file_starts_over(
    migrated_db, person_factory, tmp_path: Path
):
    person = person_factory(migrated_db)
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    agent = Agent(migrated_db, log_dir)
    log = log_dir / "postgresql-2026-11-25.json"
    lines = [log_line(person.role) for _ in range(3)]
    # Two whole records, garbage, and a third record the server is still writing.
    log.write_text(lines[0] + "\n" + lines[1] + "\nnot json\n" + lines[2][:20])
    report = agent.process_once()
    assert report.failures == 2 and account(migrated_db, person.role)["failed_logins"] == 2
    with log.open("a") as fh:
        fh.write(lines[2][20:] + "\n")
    assert agent.process_once().failures == 1
    assert agent.process_once().failures == 0
    assert account(migrated_db, person.role)["failed_logins"] == 3

    # Rotation: a new file under the same name (new inode) is read from its start.
    log.unlink()
    log.write_text(log_line(person.role, ok=True) + "\n")
    report = agent.process_once()
    assert report.logins == 1
    row = account(migrated_db, person.role)
    assert row["failed_logins"] == 0 and row["last_login_at"] is not None

    # A failure logged before the account existed is not held against it.
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with log.open("a") as fh:
        fh.write(log_line(person.role, at=old) + "\n")
    report = agent.process_once()
    assert report.outcomes[-1] == (person.role, "failure", "stale")
