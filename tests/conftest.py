"""Shared fixtures. Keep each fixture small and documented; add new ones in their own section."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import psycopg.conninfo
import pytest

# Qt must never look for a display in tests (set before anything imports PySide6).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from app.config import is_root
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
def _scratch_database(owner_dsn: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _dsn_for(owner_dsn, name)
    finally:
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_db(owner_dsn: str) -> Iterator[str]:
    """An empty database (no PostGIS, no schema) of its own, dropped after the test."""
    with _scratch_database(owner_dsn, "fresh") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def migrated_db(owner_dsn: str) -> Iterator[str]:
    """A database migrated to the newest schema, shared by the session. Leave it clean."""
    from app.store.migrate import migrate

    with _scratch_database(owner_dsn, "migrated") as dsn:
        migrate(dsn)
        yield dsn
