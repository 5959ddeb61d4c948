"""The ``landrec`` console script.

Each area registers its own sub-commands so this file stays a table of contents.
Heavy imports (Qt, shapely, psycopg) happen inside the command functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from app.errors import UserFacingError


def build_parser() -> argparse.ArgumentParser:
    from app.bench import cli as bench_cli
    from app.demo import cli as demo_cli
    from app.map import cli as map_cli
    from app.security import cli as security_cli
    from app.store import audit_cli, backup_cli, db_cli
    from app.store import cli as store_cli
    from app.ui import cli as ui_cli

    parser = argparse.ArgumentParser(
        prog="landrec",
        description="LandRec — phần mềm hồ sơ địa chính / land-records desktop client",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store_cli.register(sub)  # store init|start|stop|status|dsn|reset
    db_cli.register(sub)  # db migrate
    demo_cli.register(sub)  # demo-data
    security_cli.register(sub)  # agent once|run, admin bootstrap, demo-accounts
    audit_cli.register(sub)  # audit verify
    backup_cli.register(sub)  # backup run|list|verify|restore|prune|schedule
    bench_cli.register(sub)  # bench rls, bench map, proxy
    map_cli.register(sub)  # render
    ui_cli.register(sub)  # demo, run
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser(), argv)


def main_with(register: Callable, argv: Sequence[str] | None = None) -> int:
    """One area's commands alone (``python -m app.store.cli store status``): tests and
    scripts run them without importing the rest of the application."""
    parser = argparse.ArgumentParser(prog="landrec")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return dispatch(parser, argv)


def dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except UserFacingError as exc:  # one clear message, no traceback
        print(f"landrec: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
