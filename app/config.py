"""Deployment settings shared by the CLI, the store manager and the desktop client.

Everything here is Qt-free and cheap to import. Settings come from, in order:
command-line flags, environment variables, then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Province CRS of the demo deployment: VN-2000 / TM-3 106°15′ (Bình Phước).
DEFAULT_SRID = 9212

#: VN-2000 TM-3 zones that PostGIS 3.3 lacks (DESIGN P3) plus the 5897–5899 family.
VN2000_TM3_SRIDS = (*range(9205, 9219), 5897, 5898, 5899)

REPO_ROOT = Path(__file__).resolve().parent.parent
DB_DIR = REPO_ROOT / "db"
RESOURCES_DIR = REPO_ROOT / "resources"


def is_root() -> bool:
    return os.geteuid() == 0


def default_store_dir() -> Path:
    """Per-user data directory of the embedded store.

    Root cannot own a PostgreSQL cluster (DESIGN P4): the server then runs as the
    ``postgres`` OS user, which cannot enter /root, so root's store lives in /var/lib.
    """
    env = os.environ.get("LANDREC_STORE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    if is_root():
        return Path("/var/lib/landrec/store")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "landrec" / "store"


def deployment_srid() -> int:
    """The province CRS used when a store is first migrated (later read from the store)."""
    return int(os.environ.get("LANDREC_SRID", DEFAULT_SRID))
