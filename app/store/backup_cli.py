"""``landrec backup run|list|verify|restore|prune|schedule``: encrypted backups of the store
and logged restores (app.store.backup; docs/backup.md)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from app.store.dsn import add_dsn_arguments, resolve_dsn


def register(subparsers) -> None:
    backup = subparsers.add_parser("backup", help="encrypted backups and logged restores")
    sub = backup.add_subparsers(dest="backup_command", required=True, metavar="ACTION")

    run = sub.add_parser(
        "run",
        help="back the store up now (daily: from a timer, see 'schedule')",
        description="Dump one consistent snapshot of the store, encrypt it with the "
        "passphrase file (AES-256, gpg), write it with its manifest into DEST, and log a "
        "BACKUP event. Connect as the store's superuser (the roles are saved too).",
    )
    add_dsn_arguments(run)
    _dest_and_key(run)
    run.add_argument(
        "--without-scans",
        action="store_true",
        help="leave the scanned files' bytes out (the regulations ask for them at least "
        "every 6 months; take a full backup that often)",
    )
    run.add_argument("--without-roles", action="store_true", help="do not save the cluster's roles")
    run.add_argument("--prune", action="store_true", help="then apply the retention (--keep-*)")
    _keep(run)
    run.set_defaults(func=_run)

    listing = sub.add_parser("list", help="the backups in a folder, oldest first")
    listing.add_argument("--dest", required=True, type=Path, help="backup folder")
    listing.set_defaults(func=_list)

    verify = sub.add_parser(
        "verify",
        help="check a backup: hashes, decryption, contents; --deep restores it to a scratch "
        "database and checks the audit chain and the counts",
    )
    verify.add_argument("manifest", type=Path, help="the backup's .json manifest")
    verify.add_argument("--passphrase-file", required=True, type=Path)
    verify.add_argument(
        "--deep",
        action="store_true",
        help="restore into a scratch database of the cluster (--dsn: a superuser) and drop it",
    )
    add_dsn_arguments(verify)
    verify.set_defaults(func=_verify)

    restore = sub.add_parser(
        "restore",
        help="restore a backup into a new database; logged in the audit chain and beside "
        "the backups",
        description="Restore into the NEW database --as (never over a live one). The "
        "restored audit chain must end where the backup's manifest says, then a RESTORE "
        "event names who authorised it and why. --replace swaps it in for the live "
        "database, which is kept under another name. Connect as a superuser.",
    )
    restore.add_argument("manifest", type=Path, help="the backup's .json manifest")
    restore.add_argument("--passphrase-file", required=True, type=Path)
    restore.add_argument("--as", dest="database", required=True, help="new database name")
    restore.add_argument("--reason", required=True, help="the incident the restore answers")
    restore.add_argument("--by", required=True, help="who authorised the restore (name, unit)")
    restore.add_argument("--replace", metavar="LIVE", help="then swap it in for the database LIVE")
    restore.add_argument(
        "--with-roles",
        action="store_true",
        help="first create the roles missing from this cluster (a new server)",
    )
    add_dsn_arguments(restore)
    restore.set_defaults(func=_restore)

    prune = sub.add_parser("prune", help="delete backups beyond the retention")
    prune.add_argument("--dest", required=True, type=Path, help="backup folder")
    _keep(prune)
    prune.set_defaults(func=_prune)

    schedule = sub.add_parser(
        "schedule", help="print a systemd service and timer for the daily backup"
    )
    _dest_and_key(schedule)
    schedule.add_argument("--at", default="01:30", help="time of day (HH:MM)")
    schedule.set_defaults(func=_schedule)


def _dest_and_key(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dest",
        required=True,
        type=Path,
        help="backup folder, on storage apart from the server (a mounted NAS or disk)",
    )
    p.add_argument(
        "--passphrase-file",
        required=True,
        type=Path,
        help="file holding the encryption passphrase (≥ 16 characters, mode 600); keep a "
        "copy apart from the backups: without it they cannot be read",
    )


def _keep(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep-daily", type=int, default=14, help="newest backups kept (14)")
    p.add_argument(
        "--keep-monthly", type=int, default=12, help="months whose newest backup is kept (12)"
    )


def _progress(step: str, written: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{step}: {written / 1e6:,.1f} MB", end="", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from app.store import backup

    dsn = resolve_dsn(args.dsn, args.store_dir)
    m = backup.take_backup(
        dsn,
        args.dest,
        args.passphrase_file,
        with_scans=not args.without_scans,
        with_roles=not args.without_roles,
        progress=_progress,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"backup {m.name}: {m.dump_bytes / 1e6:,.1f} MB, sha256 {m.dump_sha256}")
    print(f"audit chain head: entry {m.audit_last_id}, sha256 {m.audit_last_hash}")
    print(f"manifest: {args.dest / (m.name + '.json')}")
    if args.prune:
        for name in backup.prune(args.dest, args.keep_daily, args.keep_monthly):
            print(f"pruned {name}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from app.store import backup

    for m in backup.list_backups(args.dest):
        scans = "" if m.with_scans else "  (without scans)"
        size = f"{m.dump_bytes / 1e6:10,.1f} MB"
        print(f"{m.created_at}  {m.name}  {size}  audit #{m.audit_last_id}{scans}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from app.store import backup

    deep = resolve_dsn(args.dsn, args.store_dir) if args.deep else None
    report = backup.verify_backup(args.manifest, args.passphrase_file, deep_dsn=deep)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _restore(args: argparse.Namespace) -> int:
    from app.store import backup

    dsn = resolve_dsn(args.dsn, args.store_dir)
    report = backup.restore_backup(
        args.manifest,
        args.passphrase_file,
        dsn,
        args.database,
        reason=args.reason,
        by=args.by,
        replace=args.replace,
        with_roles=args.with_roles,
    )
    print(f"restored into '{report.database}'; audit chain intact; RESTORE event "
          f"#{report.restore_event_id}")  # fmt: skip
    if report.replaced:
        print(f"the former database is kept as '{report.replaced}'")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from app.store import backup

    for name in backup.prune(args.dest, args.keep_daily, args.keep_monthly):
        print(f"pruned {name}")
    return 0


def _schedule(args: argparse.Namespace) -> int:
    from app.store import backup

    landrec = shutil.which("landrec") or str(Path(sys.executable).with_name("landrec"))
    print(backup.schedule_units(args.dest.resolve(), args.passphrase_file.resolve(), landrec,
                                args.at), end="")  # fmt: skip
    return 0
