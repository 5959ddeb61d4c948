"""Which database a command talks to: --dsn, else $LANDREC_DSN, else the local store."""

from __future__ import annotations

import os
from pathlib import Path

from app.config import default_store_dir
from app.errors import UserFacingError


def resolve_dsn(dsn: str | None, store_dir: str | Path | None = None) -> str:
    if dsn:
        return dsn
    if os.environ.get("LANDREC_DSN"):
        return os.environ["LANDREC_DSN"]
    from app.store.local import LocalStore

    store = LocalStore(Path(store_dir) if store_dir else default_store_dir())
    if not store.is_initialised():
        raise UserFacingError(
            f"no --dsn given and the local store at {store.directory} does not exist; "
            "run 'landrec store init' and 'landrec store start' first (or 'make demo')"
        )
    return store.dsn()


def add_dsn_arguments(parser) -> None:
    parser.add_argument(
        "--dsn", help="PostgreSQL connection string (default: $LANDREC_DSN, else the local store)"
    )
    parser.add_argument(
        "--store-dir", help="local store directory (default: $LANDREC_STORE_DIR or per user)"
    )
