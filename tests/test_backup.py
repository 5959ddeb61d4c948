"""Encrypted backups, their verification, logged restores and retention (app.store.backup).

One backup of the demo database is taken for the module and restored into new databases
of the same test cluster; every refusal is checked to leave nothing behind."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import pytest
from conftest import _dsn_for

from app.cli import main_with
from app.store import backup, backup_cli

pytestmark = pytest.mark.store


@dataclass
class Taken:
    dest: Path
    key: Path
    manifest: backup.Manifest
    manifest_path: Path
    live_counts: dict[str, int]
    live_head: tuple[int, str]


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in backup.COUNTED_TABLES
        }


def write_key(folder: Path, text: str = "mật khẩu sao lưu đủ dài 2026!") -> Path:
    key = folder / "backup.key"
    key.write_text(text, encoding="utf-8")
    key.chmod(0o600)
    return key


@pytest.fixture(scope="module")
def taken(demo_db: str, tmp_path_factory) -> Taken:
    dest = tmp_path_factory.mktemp("backups")
    key = write_key(tmp_path_factory.mktemp("keys"))
    live = counts(demo_db)
    steps: list[tuple[str, int]] = []
    m = backup.take_backup(demo_db, dest, key, progress=lambda s, n: steps.append((s, n)))
    with psycopg.connect(demo_db) as conn:
        head = tuple(conn.execute("SELECT last_id, last_hash FROM audit.head()").fetchone())
    assert [s for s, _ in steps][-1] == "roles" and steps[-1][1] > 0
    return Taken(dest, key, m, dest / f"{m.name}.json", live, head)


@pytest.fixture
def cluster(demo_db: str) -> str:
    return demo_db  # a superuser of the test cluster


def new_name(prefix: str = "restored") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def database_exists(dsn: str, name: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        )


def drop(dsn: str, *names: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_is_encrypted_complete_and_logged(taken: Taken, demo_db: str):
    m = taken.manifest
    files = sorted(p.name for p in taken.dest.iterdir())
    assert files == sorted([m.dump_file, m.roles_file, f"{m.name}.json"])  # no .part left
    assert {(taken.dest / f).stat().st_mode & 0o777 for f in (m.dump_file, m.roles_file)} == {0o600}
    raw = (taken.dest / m.dump_file).read_bytes()
    assert raw[:5] != b"PGDMP" and raw[0] in (0x8C, 0xC3)  # an OpenPGP encrypted packet
    roles = (taken.dest / m.roles_file).read_bytes()
    assert b"CREATE ROLE" not in roles and b"SCRAM-SHA-256" not in roles
    # The manifest describes the dump's own snapshot.
    assert m.counts == taken.live_counts and m.counts["cad.parcel"] >= 3_000
    assert m.with_scans and m.revision and m.dump_bytes == len(raw)
    assert m.audit_last_id < taken.live_head[0]  # the BACKUP event came after the snapshot
    assert ("CONNECT", "lr_person") in {(p, g) for g, p in m.database_grants}
    assert "jit=off" in m.database_settings
    with psycopg.connect(demo_db) as conn:
        action, target, detail = conn.execute(
            "SELECT action, target, detail FROM audit.log WHERE action = 'BACKUP'"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert (action, target) == ("BACKUP", m.name)
    assert detail["sha256"] == m.dump_sha256 and detail["counts"] == m.counts
    assert detail["destination"] == str(taken.dest.resolve())


def test_verify_reads_the_backup_and_finds_tampering(taken: Taken, tmp_path: Path):
    report = backup.verify_backup(taken.manifest_path, taken.key)
    assert report.ok, report.lines()
    assert [what for what, _, _ in report.checks][-1] == "decrypt and read the dump"

    copy = tmp_path / "copy"
    shutil.copytree(taken.dest, copy)
    dump = copy / taken.manifest.dump_file
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    report = backup.verify_backup(copy / taken.manifest_path.name, taken.key)
    assert not report.ok
    assert report.checks[0][:2] == (f"{taken.manifest.dump_file} sha256", False)

    wrong = write_key(tmp_path, "another passphrase, also long enough")
    report = backup.verify_backup(taken.manifest_path, wrong)
    assert not report.ok and "wrong passphrase" in report.checks[-1][2]


def test_restore_into_a_new_database_is_verified_and_logged(taken: Taken, cluster: str):
    name = new_name()
    try:
        report = backup.restore_backup(
            taken.manifest_path, taken.key, cluster, name,
            reason="Ổ đĩa máy chủ hỏng ngày 24/11/2026", by="Nguyễn Văn An, Trung tâm CNTT",
        )  # fmt: skip
        restored = _dsn_for(cluster, name)
        assert report.database == name and report.audit_ok and report.replaced is None
        assert counts(restored) == taken.manifest.counts
        with psycopg.connect(restored) as conn:
            ok, _entry, _reason, _n = conn.execute("SELECT * FROM audit.verify()").fetchone()
            last = conn.execute(
                "SELECT id, action, target, detail FROM audit.log ORDER BY id DESC LIMIT 1"
            ).fetchone()
            grants = conn.execute(
                "SELECT has_database_privilege('lr_person', current_database(), 'CONNECT'),"
                "       has_database_privilege('public', current_database(), 'CONNECT')"
            ).fetchone()
            jit = conn.execute("SHOW jit").fetchone()[0]
        assert ok  # the chain continues intact through the RESTORE event
        assert last[0] == taken.manifest.audit_last_id + 1 == report.restore_event_id
        assert last[1:3] == ("RESTORE", taken.manifest.name)
        assert last[3]["reason"] == "Ổ đĩa máy chủ hỏng ngày 24/11/2026"
        assert last[3]["authorised_by"] == "Nguyễn Văn An, Trung tâm CNTT"
        assert last[3]["sha256"] == taken.manifest.dump_sha256
        assert grants == (True, False) and jit == "off"
        log = (taken.dest / backup.RESTORE_LOG).read_text(encoding="utf-8").splitlines()
        entry = json.loads(log[-1])
        assert entry["database"] == name and entry["audit_event_id"] == report.restore_event_id
    finally:
        drop(cluster, name)


def test_restore_can_swap_in_for_the_live_database(taken: Taken, cluster: str):
    live, restored = new_name("live"), new_name()
    with psycopg.connect(cluster, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{live}"')
    renamed = None
    try:
        report = backup.restore_backup(
            taken.manifest_path, taken.key, cluster, restored,
            reason="Dữ liệu bị xóa nhầm", by="Trần Thị Bình", replace=live,
        )  # fmt: skip
        renamed = report.replaced
        assert report.database == live and renamed.startswith(f"{live}_before_restore_")
        assert counts(_dsn_for(cluster, live))["cad.parcel"] == taken.manifest.counts["cad.parcel"]
        assert database_exists(cluster, renamed) and not database_exists(cluster, restored)
    finally:
        drop(cluster, live, restored, *([renamed] if renamed else []))


def test_refusals_change_nothing(taken: Taken, cluster: str, tmp_path: Path, demo_db: str):
    name = new_name()
    # Wrong passphrase: no database is left behind.
    wrong = write_key(tmp_path, "another passphrase, also long enough")
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        backup.restore_backup(taken.manifest_path, wrong, cluster, name, reason="r", by="b")
    assert not database_exists(cluster, name)
    # A restore must say why and who; never over an existing database.
    with pytest.raises(backup.BackupError, match="--reason"):
        backup.restore_backup(taken.manifest_path, taken.key, cluster, name, reason=" ", by="b")
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.restore_backup(
            taken.manifest_path, taken.key, cluster, psycopg.conninfo.conninfo_to_dict(demo_db)[
                "dbname"], reason="r", by="b")  # fmt: skip
    # A passphrase others can read, or too short; a folder that is not there.
    (tmp_path / "loose").mkdir()
    loose = write_key(tmp_path / "loose", "a long enough passphrase here")
    loose.chmod(0o644)
    with pytest.raises(backup.BackupError, match="readable by others"):
        backup.take_backup(demo_db, tmp_path, loose)
    short = write_key(tmp_path, "short")
    with pytest.raises(backup.BackupError, match="shorter than 16"):
        backup.take_backup(demo_db, tmp_path, short)
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.take_backup(demo_db, tmp_path / "not-mounted", taken.key)
    # A store that cannot be reached: nothing written.
    out = tmp_path / "out"
    out.mkdir()
    bad = psycopg.conninfo.make_conninfo(demo_db, port="1", connect_timeout="2")
    with pytest.raises(backup.BackupError, match="cannot connect"):
        backup.take_backup(bad, out, taken.key)
    assert list(out.iterdir()) == []


def test_a_failing_dump_leaves_no_partial_file(taken: Taken, tmp_path: Path):
    folder = tmp_path / "dest"
    folder.mkdir()
    target = folder / "x.dump.gpg"
    with pytest.raises(backup.BackupError, match="sh failed: disk full"):
        backup._encrypt_from(
            ["sh", "-c", "head -c 200000 /dev/urandom; echo disk full >&2; exit 3"],
            target, taken.key, None, "dump",
        )  # fmt: skip
    assert list(folder.iterdir()) == []  # neither x.dump.gpg nor x.dump.gpg.part


def test_prune_keeps_the_newest_days_and_one_per_month(tmp_path: Path, taken: Taken):
    base = asdict(taken.manifest)
    start = dt.datetime(2026, 1, 1, 18, 30, tzinfo=dt.UTC)  # 01:30 Vietnam time next day
    made = []
    for day in range(0, 120, 3):  # every third day for four months
        t = start + dt.timedelta(days=day)
        name = f"landrec-demo-{t:%Y%m%dT%H%M%SZ}"
        data = base | {"name": name, "created_at": t.isoformat(), "dump_file": f"{name}.dump.gpg",
                       "roles_file": f"{name}.roles.sql.gpg"}  # fmt: skip
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        (tmp_path / data["dump_file"]).write_bytes(b"x")
        (tmp_path / data["roles_file"]).write_bytes(b"x")
        made.append((name, t))
    deleted = backup.prune(tmp_path, keep_daily=5, keep_monthly=3)
    kept = [m.name for m in backup.list_backups(tmp_path)]
    newest_per_vn_month: dict[str, str] = {}
    for name, t in made:
        newest_per_vn_month[(t + dt.timedelta(hours=7)).strftime("%Y-%m")] = name
    last_months = sorted(newest_per_vn_month.items())[-3:]
    expected = {n for n, _ in made[-5:]} | {name for _, name in last_months}
    assert set(kept) == expected and len(deleted) == len(made) - len(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}{ext}" for n in kept for ext in (".json", ".dump.gpg", ".roles.sql.gpg")
    )
    with pytest.raises(backup.BackupError):
        backup.prune(tmp_path, keep_daily=0)


def test_command_line(taken: Taken, capsys, demo_db: str, tmp_path: Path):
    assert main_with(backup_cli.register, ["backup", "list", "--dest", str(taken.dest)]) == 0
    assert taken.manifest.name in capsys.readouterr().out
    args = ["backup", "verify", str(taken.manifest_path), "--passphrase-file", str(taken.key)]
    assert main_with(backup_cli.register, args) == 0
    assert "FAIL" not in capsys.readouterr().out
    restore = ["backup", "restore", str(taken.manifest_path), "--passphrase-file",
               str(taken.key), "--as", "Bad-Name", "--reason", "r", "--by", "b",
               "--dsn", demo_db]  # fmt: skip
    rc = main_with(backup_cli.register, restore)
    assert rc == 2 and "not a usable database name" in capsys.readouterr().err
    units = ["backup", "schedule", "--dest", str(taken.dest), "--passphrase-file", str(taken.key)]
    assert main_with(backup_cli.register, units) == 0
    out = capsys.readouterr().out
    assert "OnCalendar=*-*-* 01:30:00" in out and f"--dest {taken.dest.resolve()}" in out


@pytest.fixture(scope="module", autouse=True)
def _gpg_installed() -> Iterator[None]:
    # gpg is a declared dependency (installer/debian-packages.txt): fail loudly without it.
    assert subprocess.run(["gpg", "--version"], capture_output=True).returncode == 0
    yield


def test_restore_with_roles_recreates_missing_accounts(migrated_db: str, tmp_path: Path):
    role, password = f"bk_{uuid.uuid4().hex[:10]}", "Mat-khau-du-dai-2026!"
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute(f"GRANT lr_person TO {role}")
    key = write_key(tmp_path)
    dest = tmp_path / "b"
    dest.mkdir()
    name = new_name()
    try:
        m = backup.take_backup(migrated_db, dest, key)
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")  # the server is new: the account is gone
            existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
        backup.restore_backup(
            dest / f"{m.name}.json", key, migrated_db, name,
            reason="Máy chủ mới", by="Trung tâm CNTT", with_roles=True,
        )  # fmt: skip
        with psycopg.connect(migrated_db) as conn:
            after = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
            member = conn.execute(
                "SELECT pg_has_role(%s, 'lr_person', 'MEMBER')", (role,)
            ).fetchone()[0]
        assert after - existing == {role} and member  # only the missing one, with its groups
        # With the backup's password, into the restored database (CONNECT via lr_person).
        as_role = psycopg.conninfo.make_conninfo(
            _dsn_for(migrated_db, name), user=role, password=password
        )
        with psycopg.connect(as_role) as conn:
            assert conn.execute("SELECT session_user").fetchone()[0] == role
    finally:
        drop(migrated_db, name)
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
