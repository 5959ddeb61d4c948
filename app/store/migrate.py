"""Schema migrations (Alembic) for the local store and for a central server.

``migrate(dsn)`` brings any LandRec database to the newest schema; running it again
changes nothing. The province CRS is chosen on the first run (flag, LANDREC_SRID, or the
Bình Phước default) and afterwards read back from sys.setting, so a re-run can never
switch a deployment's CRS by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import OperationalError as SAOperationalError

from app.config import DB_DIR, deployment_srid
from app.errors import UserFacingError


@dataclass(frozen=True)
class MigrationResult:
    before: str | None
    after: str
    srid: int

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(DB_DIR / "alembic"))
    return cfg


def head_revision() -> str:
    """The newest revision(s), joined with '+' while parallel branches await their merge."""
    return "+".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def current_revision(conn) -> str | None:
    """What the database is at, in the form of head_revision() (None when empty)."""
    heads = MigrationContext.configure(
        conn, opts={"version_table_schema": "sys"}
    ).get_current_heads()
    return "+".join(sorted(heads)) or None


def _engine(dsn: str):
    # psycopg understands both URL and key=value DSNs; SQLAlchemy only URLs.
    return create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(dsn, connect_timeout=10),
        poolclass=pool.NullPool,
    )


def _stored_srid(conn) -> int | None:
    exists = conn.execute(text("SELECT to_regclass('sys.setting') IS NOT NULL")).scalar()
    if not exists:
        return None
    value = conn.execute(text("SELECT value FROM sys.setting WHERE key = 'srid'")).scalar()
    return None if value is None else int(value)


def migrate(dsn: str, srid: int | None = None) -> MigrationResult:
    """Upgrade the database at ``dsn`` to the newest schema."""
    try:
        engine = _engine(dsn)
        with engine.connect() as conn:
            before = current_revision(conn)
            stored = _stored_srid(conn)
            if stored is not None and srid is not None and srid != stored:
                raise UserFacingError(
                    f"this store already uses EPSG:{stored}; it cannot be migrated to "
                    f"EPSG:{srid} (the CRS is fixed when a deployment is created)"
                )
            chosen = stored or srid or deployment_srid()
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            cfg.attributes["srid"] = chosen
            command.upgrade(cfg, "heads")
            conn.commit()  # audit triggers queued by a migration fire here, not mid-ALTER
            # Objects a superuser's migration created must belong to landrec_owner, or
            # SECURITY DEFINER functions would run with superuser rights.
            if conn.execute(text("SELECT to_regproc('sys.assign_ownership')")).scalar():
                conn.execute(text("SELECT sys.assign_ownership()"))
            conn.commit()
            after = current_revision(conn)
    except (psycopg.OperationalError, SAOperationalError) as exc:
        cause = getattr(exc, "orig", None) or exc
        # Only a failure to connect is "cannot connect"; SQL errors keep their own text.
        if isinstance(cause, psycopg.OperationalError) and getattr(cause, "sqlstate", None):
            raise UserFacingError(f"migration failed: {cause}".strip()) from exc
        raise UserFacingError(f"cannot connect to the database: {cause}".strip()) from exc
    except ValueError as exc:
        raise UserFacingError(str(exc)) from exc
    return MigrationResult(before=before, after=after or "", srid=chosen)
