"""Helpers for the desktop client's tests of sign-in, password change, TOTP and locks.

The client codes against migration 0007's ``sys.my_account()``,
``sys.change_password(text, text)`` and ``sys.verify_totp(text)``; these helpers only set
up people the way an administrator's actions would leave them (as the owner), and compute
TOTP codes independently of the server's implementation (RFC 6238).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time

import psycopg
import psycopg.sql

TOTP_SECRET = bytes(range(1, 21))  # 20 bytes, as RFC 6238's SHA-1 examples use


def prepare_person(
    dsn: str,
    role: str,
    *,
    must_change: bool = False,
    totp: bool = False,
    full_name: str | None = None,
) -> None:
    """As the owner: the first-login flag (as after an issued temporary password), the
    TOTP secret (as admin.issue_totp leaves it), the full name."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE sys.account SET must_change_password = %s, "
            "totp_secret = CASE WHEN %s THEN %s::bytea ELSE totp_secret END, "
            "totp_last_step = NULL, full_name = coalesce(%s, full_name) WHERE role_name = %s",
            (must_change, totp, TOTP_SECRET, full_name, role),
        )


def lock_account(dsn: str, role: str, reason: str) -> None:
    """Lock as the server does (sys.lock_internal): reason recorded, role NOLOGIN."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT sys.lock_internal(%s, 'administrator', %s)", (role, reason))


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
