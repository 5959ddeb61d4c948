"""The administrators' second factor: RFC 6238 TOTP checked by the database, per session."""

from __future__ import annotations

import secrets
import time

import psycopg
import pytest

from app.security import totp
from app.security.agent import Agent

pytestmark = pytest.mark.store

RFC_SECRET = b"12345678901234567890"
# RFC 6238 appendix B (SHA-1), last six digits of the eight-digit values.
RFC_VECTORS = [
    (59, "287082"),
    (1111111109, "081804"),
    (1111111111, "050471"),
    (1234567890, "005924"),
    (2000000000, "279037"),
    (20000000000, "353130"),
]


def test_python_totp_matches_rfc_6238():
    for at, code in RFC_VECTORS:
        assert totp.totp(RFC_SECRET, at=at) == code


def test_database_hotp_and_base32_match_python(migrated_db):
    with psycopg.connect(migrated_db) as conn:
        for at, code in RFC_VECTORS:
            counter = at // 30
            assert (
                conn.execute("SELECT sys.hotp(%s, %s)", (RFC_SECRET, counter)).fetchone()[0] == code
            )
        for _ in range(5):
            secret = secrets.token_bytes(20)
            uri = conn.execute("SELECT sys.otpauth_uri('nva', %s)", (secret,)).fetchone()[0]
            assert totp.secret_from_uri(uri) == secret
            assert uri.startswith("otpauth://totp/LandRec:nva?secret=")


@pytest.fixture
def admin(migrated_db, api_accounts):
    return api_accounts.administrator(migrated_db)


CREATE_ONE = (
    "SELECT admin.create_account(%s, %s, 'Phan Văn D', 'VPĐK', NULL, NULL, NULL, "
    '\'{"cadastral": ["viewer"]}\', NULL, true, NULL, NULL)'
)


def reset_step(db: str, role: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE sys.account SET totp_last_step = NULL WHERE role_name = %s", (role,))


def test_admin_functions_need_a_code_verified_in_the_same_session(migrated_db, admin, api_accounts):
    role = api_accounts.track(migrated_db, api_accounts.new_role_name())
    with psycopg.connect(admin.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            conn.execute(CREATE_ONE, (role, "079111222333"))
        assert "xác thực hai lớp" in err.value.diag.message_primary
        assert "sys.verify_totp" in err.value.diag.message_hint
        assert conn.execute("SELECT mfa_verified FROM sys.my_account()").fetchone()[0] is False

        # A code from the wrong time step is refused (and costs a second).
        started = time.monotonic()
        assert (
            conn.execute(
                "SELECT sys.verify_totp(%s)", (totp.totp(admin.totp_secret, step_offset=-5),)
            ).fetchone()[0]
            is False
        )
        assert time.monotonic() - started >= 1.0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(CREATE_ONE, (role, "079111222333"))

        code = totp.totp(admin.totp_secret)
        assert conn.execute("SELECT sys.verify_totp(%s)", (code,)).fetchone()[0] is True
        assert conn.execute("SELECT mfa_verified FROM sys.my_account()").fetchone()[0] is True
        temp = conn.execute(CREATE_ONE, (role, "079111222333")).fetchone()[0]
        assert temp

        # The same code again is a replay: refused.
        assert conn.execute("SELECT sys.verify_totp(%s)", (code,)).fetchone()[0] is False

    # Another session of the same administrator starts unverified.
    with psycopg.connect(admin.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT mfa_verified FROM sys.my_account()").fetchone()[0] is False
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM admin.list_accounts()")
        # Nor can it forge the record that marks a session verified.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO sys.mfa_session SELECT pid, backend_start, usename "
                "FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            )
    with psycopg.connect(migrated_db) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit.log WHERE target = %s ORDER BY id", (admin.role,)
            )
        ]
    assert "MFA_VERIFY" in actions


def test_malformed_codes_are_refused_not_errors(migrated_db, admin):
    with psycopg.connect(admin.dsn, autocommit=True) as conn:
        for bad in (None, "12a456"):
            assert conn.execute("SELECT sys.verify_totp(%s)", (bad,)).fetchone()[0] is False


def test_account_without_a_second_factor_gets_a_clear_error(migrated_db, person_factory):
    person = person_factory(migrated_db, rights={"admin": ["administrator"]}, whole_province=True)
    with psycopg.connect(person.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification) as err:
            conn.execute("SELECT sys.verify_totp('123456')")
        assert "chưa được cấp" in err.value.diag.message_primary


def test_issue_totp_replaces_the_secret(migrated_db, admin, api_accounts):
    other = api_accounts.administrator(migrated_db)
    with api_accounts.verified_connection(admin, migrated_db) as conn:
        uri = conn.execute("SELECT admin.issue_totp(%s)", (other.role,)).fetchone()[0]
    new_secret = totp.secret_from_uri(uri)
    assert new_secret != other.totp_secret
    with psycopg.connect(other.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT sys.verify_totp(%s)", (totp.totp(new_secret),)).fetchone()[0]


def test_wrong_codes_count_like_failed_logins(migrated_db, admin, local_store):
    agent = Agent(migrated_db, local_store.log_dir)
    agent.process_once()
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute(  # an override row, as admin.set_policy writes it
            "INSERT INTO sys.setting (key, value, description) "
            "VALUES ('policy.max_failed_logins', '2', 'test') "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
    try:
        live = psycopg.connect(admin.dsn, autocommit=True)
        for _ in range(2):
            wrong = totp.totp(admin.totp_secret, step_offset=-10)
            assert live.execute("SELECT sys.verify_totp(%s)", (wrong,)).fetchone()[0] is False
        deadline = time.monotonic() + 10
        while True:
            agent.process_once()
            with psycopg.connect(migrated_db) as conn:
                state, kind = conn.execute(
                    "SELECT state, lock_kind FROM sys.account WHERE role_name = %s",
                    (admin.role,),
                ).fetchone()
            if state == "locked" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (state, kind) == ("locked", "failed_logins")
        with pytest.raises(psycopg.OperationalError):  # the locked admin's session is ended
            live.execute("SELECT 1")
        live.close()
    finally:
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            conn.execute("DELETE FROM sys.setting WHERE key = 'policy.max_failed_logins'")
