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
        description="Open the main window on the store at --dsn (default: $LANDREC_DSN).",
    )
    run.add_argument("--dsn", help="PostgreSQL connection string (default: $LANDREC_DSN)")
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
    # For now the demo clerk is the store owner; per-person accounts come later.
    return store.dsn()


def cmd_demo(args: argparse.Namespace) -> int:
    from app.ui.i18n import resolve_lang

    lang = resolve_lang(args.lang)
    _refuse_without_screen(args, "demo")
    dsn = demo_dsn(args.dsn, args.store_dir)
    from app.ui.app import run_client

    return run_client(dsn, lang, args.screenshot, command="demo")


def cmd_run(args: argparse.Namespace) -> int:
    from app.ui.i18n import resolve_lang

    lang = resolve_lang(args.lang)
    dsn = args.dsn or os.environ.get("LANDREC_DSN")
    if not dsn:
        raise UserFacingError("no store given: pass --dsn 'postgresql://user@host:port/db'")
    _refuse_without_screen(args, "run")
    from app.ui.app import run_client

    return run_client(dsn, lang, args.screenshot, command="run")


def _refuse_without_screen(args: argparse.Namespace, command: str) -> None:
    # Checked before Qt is imported: without a screen, Qt would abort the process.
    from app.ui.app import has_screen, no_screen_message

    if args.screenshot is None and not has_screen():
        raise UserFacingError(no_screen_message(command))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.ui.cli demo|run …`` (the same commands without the other areas)."""
    parser = argparse.ArgumentParser(prog="landrec")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserFacingError as exc:
        print(f"landrec: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
