"""TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), as sys.verify_totp checks it.

Used by ``landrec admin bootstrap`` / ``demo-accounts`` to print the otpauth:// URI, by
tests to compute codes, and available to the desktop client for nothing more: the code
is always typed by the person from their authenticator app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
ISSUER = "LandRec"


def new_secret() -> bytes:
    """20 random bytes (160 bits, the RFC 4226 recommendation)."""
    return secrets.token_bytes(20)


def to_base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def from_base32(text: str) -> bytes:
    cleaned = text.strip().replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def step_at(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def hotp(secret: bytes, counter: int) -> str:
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**DIGITS:0{DIGITS}d}"


def totp(secret: bytes, at: float | None = None, step_offset: int = 0) -> str:
    """The code for time ``at`` (now by default), ``step_offset`` steps away."""
    return hotp(secret, step_at(at) + step_offset)


def otpauth_uri(secret: bytes, account: str, issuer: str = ISSUER) -> str:
    """Key URI for authenticator apps (shown once, e.g. as a QR code)."""
    label = quote(f"{issuer}:{account}")
    return (
        f"otpauth://totp/{label}?secret={to_base32(secret)}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )


def secret_from_uri(uri: str) -> bytes:
    """The secret of an otpauth:// URI (tests, and re-printing a URI an admin pasted)."""
    from urllib.parse import parse_qs, urlparse

    query = parse_qs(urlparse(uri).query)
    return from_base32(query["secret"][0])
