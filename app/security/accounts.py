"""The first administrator of a central server, and the demo accounts of the local store.

Both run with the owner's connection (a superuser of the store) and go through the same
SQL functions as the administrators' API, so passwords are set as SCRAM verifiers,
recorded for the reuse and outside-change rules, and every step is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.errors import UserFacingError
from app.security import totp


@dataclass(frozen=True)
class BootstrapResult:
    role: str
    temporary_password: str
    totp_uri: str


def bootstrap_administrator(
    dsn: str, role: str, full_name: str, id_number: str, unit: str | None = None
) -> BootstrapResult:
    """Create the first administrator (admin rights, whole province) on a new server."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            if not conn.execute("SELECT to_regproc('admin.bootstrap_administrator')").fetchone()[0]:
                raise UserFacingError(
                    "this database has no LandRec account schema; run 'landrec db migrate' first"
                )
            password, uri = conn.execute(
                "SELECT * FROM admin.bootstrap_administrator(%s, %s, %s, %s)",
                (role, full_name, id_number, unit),
            ).fetchone()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise UserFacingError(
            "bootstrap needs the owner's connection (a superuser of the server): "
            f"{exc.diag.message_primary}"
        ) from exc
    except psycopg.OperationalError as exc:
        raise UserFacingError(f"cannot connect to the database: {exc}".strip()) from exc
    except psycopg.Error as exc:
        raise UserFacingError(exc.diag.message_primary or str(exc)) from exc
    return BootstrapResult(role, password, uri)


# --- demo accounts ------------------------------------------------------------------------
#: The demo's fixed TOTP secret of demo_admin (base32), documented in docs/security-accounts.md.
DEMO_ADMIN_TOTP_BASE32 = "LANDRECDEMOADMINTOTPSECRETKEY234"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    password: str
    full_name: str
    unit: str
    id_number: str
    rights: dict[str, list[str]]
    whole_province: bool
    first_commune_only: bool = False
    totp_base32: str | None = None


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "demo_clerk",
        "Demo-Clerk-2026!",
        "Nguyễn Thị Lan",
        "Văn phòng đăng ký đất đai tỉnh",
        "079000000001",
        {
            "cadastral": ["viewer", "editor"],
            "land_price": ["viewer"],
            "planning": ["viewer"],
            "inventory": ["viewer"],
            "dossier": ["viewer"],
        },
        whole_province=True,
    ),
    DemoAccount(
        "demo_officer",
        "Demo-Officer-2026!",
        "Trần Văn Minh",
        "Ủy ban nhân dân xã (công chức địa chính)",
        "079000000002",
        {"cadastral": ["viewer"], "planning": ["viewer"], "dossier": ["viewer"]},
        whole_province=False,
        first_commune_only=True,
    ),
    DemoAccount(
        "demo_approver",
        "Demo-Approver-2026!",
        "Lê Hoàng Nam",
        "Văn phòng đăng ký đất đai tỉnh (lãnh đạo)",
        "079000000003",
        {"cadastral": ["viewer", "approver"], "workflow": ["approver"], "dossier": ["viewer"]},
        whole_province=True,
    ),
    DemoAccount(
        "demo_admin",
        "Demo-Admin-2026!",
        "Phạm Quốc Huy",
        "Trung tâm công nghệ thông tin (quản trị hệ thống)",
        "079000000004",
        {"admin": ["administrator"]},
        whole_province=True,
        totp_base32=DEMO_ADMIN_TOTP_BASE32,
    ),
)

#: role → published password (the desktop client's demo profile signs in with these).
DEMO_PASSWORDS: dict[str, str] = {a.role: a.password for a in DEMO_ACCOUNTS}


def check_local_store(conn: psycopg.Connection, store_dir: Path) -> None:
    """Refuse anything but the local store in ``store_dir``: demo passwords are public."""
    data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    expected = (Path(store_dir) / "pgdata").resolve()
    if Path(data_dir).resolve() != expected:
        raise UserFacingError(
            "demo accounts have published passwords and are created only in the local demo "
            f"store ({expected}); this server's data directory is {data_dir}"
        )


