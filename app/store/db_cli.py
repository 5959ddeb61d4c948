"""``landrec db migrate``: bring a store (local or central) to the newest schema."""

from __future__ import annotations

import argparse

from app.store.dsn import add_dsn_arguments, resolve_dsn


def register(subparsers) -> None:
    db = subparsers.add_parser("db", help="schema of a LandRec database")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = db_sub.add_parser(
        "migrate",
        help="upgrade the schema to the newest version (safe to run again)",
        description="Upgrade a LandRec database to the newest schema. Running it again "
        "changes nothing. The province CRS is fixed on the first run.",
    )
    add_dsn_arguments(migrate)
    migrate.add_argument(
        "--srid",
        type=int,
        help="province CRS for a new deployment (VN-2000 / TM-3 EPSG code, "
        "default $LANDREC_SRID or 9212)",
    )
    migrate.set_defaults(func=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    from app.store.migrate import migrate

    result = migrate(resolve_dsn(args.dsn, args.store_dir), srid=args.srid)
    if result.changed:
        before = result.before or "(empty)"
        print(f"Schema migrated {before} -> {result.after} (EPSG:{result.srid})")
    else:
        print(f"Schema already at {result.after} (EPSG:{result.srid}); nothing to do")
    return 0
