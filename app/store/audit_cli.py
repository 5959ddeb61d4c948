"""``landrec audit verify``: check the audit log's hash chain on a local or central store."""

from __future__ import annotations

import argparse
from datetime import datetime

from app.errors import UserFacingError
from app.store.dsn import add_dsn_arguments, resolve_dsn


def register(subparsers) -> None:
    audit = subparsers.add_parser("audit", help="tamper-evident audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser(
        "verify",
        help="check the hash chain and report the first edited, deleted or moved entry",
        description="Walk the audit log's hash chain and report the first entry that was "
        "edited, deleted or re-ordered. Exit status 0: intact; 1: broken. Connect as an "
        "audit viewer (lr_admin_viewer) or the operator.",
    )
    add_dsn_arguments(verify)
    verify.add_argument(
        "--since",
        type=_timestamp,
        help="check from this time on (ISO 8601, e.g. 2026-01-01 or 2026-01-01T00:00+07:00), "
        "trusting the first entry there; default: the whole log",
    )
    verify.set_defaults(func=run_verify)


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def run_verify(args: argparse.Namespace) -> int:
    import psycopg

    from app.store import audit

    dsn = resolve_dsn(args.dsn, args.store_dir)
    try:
        with psycopg.connect(dsn, connect_timeout=10, application_name="landrec audit") as conn:
            result = audit.verify(conn, args.since)
            last_id, last_hash = audit.head(conn)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise UserFacingError(
            "this account may not read the audit log (audit viewers: lr_admin_viewer)"
        ) from exc
    except psycopg.OperationalError as exc:
        raise UserFacingError(f"cannot connect to the database: {exc}".strip()) from exc
    print(result.message())
    print(f"chain head: entry {last_id}, sha256 {last_hash}")
    return 0 if result.ok else 1