def _first_commune(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT u.id FROM ref.admin_unit u WHERE u.level = 'commune' AND u.valid_to IS NULL "
        "ORDER BY NOT EXISTS (SELECT 1 FROM cad.parcel p WHERE p.commune_id = u.id), u.code "
        "LIMIT 1"
    ).fetchone()
    if row is None:
        raise UserFacingError(
            "the store has no communes yet; load the demo province first (landrec demo-data)"
        )
    return row[0]


def provision_demo_accounts(conn: psycopg.Connection) -> list[str]:
    """Create or bring back the demo accounts (idempotent). Returns one line per account."""
    commune = _first_commune(conn)
    lines = []
    for acc in DEMO_ACCOUNTS:
        problem = conn.execute(
            "SELECT sys.password_problem(%s, %s, %s)", (acc.role, acc.password, acc.full_name)
        ).fetchone()[0]
        if problem:  # the published passwords must pass the policy they demonstrate
            raise UserFacingError(f"demo password of {acc.role} breaks the policy: {problem}")
        communes = [commune] if acc.first_commune_only else []
        state = conn.execute(
            "SELECT state FROM sys.account WHERE role_name = %s", (acc.role,)
        ).fetchone()
        if state is None:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (acc.role,)).fetchone():
                raise UserFacingError(
                    f"role {acc.role} exists without a LandRec account; drop it or reset the store"
                )
            conn.execute(
                "SELECT sys.create_account_internal(%s, %s, %s, %s, NULL, NULL, NULL, %s, "
                "%s, %s, NULL, NULL)",
                (acc.role, acc.id_number, acc.full_name, acc.unit, json.dumps(acc.rights),
                 communes, acc.whole_province),
            )  # fmt: skip
            action = "created"
        else:
            if state[0] == "disabled":
                raise UserFacingError(f"demo account {acc.role} was disabled; reset the store")
            conn.execute("SELECT sys.unlock_internal(%s, 'demo-accounts')", (acc.role,))
            conn.execute(
                "UPDATE sys.account SET full_name = %s, unit = %s "
                "WHERE role_name = %s AND (full_name, unit) IS DISTINCT FROM (%s, %s)",
                (acc.full_name, acc.unit, acc.role, acc.full_name, acc.unit),
            )
            conn.execute(
                "SELECT sys.replace_rights_internal(%s, %s)", (acc.role, json.dumps(acc.rights))
            )
            conn.execute(
                "SELECT sys.replace_areas_internal(%s, %s, %s)",
                (acc.role, communes, acc.whole_province),
            )
            action = "kept"
        fresh = conn.execute(
            "SELECT NOT sys.password_matches(%s, %s) OR a.must_change_password "
            "OR sys.password_changed_outside(%s) FROM sys.account a WHERE a.role_name = %s",
            (acc.role, acc.password, acc.role, acc.role),
        ).fetchone()[0]
        if fresh:
            conn.execute(
                "SELECT sys.set_password_internal(%s, %s, false)", (acc.role, acc.password)
            )
        if acc.totp_base32:
            conn.execute(
                "UPDATE sys.account SET totp_secret = %s WHERE role_name = %s "
                "AND totp_secret IS DISTINCT FROM %s",
                (totp.from_base32(acc.totp_base32), acc.role, totp.from_base32(acc.totp_base32)),
            )
        conn.execute("SELECT sys.sync_grants(%s)", (acc.role,))
        lines.append(f"{acc.role:<14} {acc.password:<18} {action}")
    return lines


def demo_accounts(store_dir: Path) -> list[str]:
    from app.store.local import LocalStore

    store = LocalStore(store_dir)
    if not store.is_initialised():
        raise UserFacingError(
            f"no local store in {store.directory}; run 'landrec store init' (or 'make demo')"
        )
    try:
        with psycopg.connect(store.dsn(), connect_timeout=10) as conn:
            check_local_store(conn, store.directory)
            if not conn.execute("SELECT to_regproc('sys.create_account_internal')").fetchone()[0]:
                raise UserFacingError("the local store is not migrated; run 'landrec db migrate'")
            return provision_demo_accounts(conn)
    except psycopg.OperationalError as exc:
        raise UserFacingError(f"cannot connect to the local store: {exc}".strip()) from exc
