"""``landrec demo`` and ``landrec run``: open the desktop client.

Qt is imported only when a command runs, so ``landrec --help`` stays fast and works
without a screen.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.errors import UserFacingError
from app.profiles import DEMO_CLERK


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="open the desktop client on the local demo store",
        description=(
            "Open the main window on the local store (signed in as the demo clerk). "
            "Without a screen, use --screenshot to render the window to a PNG."
        ),
    )
    demo.add_argument("--dsn", help="connect here instead of the local store")
    demo.add_argument(
        "--store-dir", help="local store directory (default: $LANDREC_STORE_DIR or per user)"
    )
    _add_common(demo)
    demo.set_defaults(func=cmd_demo)

    run = subparsers.add_parser(
        "run",
        help="open the desktop client on any LandRec server",
        description=(
            "Show the sign-in dialog (server profile, user name, password), then the main "
            "window. For scripts only: --user with the password in $LANDREC_PASSWORD signs "
            "in without the dialog (needed with --screenshot). --dsn connects with a "
            "connection string as given instead of a profile."
        ),
    )
    run.add_argument("--profile", help="server profile to sign in to (default: the last used)")
    run.add_argument(
        "--user",
        help="user name; with $LANDREC_PASSWORD set, sign in without the dialog "
        "(scripts only: the password then sits in the environment)",
    )
    run.add_argument(
        "--dsn", help="PostgreSQL connection string used as is (default: $LANDREC_DSN)"
    )
    _add_common(run)
    run.set_defaults(func=cmd_run)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--screenshot",
        metavar="FILE.png",
        type=Path,
        help="render the window off-screen at 1280×800 to this PNG once the store "
        "summary has loaded, then exit",
    )
    parser.add_argument(
        "--lang",
        choices=("vi", "en"),
        help="interface language (default: $LANDREC_LANG, else vi)",
    )


def demo_dsn(dsn: str | None, store_dir: str | None) -> str:
    """--dsn, else the local store (started if it is stopped)."""
    if dsn:
        return dsn
    try:
        from app.store.local import LocalStore
    except ImportError as exc:
        raise UserFacingError(
            f"the local store is not available in this build ({exc}); pass --dsn"
        ) from exc
    from app.config import default_store_dir

    store = LocalStore(Path(store_dir) if store_dir else default_store_dir())
    if not store.is_initialised():
        raise UserFacingError(
            f"the local store at {store.directory} does not exist yet; run 'make demo' "
            "(or 'landrec store init', 'landrec store start', 'landrec db migrate', "
            "'landrec demo-data'), or pass --dsn"
        )
    if not store.status().running:
        print(f"landrec: starting the local store in {store.directory}", file=sys.stderr)
        store.start()
    return store.dsn()


def demo_clerk_exists(owner_dsn: str) -> bool:
    import psycopg

    with psycopg.connect(owner_dsn, connect_timeout=10) as conn:
        row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DEMO_CLERK,))
        return row.fetchone() is not None


def cmd_demo(args: argparse.Namespace) -> int:
    from app.ui.i18n import resolve_lang

    lang = resolve_lang(args.lang)
    _refuse_without_screen(args, "demo")
    from app.ui.app import run_client, sign_in_headless

    if args.dsn:  # a connection string used as is (developers, tests)
        return run_client(args.dsn, lang, args.screenshot, command="demo")
    owner_dsn = demo_dsn(None, args.store_dir)
    from app.profiles import demo_clerk_password, demo_profile

    profile = demo_profile(args.store_dir)
    if profile is None or not demo_clerk_exists(owner_dsn):
        print(
            f"landrec: the demo store has no demo accounts yet (run 'landrec demo-accounts'); "
            f"opening it as the store owner instead of {DEMO_CLERK}",
            file=sys.stderr,
        )
        return run_client(owner_dsn, lang, args.screenshot, command="demo")
    session = sign_in_headless(profile, DEMO_CLERK, demo_clerk_password(), lang)
    return run_client(session, lang, args.screenshot, command="demo")


def cmd_run(args: argparse.Namespace) -> int:
    from app.ui.i18n import resolve_lang

    lang = resolve_lang(args.lang)
    _refuse_without_screen(args, "run")
    dsn = args.dsn or os.environ.get("LANDREC_DSN")
    password = os.environ.get("LANDREC_PASSWORD") or None
    from app.ui.app import run_client, run_login, sign_in_headless

    if dsn:
        from psycopg.conninfo import conninfo_to_dict

        try:
            params = conninfo_to_dict(dsn)
        except Exception as exc:
            raise UserFacingError(f"--dsn is not a valid connection string: {exc}") from None
        user = args.user or params.get("user")
        if not user:
            raise UserFacingError("--dsn has no user name: add user=… or pass --user")
        password = password or params.pop("password", None)
        session = sign_in_headless(params, user, password, lang, require_account=False)
        return run_client(session, lang, args.screenshot, command="run")

    from app.profiles import ProfileStore

    profiles = ProfileStore().load()
    profile = profiles.get(args.profile) if args.profile else profiles.default()
    if args.profile and profile is None:
        names = ", ".join(repr(p.name) for p in profiles.profiles) or "none yet"
        raise UserFacingError(f"no server profile {args.profile!r} (profiles: {names})")
    if args.screenshot is not None or (args.user and password):
        if profile is None:
            raise UserFacingError("no server profile yet: run 'landrec run' on a screen to add one")
        if not (args.user and password):
            raise UserFacingError(
                "without the dialog, sign in with --user and the password in the "
                "LANDREC_PASSWORD environment variable (for scripts only)"
            )
        session = sign_in_headless(profile, args.user, password, lang)
        return run_client(session, lang, args.screenshot, command="run")
    return run_login(
        lang,
        profile_name=profile.name if profile else None,
        user=args.user,
        profiles=profiles,
    )


def _refuse_without_screen(args: argparse.Namespace, command: str) -> None:
    # Checked before Qt is imported: without a screen, Qt would abort the process.
    from app.ui.app import has_screen, no_screen_message

    if args.screenshot is None and not has_screen():
        raise UserFacingError(no_screen_message(command))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.ui.cli demo|run …`` (the same commands without the other areas)."""
    from app.cli import main_with

    return main_with(register, argv)


if __name__ == "__main__":
    sys.exit(main())
