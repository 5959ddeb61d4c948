"""Account functions for the desktop client's tests: the server's, or a local stand-in.

The client codes against ``sys.my_account()``, ``sys.change_password(text, text)`` and
``sys.verify_totp(text)`` (migration 0007, another part of issue 3). When a migrated
database lacks them, :func:`install_standin` creates small stand-ins **in the test
database only** (never in db/): same signatures, SQLSTATEs and kinds of messages, a real
RFC 6238 TOTP check (pgcrypto), and ``ALTER ROLE`` for the password change.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time

import psycopg
import psycopg.sql

TOTP_SECRET = bytes(range(1, 21))  # 20 bytes, as RFC 6238's SHA-1 examples use

STANDIN_SQL = r"""
CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public;
CREATE SCHEMA standin;
CREATE TABLE standin.password (role_name name PRIMARY KEY, pw_hash text NOT NULL);

CREATE FUNCTION sys.my_account()
RETURNS TABLE (role_name name, full_name text, unit text, kinds jsonb,
               whole_province boolean, must_change_password boolean,
               is_administrator boolean, mfa_verified boolean, idle_lock_minutes int)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    a sys.account;
    adm boolean;
BEGIN
    SELECT * INTO a FROM sys.account WHERE sys.account.role_name = session_user;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF a.state <> 'active' THEN
        RAISE EXCEPTION 'Tài khoản đã bị khóa: %', a.lock_reason USING ERRCODE = '28000';
    END IF;
    adm := EXISTS (SELECT 1 FROM sys.account_right r
                   WHERE r.role_name = a.role_name AND r.kind = 'administrator');
    RETURN QUERY SELECT a.role_name, a.full_name, a.unit,
        coalesce((SELECT jsonb_object_agg(x.subsystem, x.ks) FROM (
                    SELECT r.subsystem, jsonb_agg(r.kind ORDER BY r.kind) AS ks
                    FROM sys.account_right r WHERE r.role_name = a.role_name
                    GROUP BY r.subsystem) x), '{}'::jsonb),
        a.whole_province, a.must_change_password, adm,
        coalesce(current_setting('standin.mfa', true), '') = session_user::text,
        CASE WHEN adm THEN 5 ELSE 15 END;
END
$fn$;

CREATE FUNCTION sys.change_password(p_old text, p_new text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM standin.password
                   WHERE role_name = session_user
                     AND pw_hash = encode(sha256(convert_to(p_old, 'UTF8')), 'hex')) THEN
        RAISE EXCEPTION 'Mật khẩu hiện tại không đúng' USING ERRCODE = '28P01';
    END IF;
    IF length(p_new) <= 8 OR p_new !~ '[A-Z]' OR p_new !~ '[a-z]' OR p_new !~ '[0-9]'
       OR p_new !~ '[^A-Za-z0-9]' THEN
        RAISE EXCEPTION 'Mật khẩu mới phải dài hơn 8 ký tự, có chữ hoa, chữ thường, chữ số '
                        'và ký tự đặc biệt' USING ERRCODE = '22023';
    END IF;
    IF position(lower(session_user::text) IN lower(p_new)) > 0 THEN
        RAISE EXCEPTION 'Mật khẩu không được chứa tên đăng nhập' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', session_user, p_new);
    UPDATE standin.password SET pw_hash = encode(sha256(convert_to(p_new, 'UTF8')), 'hex')
    WHERE role_name = session_user;
    UPDATE sys.account SET must_change_password = false, password_changed_at = now()
    WHERE role_name = session_user;
END
$fn$;

CREATE FUNCTION sys.verify_totp(p_code text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    secret bytea;
    h bytea;
    off int;
    code int;
BEGIN
    IF p_code IS NULL OR p_code !~ '^[0-9]{6}$' THEN
        RAISE EXCEPTION 'Mã xác thực phải gồm 6 chữ số' USING ERRCODE = '22023';
    END IF;
    SELECT totp_secret INTO secret FROM sys.account WHERE role_name = session_user;
    IF secret IS NULL THEN
        RETURN false;
    END IF;
    FOR step IN -1..1 LOOP
        h := public.hmac(int8send(floor(extract(epoch FROM clock_timestamp()) / 30)::bigint
                                  + step), secret, 'sha1');
        off := get_byte(h, 19) & 15;
        -- PostgreSQL gives & | << the same precedence: parenthesise every step.
        code := (((get_byte(h, off) & 127) << 24) | (get_byte(h, off + 1) << 16)
                 | (get_byte(h, off + 2) << 8) | get_byte(h, off + 3)) % 1000000;
        IF lpad(code::text, 6, '0') = p_code THEN
            PERFORM set_config('standin.mfa', session_user::text, false);
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$fn$;

REVOKE ALL ON FUNCTION sys.my_account(), sys.change_password(text, text),
    sys.verify_totp(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sys.my_account(), sys.change_password(text, text),
    sys.verify_totp(text) TO lr_person;
"""


def has_real_functions(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        (found,) = conn.execute("SELECT to_regprocedure('sys.my_account()') IS NOT NULL").fetchone()
        standin = conn.execute("SELECT to_regnamespace('standin') IS NOT NULL").fetchone()[0]
    return found and not standin


def install_standin(dsn: str) -> bool:
    """Create the stand-ins unless the server's functions exist; True if installed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regprocedure('sys.my_account()')").fetchone()[0]:
            return False
        conn.execute(STANDIN_SQL)
    return True


def prepare_person(
    dsn: str,
    role: str,
    password: str,
    *,
    must_change: bool = False,
    totp: bool = False,
    full_name: str | None = None,
) -> None:
    """As the owner: set the first-login flag, the TOTP secret, the stand-in's password."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE sys.account SET must_change_password = %s, "
            "totp_secret = CASE WHEN %s THEN %s::bytea ELSE totp_secret END, "
            "full_name = coalesce(%s, full_name) WHERE role_name = %s",
            (must_change, totp, TOTP_SECRET, full_name, role),
        )
        if conn.execute("SELECT to_regnamespace('standin')").fetchone()[0]:
            conn.execute(
                "INSERT INTO standin.password VALUES (%s, encode(sha256(convert_to(%s, "
                "'UTF8')), 'hex')) ON CONFLICT (role_name) DO UPDATE SET pw_hash = "
                "excluded.pw_hash",
                (role, password),
            )


def lock_account(dsn: str, role: str, reason: str) -> None:
    """Lock as the server does: the row says why, the role may not log in (NOLOGIN)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute(
            "SELECT to_regprocedure('sys.lock_internal(name,text,text,timestamptz)')"
        ).fetchone()[0]:
            conn.execute("SELECT sys.lock_internal(%s, 'administrator', %s)", (role, reason))
            return
        conn.execute(
            "UPDATE sys.account SET state = 'locked', lock_reason = %s, locked_at = now() "
            "WHERE role_name = %s",
            (reason, role),
        )
        conn.execute(psycopg.sql.SQL("ALTER ROLE {} NOLOGIN").format(psycopg.sql.Identifier(role)))


def totp_now(secret: bytes = TOTP_SECRET, at: float | None = None) -> str:
    """RFC 6238 TOTP (SHA-1, 30 s, 6 digits) — what an authenticator app shows."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = digest[19] & 15
    code = (struct.unpack(">I", digest[off : off + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def wrong_totp(secret: bytes = TOTP_SECRET) -> str:
    """A code valid in none of the three accepted time steps."""
    now = time.time()
    valid = {totp_now(secret, now + d * 30) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "999999") if c not in valid)
