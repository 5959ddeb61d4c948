"""Encrypted backups of the store, their verification, logged restores and retention.

The regulations (DESIGN §2: Bình Phước Điều 18–19, Cao Bằng Điều 10, TCVN 14423 level 3)
ask for automatic daily backups stored apart from the production server and encrypted,
restores only by authorised people, and every restore logged. What this module does:

* ``take_backup``: ``pg_dump`` (custom format) of one consistent snapshot, piped through
  GnuPG (AES-256, passphrase file) into ``<dest>/<name>.dump.gpg``; the cluster's roles
  (``pg_dumpall --roles-only``: the person accounts live there) into ``<name>.roles.sql.gpg``;
  a manifest ``<name>.json`` with SHA-256 of each file, the schema revision, the audit
  chain's head and row counts *read in the dump's own snapshot*; then a BACKUP event in
  the audit log. Files appear under their names only when complete (``.part`` + rename).
* ``verify_backup``: hashes, decryption and the dump's table of contents; ``deep`` restores
  it into a scratch database and checks the audit chain and the counts against the
  manifest.
* ``restore_backup``: into a NEW database (never over the live one), then the audit chain
  is verified against the manifest's head and a RESTORE event continues it, naming who
  restored, why and from what; the same line goes to ``restore-log.jsonl`` beside the
  backups (the live log may be what was lost). ``replace`` then swaps the restored
  database in, keeping the old one under another name.
* ``prune``: keeps the newest ``keep_daily`` backups and the newest of each of the last
  ``keep_monthly`` months.

GnuPG and PostgreSQL's own client programs are used rather than Python code: the files
are then readable with standard tools on any machine (``gpg -d … | pg_restore``), which is
what an operator needs on the day the LandRec machine itself is gone.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app.errors import UserFacingError
from app.store.local import find_bindir

FORMAT = 1
PREFIX = "landrec"
RESTORE_LOG = "restore-log.jsonl"
# Scan bytes (content-addressed chunks and rendered previews): left out by --without-scans.
SCAN_TABLES = ("doc_blob.chunk", "doc_blob.preview")
# Counted in the dump's snapshot and compared after a restore.
COUNTED_TABLES = (
    "cad.parcel",
    "cad.land_use",
    "cad.land_right",
    "cad.party",
    "cad.certificate",
    "cad.mutation",
    "doc.document",
    "doc_blob.blob",
    "sys.account",
)
_NAME = re.compile(rf"^{PREFIX}-(?P<db>[A-Za-z0-9_]+)-(?P<stamp>\d{{8}}T\d{{6}}Z)$")


class BackupError(UserFacingError):
    """A backup, verification or restore that could not be done; nothing half-made remains."""


@dataclass
class Manifest:
    name: str
    created_at: str  # UTC, ISO 8601
    database: str
    server_version: str
    revision: str | None
    audit_last_id: int | None
    audit_last_hash: str | None
    counts: dict[str, int]
    with_scans: bool
    dump_file: str
    dump_sha256: str
    dump_bytes: int
    roles_file: str | None
    roles_sha256: str | None
    database_settings: list[str] = field(default_factory=list)
    database_grants: list[list[str]] = field(default_factory=list)  # [grantee, privilege]
    host: str = ""
    encryption: str = "gpg-symmetric-aes256"
    format: int = FORMAT

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise BackupError(f"no backup manifest at {path}") from None
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{path} is not a LandRec backup manifest ({exc})") from None


@dataclass
class VerifyReport:
    ok: bool
    checks: list[tuple[str, bool, str]]  # (what, passed, detail)

    def lines(self) -> list[str]:
        return [f"{'ok  ' if ok else 'FAIL'} {what}: {detail}" for what, ok, detail in self.checks]


@dataclass
class RestoreReport:
    database: str
    audit_ok: bool
    restore_event_id: int
    replaced: str | None  # the former database's new name, when swapped in
    counts: dict[str, int]


Progress = Callable[[str, int], None]  # (step, bytes written so far)


# -- taking a backup ----------------------------------------------------------------------
def take_backup(
    dsn: str,
    dest: Path | str,
    passphrase_file: Path | str,
    *,
    with_scans: bool = True,
    with_roles: bool = True,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """Back the store up into ``dest``; returns the manifest (also written beside)."""
    dest = Path(dest)
    passphrase = _check_passphrase_file(passphrase_file)
    _check_dest(dest)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    try:
        conn = psycopg.connect(dsn, connect_timeout=10, application_name="landrec backup")
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to the store: {_first_line(exc)}") from exc
    with conn:
        _check_not_inside_store(conn, dest)
        database = conn.info.dbname
        name = f"{PREFIX}-{database}-{now:%Y%m%dT%H%M%SZ}"
        if (dest / f"{name}.json").exists():
            raise BackupError(f"a backup named {name} already exists in {dest}")
        # One snapshot for the dump and for what the manifest says about it.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        facts = _snapshot_facts(conn)
        dump_file = dest / f"{name}.dump.gpg"
        roles_file = dest / f"{name}.roles.sql.gpg" if with_roles else None
        written: list[Path] = []
        try:
            command = [str(_tool("pg_dump")), "--format=custom", f"--snapshot={snapshot}"]
            if not with_scans:
                command += [f"--exclude-table-data={t}" for t in SCAN_TABLES]
            _encrypt_from([*command, f"--dbname={dsn}"], dump_file, passphrase, progress, "dump")
            written.append(dump_file)
            if roles_file is not None:
                if not facts["superuser"]:
                    raise BackupError(
                        "the roles (person accounts) can only be saved by a superuser of the "
                        "cluster; connect as one, or pass --without-roles"
                    )
                _encrypt_from(
                    [str(_tool("pg_dumpall")), "--roles-only", f"--dbname={dsn}"],
                    roles_file, passphrase, progress, "roles",
                )  # fmt: skip
                written.append(roles_file)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        finally:
            conn.rollback()
        manifest = Manifest(
            name=name,
            created_at=now.isoformat(),
            database=database,
            server_version=facts["server_version"],
            revision=facts["revision"],
            audit_last_id=facts["audit_last_id"],
            audit_last_hash=facts["audit_last_hash"],
            counts=facts["counts"],
            with_scans=with_scans,
            dump_file=dump_file.name,
            dump_sha256=_sha256(dump_file),
            dump_bytes=dump_file.stat().st_size,
            roles_file=roles_file.name if roles_file else None,
            roles_sha256=_sha256(roles_file) if roles_file else None,
            database_settings=facts["settings"],
            database_grants=facts["grants"],
            host=socket.gethostname(),
        )
        try:
            _write_json(dest / f"{name}.json", asdict(manifest))
            conn.execute(
                "SELECT audit.log_event('BACKUP', %s, %s::jsonb)",
                (name, json.dumps(_event_detail(manifest, dest), ensure_ascii=False)),
            )
            conn.commit()
        except BaseException:
            for path in [*written, dest / f"{name}.json"]:
                path.unlink(missing_ok=True)
            raise
    return manifest


def _snapshot_facts(conn: psycopg.Connection) -> dict:
    facts: dict = {
        "server_version": conn.execute("SHOW server_version").fetchone()[0],
        "superuser": conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0],
        "revision": None,
        "audit_last_id": None,
        "audit_last_hash": None,
        "counts": {},
    }
    if conn.execute("SELECT to_regclass('sys.alembic_version')").fetchone()[0]:
        rows = conn.execute("SELECT version_num FROM sys.alembic_version ORDER BY 1").fetchall()
        facts["revision"] = "+".join(r[0] for r in rows) or None
    if conn.execute("SELECT to_regprocedure('audit.head()')").fetchone()[0]:
        facts["audit_last_id"], facts["audit_last_hash"] = conn.execute(
            "SELECT last_id, last_hash FROM audit.head()"
        ).fetchone()
    for table in COUNTED_TABLES:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]:
            schema, rel = table.split(".")
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(rel)
            )
            facts["counts"][table] = conn.execute(query).fetchone()[0]
    # Database-level settings and grants: a dump without --create does not carry them.
    facts["settings"] = [
        s
        for (cfg,) in conn.execute(
            "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            " WHERE d.datname = current_database() AND s.setrole = 0"
        )
        for s in cfg or []
    ]
    facts["grants"] = [
        [grantee, privilege]
        for grantee, privilege in conn.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,"
            "       a.privilege_type"
            " FROM pg_database d, aclexplode(d.datacl) a"
            " WHERE d.datname = current_database() AND a.grantee <> d.datdba ORDER BY 1, 2"
        )
    ]
    return facts


def _event_detail(m: Manifest, dest: Path) -> dict:
    return {
        "file": m.dump_file,
        "sha256": m.dump_sha256,
        "bytes": m.dump_bytes,
        "destination": str(dest.resolve()),
        "host": m.host,
        "with_scans": m.with_scans,
        "revision": m.revision,
        "audit_last_id": m.audit_last_id,
        "counts": m.counts,
    }


# -- verification -------------------------------------------------------------------------
def verify_backup(
    manifest_path: Path | str,
    passphrase_file: Path | str,
    *,
    deep_dsn: str | None = None,
) -> VerifyReport:
    """Check a backup: file hashes, decryption, the dump's contents; with ``deep_dsn``
    (a superuser of a cluster that has PostGIS) also restore it into a scratch database
    there and compare the audit chain and the counts with the manifest."""
    manifest_path = Path(manifest_path)
    m = Manifest.load(manifest_path)
    folder = manifest_path.parent
    passphrase = _check_passphrase_file(passphrase_file)
    checks: list[tuple[str, bool, str]] = []
    files = [(m.dump_file, m.dump_sha256)]
    if m.roles_file:
        files.append((m.roles_file, m.roles_sha256))
    for file_name, expected in files:
        path = folder / file_name
        if not path.is_file():
            checks.append((file_name, False, "missing"))
            continue
        actual = _sha256(path)
        checks.append(
            (f"{file_name} sha256", actual == expected, "matches the manifest"
             if actual == expected else f"is {actual[:16]}…, the manifest says {expected[:16]}…")
        )  # fmt: skip
    if all(ok for _, ok, _ in checks):
        try:
            for file_name, _ in files:  # the whole cipher stream, with gpg's integrity check
                _decrypt_into(["cat"], folder / file_name, passphrase, discard=True)
            toc = _decrypt_into(
                [str(_tool("pg_restore")), "--list"], folder / m.dump_file, passphrase
            )
            # "5512; 0 16404 TABLE DATA cad parcel landrec_owner"
            tables = {
                ".".join(line.split()[-3:-1]) for line in toc.splitlines() if " TABLE DATA " in line
            }
            missing = sorted(set(m.counts) - tables)
            detail = f"{len(tables)} tables"
            if missing:
                detail += f"; missing: {', '.join(missing)}"
            checks.append(("decrypt and read the dump", not missing and bool(tables), detail))
        except BackupError as exc:
            checks.append(("decrypt and read the dump", False, str(exc)))
    if deep_dsn and all(ok for _, ok, _ in checks):
        scratch = f"landrec_verify_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}_{os.getpid()}"
        try:
            report = restore_backup(
                manifest_path, passphrase_file, deep_dsn, scratch,
                reason="restore test (landrec backup verify --deep)", by=_os_user(),
                log=False,
            )  # fmt: skip
            checks.append(("audit chain after restore", report.audit_ok, "intact"))
            same = report.counts == m.counts
            checks.append(("row counts after restore", same, json.dumps(report.counts)))
        except BackupError as exc:
            checks.append(("restore test", False, str(exc)))
        finally:
            _drop_database(deep_dsn, scratch)
    return VerifyReport(all(ok for _, ok, _ in checks), checks)


# -- restore ------------------------------------------------------------------------------
def restore_backup(
    manifest_path: Path | str,
    passphrase_file: Path | str,
    cluster_dsn: str,
    database: str,
    *,
    reason: str,
    by: str,
    replace: str | None = None,
    with_roles: bool = False,
    log: bool = True,
) -> RestoreReport:
    """Restore a backup into the new database ``database`` of the cluster that
    ``cluster_dsn`` reaches (a superuser: the dump recreates extensions and owners).

    The restored audit chain must be intact and end at the manifest's head, then a
    RESTORE event continues it. ``replace`` names the live database: it is renamed to
    ``<replace>_before_restore_<time>`` and the restored one takes its name (no one may be
    connected to it). ``with_roles`` first recreates the cluster's roles from the backup
    (a new server); existing roles are left as they are."""
    manifest_path = Path(manifest_path)
    m = Manifest.load(manifest_path)
    reason, by = (reason or "").strip(), (by or "").strip()
    if not reason or not by:
        raise BackupError("a restore needs --reason (the incident) and --by (who authorised it)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise BackupError(f"'{database}' is not a usable database name (a-z, 0-9, _)")
    passphrase = _check_passphrase_file(passphrase_file)
    dump = manifest_path.parent / m.dump_file
    if not dump.is_file() or _sha256(dump) != m.dump_sha256:
        raise BackupError(f"{dump} is missing or does not match its manifest: not restored")
    with _admin(cluster_dsn) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            raise BackupError(f"database '{database}' already exists: restore into a new one")
        if with_roles and m.roles_file:
            _restore_roles(manifest_path.parent / m.roles_file, m.roles_sha256, passphrase,
                           cluster_dsn)  # fmt: skip
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(database)))  # fmt: skip
    target = _with_dbname(cluster_dsn, database)
    try:
        _decrypt_into(
            [str(_tool("pg_restore")), "--exit-on-error", "--no-password", f"--dbname={target}"],
            dump, passphrase,
        )  # fmt: skip
        with psycopg.connect(target, connect_timeout=10) as conn:
            _database_level(conn, database, m)
            audit_ok = _check_restored_chain(conn, m)
            counts = _snapshot_facts(conn)["counts"]
            detail = {
                "backup": m.name,
                "file": m.dump_file,
                "sha256": m.dump_sha256,
                "backup_taken_at": m.created_at,
                "audit_head_at_backup": m.audit_last_id,
                "reason": reason,
                "authorised_by": by,
                "os_user": _os_user(),
                "host": socket.gethostname(),
                "database": database,
                "replaces": replace,
            }
            event_id = conn.execute(
                "SELECT audit.log_event('RESTORE', %s, %s::jsonb)",
                (m.name, json.dumps(detail, ensure_ascii=False)),
            ).fetchone()[0]
            conn.commit()
    except BaseException:
        _drop_database(cluster_dsn, database)
        raise
    replaced = None
    if replace:
        replaced = _swap_in(cluster_dsn, database, replace)
    if log:
        entry = {"restored_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **detail,
                 "audit_event_id": event_id, "renamed_old_to": replaced}  # fmt: skip
        with (manifest_path.parent / RESTORE_LOG).open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return RestoreReport(replace or database, audit_ok, event_id, replaced, counts)


def _check_restored_chain(conn: psycopg.Connection, m: Manifest) -> bool:
    if m.audit_last_id is None:
        return True
    ok, entry_id, reason = conn.execute(
        "SELECT ok, entry_id, reason FROM audit.verify()"
    ).fetchone()
    head = conn.execute("SELECT last_id, last_hash FROM audit.head()").fetchone()
    if not ok:
        raise BackupError(f"the restored audit log is broken at entry {entry_id} ({reason})")
    if tuple(head) != (m.audit_last_id, m.audit_last_hash):
        raise BackupError(
            f"the restored audit log ends at entry {head[0]}, the backup's manifest at "
            f"{m.audit_last_id}: the dump and its manifest do not belong together"
        )
    return True


def _database_level(conn: psycopg.Connection, database: str, m: Manifest) -> None:
    """Re-apply what a dump without --create leaves out: settings and grants of the
    database itself (jit = off, CONNECT for lr_person, nothing for PUBLIC)."""
    db = sql.Identifier(database)
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    for grantee, privilege in m.database_grants:
        who = sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)
        conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
            sql.SQL(privilege), db, who))  # fmt: skip
    for setting in m.database_settings:
        key, _, value = setting.partition("=")
        conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
            db, sql.Identifier(key), sql.Literal(value)))  # fmt: skip
    conn.commit()


def _swap_in(cluster_dsn: str, restored: str, live: str) -> str:
    old = f"{live}_before_restore_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"[:63]
    with _admin(cluster_dsn) as admin:
        busy = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (live,)
        ).fetchone()[0]
        if busy:
            raise BackupError(
                f"{busy} session(s) are connected to '{live}'; the restored data waits in "
                f"'{restored}'. Stop the clients and rename by hand, or run again when idle."
            )
        admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(live), sql.Identifier(old)))  # fmt: skip
        admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(restored), sql.Identifier(live)))  # fmt: skip
    return old


def _restore_roles(path: Path, expected: str | None, passphrase: Path, cluster_dsn: str) -> None:
    if _sha256(path) != expected:
        raise BackupError(f"{path} does not match its manifest: roles not restored")
    script = _decrypt_into(["cat"], path, passphrase)
    # Existing roles stay (CREATE ROLE fails for them, the ALTER ROLE lines would reset
    # their passwords to the backup's): only roles missing from this cluster are created.
    with _admin(cluster_dsn) as admin:
        existing = {r[0] for r in admin.execute("SELECT rolname FROM pg_roles")}
        statements = [s for s in _role_statements(script) if s[0] not in existing]
        for _role, statement in statements:
            admin.execute(statement)


def _role_statements(script: str) -> Iterator[tuple[str, str]]:
    for line in script.splitlines():
        m = re.match(r'(?:CREATE|ALTER) ROLE ("?)([^";\s]+)\1', line)
        if m:
            yield m.group(2), line
        m = re.match(r'GRANT .* TO ("?)([^";\s]+)\1', line)
        if m:
            yield m.group(2), line


# -- retention ----------------------------------------------------------------------------
def list_backups(dest: Path | str) -> list[Manifest]:
    folder = Path(dest)
    out = []
    for path in sorted(folder.glob(f"{PREFIX}-*.json")):
        if _NAME.match(path.stem):
            with suppress(BackupError):
                out.append(Manifest.load(path))
    return sorted(out, key=lambda m: m.created_at)


def prune(dest: Path | str, keep_daily: int = 14, keep_monthly: int = 12) -> list[str]:
    """Delete backups beyond the newest ``keep_daily`` and the newest of each of the last
    ``keep_monthly`` calendar months (Vietnam time); returns the names deleted."""
    if keep_daily < 1:
        raise BackupError("keep at least one daily backup")
    backups = list_backups(dest)
    keep = {m.name for m in backups[-keep_daily:]}
    months: dict[str, str] = {}
    for m in backups:  # oldest first: the newest of a month wins
        months[_vn_month(m.created)] = m.name
    for month in sorted(months)[-keep_monthly:] if keep_monthly > 0 else []:
        keep.add(months[month])
    deleted = []
    for m in backups:
        if m.name in keep:
            continue
        for file_name in (m.dump_file, m.roles_file, f"{m.name}.json"):
            if file_name:
                (Path(dest) / file_name).unlink(missing_ok=True)
        deleted.append(m.name)
    return deleted


def _vn_month(t: dt.datetime) -> str:
    return (t.astimezone(dt.UTC) + dt.timedelta(hours=7)).strftime("%Y-%m")


def schedule_units(dest: Path, passphrase_file: Path, landrec: str, at: str = "01:30") -> str:
    """A systemd service + timer pair for the daily backup (printed for the operator)."""
    return f"""# /etc/systemd/system/landrec-backup.service
