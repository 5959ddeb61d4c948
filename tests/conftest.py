"""Shared fixtures. Keep each fixture small and documented; add new ones in their own section."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg.conninfo
import psycopg.sql
import pytest

# Qt must never look for a display in tests (set before anything imports PySide6).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from app.config import is_root
from app.session import Session
from app.store.local import LocalStore


# --- the embedded store (app/store/local.py) --------------------------------------------
def new_store_parent() -> Path:
    """A fresh directory under /tmp to hold one test store.

    As root the server runs as the postgres OS user (DESIGN P4), which must be able to
    enter this directory; mkdtemp makes it 0700.
    """
    parent = Path(tempfile.mkdtemp(prefix="landrec-test-", dir="/tmp"))
    if is_root():
        parent.chmod(0o711)
    return parent


@pytest.fixture(scope="session")
def local_store() -> Iterator[LocalStore]:
    """A running, ephemeral (fsync off) store shared by the whole session. Do not stop it."""
    parent = new_store_parent()
    store = LocalStore(parent / "store", ephemeral=True)
    try:
        store.init()
        store.start()
        yield store
    finally:
        store.destroy()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def owner_dsn(local_store: LocalStore) -> str:
    """DSN of the session store's owner (superuser ``landrec``, database ``landrec``)."""
    return local_store.dsn()


@pytest.fixture(scope="module")
def store_factory() -> Iterator[Callable[[], LocalStore]]:
    """Make fresh, not yet initialised, ephemeral stores; all destroyed after the module."""
    made: list[tuple[LocalStore, Path]] = []

    def make() -> LocalStore:
        parent = new_store_parent()
        store = LocalStore(parent / "store", ephemeral=True)
        made.append((store, parent))
        return store

    yield make
    for store, parent in made:
        try:
            store.destroy()
        finally:
            shutil.rmtree(parent, ignore_errors=True)


# --- databases inside the session store ---------------------------------------------------
def _dsn_for(dsn: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=database)


@contextlib.contextmanager
def scratch_database(owner_dsn: str, prefix: str) -> Iterator[str]:
    """A database of its own named ``prefix_…`` in the session's store, dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _dsn_for(owner_dsn, name)
    finally:
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def busiest_communes(dsn: str, n: int = 2) -> list[int]:
    """The n communes holding the most parcels (ties by id): the tests' communes A, B."""
    with psycopg.connect(dsn) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT commune_id FROM cad.parcel GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT %s",
                (n,),
            )
        ]


@contextlib.contextmanager
def database_copy(source_dsn: str, prefix: str) -> Iterator[str]:
    """A private copy of ``source_dsn``'s database (CREATE DATABASE … TEMPLATE, a file copy:
    well under a second for the demo database), dropped after: for tests that approve
    change sets and must not leave their records to the next module."""
    src = psycopg.conninfo.conninfo_to_dict(source_dsn)["dbname"]
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{src}"')
    try:
        yield _dsn_for(source_dsn, name)
    finally:
        with psycopg.connect(source_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_db(owner_dsn: str) -> Iterator[str]:
    """An empty database (no PostGIS, no schema) of its own, dropped after the test."""
    with scratch_database(owner_dsn, "fresh") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def migrated_db(owner_dsn: str) -> Iterator[str]:
    """A database migrated to the newest schema, shared by the session. Leave it clean."""
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "migrated") as dsn:
        migrate(dsn)
        yield dsn


@pytest.fixture(scope="session")
def demo_db(owner_dsn: str) -> Iterator[str]:
    """A migrated database holding a small demo province (3 000 parcels, seed 5), shared by
    the session. Tests may change records through the API; keep the changes local."""
    from app.demo.load import load_demo_province
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "demo") as dsn:
        migrate(dsn)
        load_demo_province(dsn, parcels=3_000, seed=5)
        yield dsn


# --- people: real LOGIN roles with an account ------------------------------------------
@dataclass
class Person:
    """A signed-up person: their role, password and a DSN that connects as them."""

    role: str
    password: str
    dsn: str


