"""``landrec store …``: the embedded local store (app/store/local.py).

Usable on its own as ``python -m app.store.cli store status`` (tests run it that way as
another OS user, without the Qt parts of the app).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.errors import UserFacingError

# Exit codes of `store status`, as pg_ctl status uses them.
EXIT_RUNNING = 0
EXIT_STOPPED = 3
EXIT_NO_STORE = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``store init|start|stop|status|dsn|reset`` to the ``landrec`` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="store directory (default: $LANDREC_STORE_DIR, else ~/.local/share/landrec/store; "
        "/var/lib/landrec/store for root)",
    )
    fast = argparse.ArgumentParser(add_help=False)
    fast.add_argument(
        "--fast",
        "--ephemeral",
        dest="fast",
        action="store_true",
        help="throw-away cluster: fsync, synchronous_commit and full_page_writes off",
    )

    store = subparsers.add_parser(
        "store",
        help="the local PostgreSQL+PostGIS store",
        description="Manage the private PostgreSQL+PostGIS cluster LandRec runs locally.",
    )
    actions = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")

    p = actions.add_parser(
        "init", parents=[common, fast], help="create the store (does nothing if it exists)"
    )
    p.set_defaults(func=cmd_init)
    p = actions.add_parser(
        "start", parents=[common], help="start the server and wait until it accepts connections"
    )
    p.add_argument(
        "--no-agent",
        action="store_true",
        help="do not start the lockout agent that counts failed logins from the server log",
    )
    p.set_defaults(func=cmd_start)
    p = actions.add_parser("stop", parents=[common], help="stop the server (fast mode)")
    p.set_defaults(func=cmd_stop)
    p = actions.add_parser(
        "status",
        parents=[common],
        help="running or stopped; exit code 0 running, 3 stopped, 4 no store",
    )
    p.set_defaults(func=cmd_status)
    p = actions.add_parser("dsn", parents=[common], help="print the owner DSN (for scripts)")
    p.add_argument("--database", default=None, help="database name in the DSN (default landrec)")
    p.set_defaults(func=cmd_dsn)
    p = actions.add_parser(
        "reset",
        parents=[common, fast],
        help="stop, delete ALL data, create a fresh store and start it",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_reset)


# `landrec db …` (migrations) is registered from app/store/db_cli.py by app/cli.py; it finds
# the local store through app/store/dsn.py, so it needs nothing from this file.


# --- store commands -----------------------------------------------------------------------
def _friendly(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    # A store made by root belongs to the postgres OS user: say so instead of a traceback.
    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except PermissionError as exc:
            raise UserFacingError(
                f"no permission to use {exc.filename or 'the store'}; run this as the "
                "store's owner (for root's store: root or the postgres OS user)"
            ) from exc

    return wrapper


def _store(args: argparse.Namespace):
    from app.config import default_store_dir
    from app.store.local import LocalStore

    directory = args.dir if args.dir is not None else default_store_dir()
    return LocalStore(directory, ephemeral=getattr(args, "fast", False))


@_friendly
def cmd_init(args: argparse.Namespace) -> int:
    store = _store(args)
    if store.init():
        print(f"store created in {store.directory} (stopped; run: landrec store start)")
    else:
        print(f"store in {store.directory} is already initialised; nothing to do")
    return 0


@_friendly
def cmd_start(args: argparse.Namespace) -> int:
    from app.security.agent_service import start_agent

    store = _store(args)
    started = store.start()
    st = store.status()
    what = "started" if started else "already running"
    print(f"store {what}: pid {st.pid}, port {st.port}, {store.directory}")
    if not args.no_agent:
        # Failed logins from any client are counted only while the agent reads the log.
        pid, new = start_agent(store.directory)
        print(f"lockout agent {'started' if new else 'already running'}: pid {pid}")
    return 0


@_friendly
def cmd_stop(args: argparse.Namespace) -> int:
    from app.security.agent_service import stop_agent

    store = _store(args)
    if store.directory.is_dir():
        stop_agent(store.directory)
    print("store stopped" if store.stop() else "store is not running")
    return 0


@_friendly
def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    st = store.status()
    if not st.initialised:
        print(f"state: no store\ndirectory: {st.directory}")
        return EXIT_NO_STORE
    print(
        f"state: {'running' if st.running else 'stopped'}\n"
        f"pid: {st.pid if st.pid is not None else '-'}\n"
        f"port: {st.port}\n"
        f"directory: {st.directory}\n"
        f"data directory: {store.pgdata}"
    )
    return EXIT_RUNNING if st.running else EXIT_STOPPED


@_friendly
def cmd_dsn(args: argparse.Namespace) -> int:
    store = _store(args)
    print(store.dsn(args.database) if args.database else store.dsn())
    return 0


@_friendly
def cmd_reset(args: argparse.Namespace) -> int:
    store = _store(args)
    # Scripts and tests pass --yes or run without a terminal; a person at a terminal is asked.
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete ALL data of the store in {store.directory}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("reset cancelled")
            return 1
    store.reset()
    st = store.status()
    print(f"store reset and started: pid {st.pid}, port {st.port}, {store.directory}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point with only these commands (``python -m app.store.cli``)."""
    from app.cli import main_with

    return main_with(register, argv)


if __name__ == "__main__":
    sys.exit(main())