[Unit]
Description=LandRec daily encrypted backup
After=network-online.target

[Service]
Type=oneshot
ExecStart={landrec} backup run --dest {dest} --passphrase-file {passphrase_file} --prune

# /etc/systemd/system/landrec-backup.timer
[Unit]
Description=LandRec daily backup at {at}

[Timer]
OnCalendar=*-*-* {at}:00
Persistent=true

[Install]
WantedBy=timers.target
"""


# -- plumbing -----------------------------------------------------------------------------
def _tool(name: str) -> Path:
    path = find_bindir() / name
    if path.is_file():
        return path
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (PostgreSQL client programs are needed)")
    return Path(found)


def _gpg() -> str:
    found = shutil.which("gpg")
    if not found:
        raise BackupError("gpg is not installed (Debian package 'gpg'): backups are encrypted")
    return found


@contextmanager
def _gpg_home() -> Iterator[str]:
    # A throw-away keyring: symmetric encryption needs none, and the operator's own
    # ~/.gnupg is left alone (root's may not even exist on a server).
    with tempfile.TemporaryDirectory(prefix="landrec-gpg-") as home:
        os.chmod(home, 0o700)
        yield home


def _encrypt_from(
    command: list[str], out: Path, passphrase: Path, progress: Progress | None, step: str
) -> None:
    """``command``'s output, encrypted, into ``out`` (through ``out``.part)."""
    part = out.with_name(out.name + ".part")
    with _gpg_home() as home:
        gpg = [_gpg(), "--homedir", home, "--batch", "--yes", "--quiet", "--pinentry-mode",
               "loopback", "--passphrase-file", str(passphrase), "--symmetric",
               "--cipher-algo", "AES256", "--compress-algo", "none",
               "--output", str(part)]  # fmt: skip
        try:
            producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            encrypter = subprocess.Popen(gpg, stdin=producer.stdout, stderr=subprocess.PIPE)
            assert producer.stdout is not None
            producer.stdout.close()  # gpg holds the pipe now: a gpg failure stops pg_dump
            while True:
                try:
                    encrypter.wait(timeout=1)
                    break
                except subprocess.TimeoutExpired:
                    if progress is not None and part.exists():
                        progress(step, part.stat().st_size)
            producer_err = producer.communicate()[1].decode(errors="replace")
            encrypter_err = (
                encrypter.stderr.read().decode(errors="replace") if encrypter.stderr else ""
            )
            if producer.returncode != 0:
                raise BackupError(f"{Path(command[0]).name} failed: {_last_line(producer_err)}")
            if encrypter.returncode != 0:
                raise BackupError(f"gpg failed: {_last_line(encrypter_err)}")
            part.chmod(0o600)  # encrypted, but still nobody else's business
            part.replace(out)
            if progress is not None:
                progress(step, out.stat().st_size)
        except BaseException:
            for proc in (locals().get("producer"), locals().get("encrypter")):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
            part.unlink(missing_ok=True)
            raise