def _person_dsn(db_dsn: str, role: str, password: str) -> str:
    return psycopg.conninfo.make_conninfo(db_dsn, user=role, password=password)


@pytest.fixture
def person_factory(owner_dsn: str) -> Iterator[Callable[..., Person]]:
    """Create people in a LandRec database; their roles are dropped after the test.

    ``make(db_dsn, rights={"cadastral": ["viewer"]}, communes=[commune_id, ...],
    whole_province=False)`` creates the LOGIN role (member of lr_person and of the group
    role of each right), its sys.account row and areas, as an administrator would, so
    tests exercise the database's own rules through a real connection.
    """
    made: list[tuple[str, str]] = []

    def make(
        db_dsn: str,
        rights: dict[str, list[str]] | None = None,
        communes: list[int] | None = None,
        whole_province: bool = False,
        password: str | None = None,
    ) -> Person:
        role = f"p_{uuid.uuid4().hex[:10]}"
        password = password or f"Tt-{uuid.uuid4().hex[:12]}!9"
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE lr_person").format(
                    psycopg.sql.Identifier(role), psycopg.sql.Literal(password)
                )
            )
            made.append((db_dsn, role))
            conn.execute(
                "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, "
                "whole_province, must_change_password, password_changed_at) "
                "VALUES (%s, %s, %s, %s, %s, false, now())",
                (role, f"{uuid.uuid4().int % 10**12:012d}", "Người Thử Nghiệm",
                 "Văn phòng đăng ký đất đai", whole_province),
            )  # fmt: skip
            for subsystem, kinds in (rights or {}).items():
                for kind in kinds:
                    conn.execute(
                        "INSERT INTO sys.account_right VALUES (%s, %s, %s)",
                        (role, subsystem, kind),
                    )
                    conn.execute(
                        psycopg.sql.SQL("GRANT {} TO {}").format(
                            psycopg.sql.Identifier(f"lr_{subsystem}_{kind}"),
                            psycopg.sql.Identifier(role),
                        )
                    )
            for commune in communes or []:
                conn.execute("INSERT INTO sys.account_area VALUES (%s, %s)", (role, commune))
        return Person(role, password, _person_dsn(db_dsn, role, password))

    yield make
    for db_dsn, role in made:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            conn.execute("DELETE FROM sys.account WHERE role_name = %s", (role,))
            conn.execute(
                psycopg.sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(
                    psycopg.sql.Identifier(role), psycopg.sql.Identifier(role)
                )
            )


# --- accounts made through the administrators' API (migration 0007, app/security) ------
@dataclass
class Administrator(Person):
    """An active administrator (password already changed) and their TOTP secret."""

    totp_secret: bytes = b""


def drop_person_role(db_dsn: str, role: str) -> None:
    """Remove a person's account and cluster-wide role (test clean-up)."""
    if role.startswith(("lr_", "pg_", "landrec")) or role in ("postgres", "public"):
        raise ValueError(f"refusing to drop the system role {role!r}")
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        conn.execute("DELETE FROM sys.account WHERE role_name = %s", (role,))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(
                psycopg.sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(
                    psycopg.sql.Identifier(role), psycopg.sql.Identifier(role)
                )
            )


class AccountTracker:
    """Roles a test creates through admin.create_account (or bootstrap); all dropped after."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def track(self, db_dsn: str, role: str) -> str:
        self.made.append((db_dsn, role))
        return role

    def new_role_name(self, prefix: str = "t") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    def administrator(self, db_dsn: str) -> Administrator:
        """An administrator made as migration 0007 makes them: temporary password changed
        through the API path, a TOTP secret issued."""
        from app.security import totp

        role = self.track(db_dsn, self.new_role_name("adm"))
        password = f"Qt-{uuid.uuid4().hex[:12]}!9"
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT sys.create_account_internal(%s, %s, 'Quản Trị Thử', 'Sở Nông nghiệp "
                'và Môi trường\', NULL, NULL, NULL, \'{"admin": ["administrator"]}\', NULL, '
                "true, NULL, NULL)",
                (role, f"{uuid.uuid4().int % 10**12:012d}"),
            )
            conn.execute("SELECT sys.set_password_internal(%s, %s, false)", (role, password))
            uri = conn.execute("SELECT sys.issue_totp_internal(%s)", (role,)).fetchone()[0]
        return Administrator(
            role, password, _person_dsn(db_dsn, role, password), totp.secret_from_uri(uri)
        )

    def verified_connection(self, admin: Administrator, db_dsn: str) -> psycopg.Connection:
        """An autocommit session of ``admin`` with the second factor verified. Each TOTP
        step is accepted once, so the test resets the account's last step first."""
        from app.security import totp

        with psycopg.connect(db_dsn, autocommit=True) as owner:
            owner.execute(
                "UPDATE sys.account SET totp_last_step = NULL WHERE role_name = %s",
                (admin.role,),
            )
        conn = psycopg.connect(admin.dsn, autocommit=True)
        ok = conn.execute("SELECT sys.verify_totp(%s)", (totp.totp(admin.totp_secret),))
        assert ok.fetchone()[0] is True
        return conn


