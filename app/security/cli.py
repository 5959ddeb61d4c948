"""``landrec agent run|once``, ``landrec admin bootstrap`` and ``landrec demo-accounts``."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.store.dsn import add_dsn_arguments, resolve_dsn


def register(subparsers) -> None:
    agent = subparsers.add_parser(
        "agent",
        help="lockout agent: failed logins from the server log (run next to the server)",
        description="Read the server's jsonlog, report failed and successful logins to the "
        "database (5 failures lock the account for psql too) and apply the time-based "
        "account rules. Needs the owner's DSN (or a role in lr_agent) and read access to "
        "the server's log directory.",
    )
    agent_sub = agent.add_subparsers(dest="agent_command", required=True, metavar="ACTION")
    for name, help_text in (
        ("once", "process what is new in the log, apply the account rules, and exit"),
        ("run", "keep processing (every 2 s; account rules every minute) until stopped"),
    ):
        p = agent_sub.add_parser(name, help=help_text, description=help_text)
        add_dsn_arguments(p)
        p.add_argument(
            "--log-dir",
            help="server log directory with *.json files (default: <store-dir>/log)",
        )
        p.add_argument(
            "--no-policies", action="store_true", help="do not run admin.enforce_policies()"
        )
        if name == "run":
            p.add_argument("--interval", type=float, default=2.0, help="seconds between reads")
            p.add_argument(
                "--policy-interval", type=float, default=60.0, help="seconds between rule runs"
            )
        p.set_defaults(func=run_agent_once if name == "once" else run_agent)

    admin = subparsers.add_parser("admin", help="set up administration of a server")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    boot = admin_sub.add_parser(
        "bootstrap",
        help="create the first administrator of a new central server",
        description="Create the first administrator (admin rights, whole province) with the "
        "owner's DSN. Prints the temporary password and the TOTP otpauth:// URI once. "
        "Refused when an administrator exists already.",
    )
    add_dsn_arguments(boot)
    boot.add_argument("--role", required=True, help="login name (a-z, 0-9, _; 3-40 chars)")
    boot.add_argument("--full-name", required=True, help="the person's full name")
    boot.add_argument("--id-number", required=True, help="12-digit citizen ID (CCCD) number")
    boot.add_argument("--unit", help="the person's unit (default: Quản trị hệ thống)")
    boot.set_defaults(func=run_bootstrap)

    demo = subparsers.add_parser(
        "demo-accounts",
        help="create the demo accounts of the local store (published passwords)",
        description="Create or restore demo_clerk, demo_officer, demo_approver and demo_admin "
        "in the local demo store, with the passwords documented in docs/security.md. "
        "Refused for any other server. Safe to run again.",
    )
    demo.add_argument(
        "--store-dir", help="local store directory (default: $LANDREC_STORE_DIR or per user)"
    )
    demo.set_defaults(func=run_demo_accounts)


def _store_dir(args: argparse.Namespace) -> Path:
    from app.config import default_store_dir

    return Path(args.store_dir).expanduser() if args.store_dir else default_store_dir()


def _agent(args: argparse.Namespace):
    from app.errors import UserFacingError
    from app.security.agent import Agent

    dsn = resolve_dsn(args.dsn, args.store_dir)
    if args.log_dir:
        log_dir = Path(args.log_dir)
    elif args.dsn and not args.store_dir:
        raise UserFacingError("with --dsn, give the server's log directory with --log-dir")
    else:
        log_dir = _store_dir(args) / "log"
    return Agent(dsn, log_dir)


def run_agent_once(args: argparse.Namespace) -> int:
    agent = _agent(args)
    report = agent.process_once()
    if not args.no_policies:
        report.policy_actions = agent.enforce_policies()
    print(report.summary())
    return 0


def run_agent(args: argparse.Namespace) -> int:
    from app.security.agent import echo_stderr, stop_on_signals

    agent = _agent(args)
    echo_stderr(f"reading {agent.log_dir}")
    signalled = stop_on_signals()
    # A store deleted under a running agent (reset, uninstall) ends the agent too.
    store_dir = None if args.dsn or args.log_dir else _store_dir(args)

    def should_stop() -> bool:
        return signalled() or (store_dir is not None and not (store_dir / "pgdata").is_dir())

    agent.run(
        interval=args.interval,
        policy_interval=float("inf") if args.no_policies else args.policy_interval,
        should_stop=should_stop,
        echo=echo_stderr,
    )
    echo_stderr("stopped")
    return 0


def run_bootstrap(args: argparse.Namespace) -> int:
    from app.security.accounts import bootstrap_administrator

    result = bootstrap_administrator(
        resolve_dsn(args.dsn, args.store_dir),
        args.role,
        args.full_name,
        args.id_number,
        args.unit,
    )
    print(f"Administrator '{result.role}' created.")
    print(f"Temporary password (shown once): {result.temporary_password}")
    print("Second factor: add this key to an authenticator app (shown once):")
    print(f"  {result.totp_uri}")
    print(
        "Next: sign in as this administrator, change the temporary password (required "
        "within 7 days), then enter a TOTP code before using the administration functions."
    )
    return 0


def run_demo_accounts(args: argparse.Namespace) -> int:
    from app.security.accounts import DEMO_ADMIN_TOTP_BASE32, demo_accounts

    lines = demo_accounts(_store_dir(args))
    print("Demo accounts (local demo store only; the passwords are public):")
    for line in lines:
        print(f"  {line}")
    print(f"  demo_admin TOTP secret (base32): {DEMO_ADMIN_TOTP_BASE32}")
    return 0