def _decrypt_into(
    command: list[str], path: Path, passphrase: Path, *, discard: bool = False
) -> str:
    """Decrypt ``path`` into ``command``'s stdin; returns its stdout (nothing when
    ``discard``). A command that stops reading early (``pg_restore --list`` reads the
    table of contents only) is not a decryption failure."""
    with _gpg_home() as home:
        gpg = [_gpg(), "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback",
               "--passphrase-file", str(passphrase), "--decrypt", str(path)]  # fmt: skip
        decrypter = subprocess.Popen(gpg, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert decrypter.stdout is not None
        out_to = subprocess.DEVNULL if discard else subprocess.PIPE
        consumer = subprocess.Popen(command, stdin=decrypter.stdout, stdout=out_to,
                                    stderr=subprocess.PIPE)  # fmt: skip
        decrypter.stdout.close()
        out, err = consumer.communicate()
        gpg_err = decrypter.communicate()[1].decode(errors="replace")
    if decrypter.returncode != 0 and not (consumer.returncode == 0 and "Broken pipe" in gpg_err):
        if "bad session key" in gpg_err or "decryption failed" in gpg_err:
            raise BackupError(f"cannot decrypt {path.name}: wrong passphrase")
        raise BackupError(f"cannot decrypt {path.name}: {_last_line(gpg_err)}")
    if consumer.returncode != 0:
        raise BackupError(
            f"{Path(command[0]).name} failed on {path.name}: "
            f"{_last_line(err.decode(errors='replace'))}"
        )
    return (out or b"").decode(errors="replace")


def _check_passphrase_file(path: Path | str) -> Path:
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise BackupError(f"passphrase file {path} does not exist") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BackupError(
            f"passphrase file {path} is readable by others (mode {stat.S_IMODE(info.st_mode):o});"
            f" chmod 600 {path}"
        )
    if len(path.read_bytes().strip()) < 16:
        raise BackupError(f"passphrase in {path} is shorter than 16 characters")
    return path


def _check_dest(dest: Path) -> None:
    if not dest.is_dir():
        raise BackupError(f"backup folder {dest} does not exist (mount the backup disk first)")
    if not os.access(dest, os.W_OK | os.X_OK):
        raise BackupError(f"backup folder {dest} is not writable by {_os_user()}")


def _check_not_inside_store(conn: psycopg.Connection, dest: Path) -> None:
    # "Stored apart from the production server": at least never inside its data directory.
    with suppress(psycopg.Error):
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
        conn.rollback()
        if dest.resolve().is_relative_to(Path(data_dir).resolve()):
            raise BackupError(f"{dest} is inside the store's own data directory ({data_dir})")


@contextmanager
def _admin(cluster_dsn: str) -> Iterator[psycopg.Connection]:
    try:
        conn = psycopg.connect(cluster_dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to the cluster: {_first_line(exc)}") from exc
    with conn:
        if not conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]:
            raise BackupError("restoring needs a superuser connection to the target cluster")
        yield conn


def _drop_database(cluster_dsn: str, database: str) -> None:
    with suppress(psycopg.Error), psycopg.connect(cluster_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(database)))  # fmt: skip


def _with_dbname(dsn: str, database: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = database
    return make_conninfo(**params)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    part.replace(path)


def _os_user() -> str:
    with suppress(Exception):
        return getpass.getuser()
    return str(os.getuid())


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