@pytest.fixture
def api_accounts() -> Iterator[AccountTracker]:
    """Track roles made through the administrators' API and drop them after the test."""
    tracker = AccountTracker()
    yield tracker
    for db_dsn, role in reversed(tracker.made):
        drop_person_role(db_dsn, role)


# --- an administrator's verified session over the demo province (tests/test_admin_*.py) --
def new_id() -> str:
    """A fresh 12-digit personal identity number."""
    return f"{uuid.uuid4().int % 10**12:012d}"


def verified_session(db_dsn: str, admin: Administrator) -> Session:
    """The administrator's own session with the second factor verified, as the app does
    (Session.verify_totp, what the TOTP dialog calls)."""
    from app.security import totp

    with psycopg.connect(db_dsn, autocommit=True) as owner:  # each TOTP step is accepted once
        owner.execute(
            "UPDATE sys.account SET totp_last_step = NULL WHERE role_name = %s", (admin.role,)
        )
    session = Session(psycopg.conninfo.conninfo_to_dict(admin.dsn)).open()
    assert session.verify_totp(totp.totp(admin.totp_secret))
    return session


@dataclass
class AdminEnv:
    """A module's administrator, their verified session, the roles made, two communes."""

    db: str
    admin: Administrator
    session: Session
    tracker: AccountTracker
    communes: list[int]

    def run(self, fn, *args, **kw):
        return self.session.run(lambda conn: fn(conn, *args, **kw))


@contextlib.contextmanager
def admin_env(
    db_dsn: str, *, with_parcels: bool = True, descending: bool = False
) -> Iterator[AdminEnv]:
    """A fresh administrator with a verified session and two current communes (by code,
    optionally only communes holding parcels); every role made is dropped after."""
    tracker = AccountTracker()
    admin = tracker.administrator(db_dsn)
    session = verified_session(db_dsn, admin)
    holding = " AND EXISTS (SELECT 1 FROM cad.parcel p WHERE p.commune_id = u.id)"
    sql = (
        "SELECT u.id FROM ref.admin_unit u WHERE u.level = 'commune' AND u.valid_to IS NULL"
        f"{holding if with_parcels else ''} ORDER BY u.code{' DESC' if descending else ''} LIMIT 2"
    )
    with psycopg.connect(db_dsn) as conn:
        communes = [r[0] for r in conn.execute(sql)]
    try:
        yield AdminEnv(db_dsn, admin, session, tracker, communes)
    finally:
        session.close()
        for db, role in reversed(tracker.made):
            drop_person_role(db, role)


# --- the AppContext the dossier plugin's handlers get (tests/test_dossier_*.py) ---------
class DossierCtx:
    """The AppContext the plugin's handlers get, with a real task runner."""

    def __init__(self, dsn: str) -> None:
        from app.ui.tasks import TaskRunner

        self.dsn = dsn
        self.lang = "vi"
        self.window = None
        self.registry = None
        self.runner = TaskRunner()

    def text(self, t) -> str:
        return t.get(self.lang)

    def run_in_background(self, fn, on_done, on_error=None) -> None:
        self.runner.submit(fn, on_done, on_error)
