"""The embedded store (app/store/local.py, `landrec store …`): real clusters, real processes.

Fast by design: every store here is ephemeral (fsync off) and the file runs in ~20 s.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from app.config import REPO_ROOT, is_root
from app.errors import UserFacingError
from app.store.cli import main as store_main
from app.store.local import LocalStore

pytestmark = pytest.mark.store

DSN_RE = re.compile(r"postgresql://landrec:([A-Za-z0-9_-]+)@127\.0\.0\.1:(\d+)/landrec")


def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, connect_timeout=10, autocommit=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(*args: str) -> int:
    return store_main(["store", *args])


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# --- the shared session store -------------------------------------------------------------


def test_session_store_serves_postgis_on_a_private_port(local_store, owner_dsn):
    st = local_store.status()
    assert st.running and st.pid and st.initialised
    assert st.port != 5432 and 1024 < st.port < 65536
    m = DSN_RE.fullmatch(owner_dsn)
    assert m, owner_dsn
    assert int(m[2]) == st.port
    with connect(owner_dsn) as conn:
        assert conn.execute("SELECT postgis_full_version()").fetchone()[0].startswith('POSTGIS="3.')
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            "landrec",
            "landrec",
        )
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
            [
                [
                    "server_version_num",
                    "listen_addresses",
                    "unix_socket_directories",
                    "logging_collector",
                    "log_destination",
                    "log_directory",
                    "log_connections",
                    "max_connections",
                    "fsync",
                    "synchronous_commit",
                    "full_page_writes",
                    "server_encoding",
                    "lc_collate",
                    "password_encryption",
                ]
            ],
        ).fetchall()
        s = dict(rows)
        auth = conn.execute(
            "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE error IS NULL"
        ).fetchall()
        secret = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'landrec'"
        ).fetchone()[0]
    assert s["server_version_num"].startswith("15")
    assert s["listen_addresses"] == "127.0.0.1"
    assert s["unix_socket_directories"] == str(local_store.run_dir)
    assert (s["logging_collector"], s["log_destination"]) == ("on", "jsonlog")
    assert s["log_directory"] == str(local_store.log_dir)
    assert s["log_connections"] == "on"
    assert s["max_connections"] == "60"
    assert (s["fsync"], s["synchronous_commit"], s["full_page_writes"]) == ("off", "off", "off")
    assert (s["server_encoding"], s["lc_collate"]) == ("UTF8", "C.UTF-8")
    assert s["password_encryption"] == "scram-sha-256"
    assert auth == [("scram-sha-256",)]
    assert secret.startswith("SCRAM-SHA-256$")


def test_unix_socket_and_wrong_password(local_store):
    meta = local_store.meta()
    with psycopg.connect(
        host=str(local_store.run_dir),
        port=meta["port"],
        user="landrec",
        password=meta["password"],
        dbname="landrec",
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    bad = local_store.dsn().replace(meta["password"], "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(bad)

    # The failed login lands in the JSON log (read by the lockout agent, DESIGN P5).
    def logged() -> bool:
        for path in local_store.log_dir.glob("*.json"):
            for line in path.read_text().splitlines():
                rec = json.loads(line)
                if rec.get("state_code") == "28P01" and rec.get("user") == "landrec":
                    return True
        return False

    assert wait_until(logged, 5), "failed login not found in the jsonlog files"


def test_store_files_are_private(local_store):
    d = local_store.directory
    for path in (d, local_store.pgdata, local_store.run_dir, local_store.log_dir):
        assert mode(path) == 0o700, path
    assert mode(local_store.meta_file) == 0o600
    logs = list(local_store.log_dir.glob("*.json"))
    assert logs and all(mode(p) == 0o600 for p in logs)
    meta = json.loads(local_store.meta_file.read_text())
    assert meta["superuser"] == "landrec" and meta["database"] == "landrec"
    assert meta["port"] == local_store.status().port
    assert len(meta["password"]) >= 24 and meta["ephemeral"] is True
    assert datetime.fromisoformat(meta["created_at"]).tzinfo is not None
    # The initdb password file is gone and the password is in no server file.
    assert not (d / ".pwfile").exists()
    for conf in local_store.pgdata.glob("*.conf"):
        assert meta["password"] not in conf.read_text()
    if is_root():
        postgres = pwd.getpwnam("postgres").pw_uid
        owned = [d, local_store.pgdata, local_store.meta_file, local_store.pgdata / "PG_VERSION"]
        assert all(p.stat().st_uid == postgres for p in owned)
        assert os.stat(f"/proc/{local_store.status().pid}").st_uid == postgres


def test_second_init_and_start_change_nothing(local_store):
    before = local_store.meta_file.read_bytes()
    pid = local_store.status().pid
    assert local_store.init() is False
    assert local_store.start() is False
    assert local_store.meta_file.read_bytes() == before
    assert local_store.status().pid == pid
    # Another object (another process) on the same directory sees the same server.
    assert LocalStore(local_store.directory).status().pid == pid


def test_cli_status_and_dsn(local_store, capsys, monkeypatch, tmp_path):
    d = str(local_store.directory)
    st = local_store.status()
    assert cli("status", "--dir", d) == 0
    out = capsys.readouterr().out
    assert "state: running" in out and f"pid: {st.pid}" in out and f"port: {st.port}" in out
    assert str(local_store.pgdata) in out
    assert cli("dsn", "--dir", d) == 0
    assert capsys.readouterr().out == local_store.dsn() + "\n"
    assert cli("dsn", "--dir", d, "--database", "postgres") == 0
    assert capsys.readouterr().out.strip().endswith(f":{st.port}/postgres")
    monkeypatch.setenv("LANDREC_STORE_DIR", d)  # the env var replaces --dir
    assert cli("dsn") == 0
    assert capsys.readouterr().out == local_store.dsn() + "\n"
    assert cli("status", "--dir", str(tmp_path / "nothing")) == 4
    assert "no store" in capsys.readouterr().out
    assert cli("dsn", "--dir", str(tmp_path / "nothing")) == 2
    assert "landrec store init" in capsys.readouterr().err


# --- a store of our own that we stop, kill and reset -----------------------------------------


@pytest.fixture(scope="module")
def scratch(store_factory) -> LocalStore:
    store = store_factory()
    assert store.init() is True
    return store


def test_init_start_status_stop_start(scratch, capsys):
    st = scratch.status()
    assert st.initialised and not st.running and st.pid is None  # init leaves it stopped
    port = st.port
    assert port and port != 5432
    assert scratch.start() is True
    st = scratch.status()
    assert st.running and st.port == port and Path(f"/proc/{st.pid}").exists()
    with connect(scratch.dsn()) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    assert cli("status", "--dir", str(scratch.directory)) == 0

    assert scratch.stop() is True
    st = scratch.status()
    assert (st.running, st.pid, st.port) == (False, None, port)
    assert not (scratch.pgdata / "postmaster.pid").exists()
    assert cli("status", "--dir", str(scratch.directory)) == 3
    assert "state: stopped" in capsys.readouterr().out
    assert scratch.stop() is False
    assert cli("stop", "--dir", str(scratch.directory)) == 0
    with pytest.raises(psycopg.OperationalError):
        connect(scratch.dsn())

    assert scratch.start() is True
    with connect(scratch.dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_start_recovers_after_kill_9(scratch):
    scratch.start()
    with connect(scratch.dsn()) as conn:
        # Ephemeral stores commit asynchronously; make this one commit reach the WAL.
        conn.execute("SET synchronous_commit = on")
        conn.execute("CREATE TABLE crash_probe (x int)")
        conn.execute("INSERT INTO crash_probe VALUES (42)")
    pid = scratch.status().pid
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not scratch.status().running)
    assert (scratch.pgdata / "postmaster.pid").exists()  # stale: names a dead (or zombie) PID

    assert scratch.start() is True
    st = scratch.status()
    assert st.running and st.pid != pid
    with connect(scratch.dsn()) as conn:
        assert conn.execute("SELECT x FROM crash_probe").fetchall() == [(42,)]


def test_start_ignores_a_pid_file_naming_an_unrelated_live_process(scratch):
    # After a crash and reboot the recorded PID may belong to anything; here: this pytest.
    scratch.stop()
    pid_file = scratch.pgdata / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{scratch.pgdata}\n0\n{scratch.status().port}\n")
    assert scratch.status().running is False
    assert scratch.start() is True
    assert scratch.status().pid != os.getpid()
    with connect(scratch.dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_start_moves_to_a_free_port_when_the_recorded_one_is_taken(scratch):
    scratch.stop()
    old = scratch.status().port
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", old))
        blocker.listen()
        assert scratch.start() is True
        new = scratch.status().port
        assert new not in (old, 5432)
        assert scratch.meta()["port"] == new
        assert DSN_RE.fullmatch(scratch.dsn())[2] == str(new)
        with connect(scratch.dsn()) as conn:
            assert conn.execute("SHOW port").fetchone() == (str(new),)


def test_reset_leaves_an_empty_fresh_cluster(scratch):
    scratch.start()
    old_dsn = scratch.dsn()
    with connect(old_dsn) as conn:
        conn.execute("CREATE TABLE precious (x int)")
        conn.execute("INSERT INTO precious VALUES (1)")
    scratch.reset()
    st = scratch.status()
    assert st.running
    assert scratch.dsn() != old_dsn  # new owner password
    with connect(scratch.dsn()) as conn:
        assert conn.execute("SELECT to_regclass('public.precious')").fetchone() == (None,)
        user_tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema') AND tablename <> 'spatial_ref_sys'"
        ).fetchone()[0]
        assert user_tables == 0
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    with pytest.raises(psycopg.OperationalError):
        connect(old_dsn)


def test_destroy_stops_and_removes_the_store(scratch):
    pid = scratch.status().pid
    scratch.destroy()
    assert not scratch.directory.exists()
    assert wait_until(lambda: not Path(f"/proc/{pid}/cwd").exists() or _is_zombie(pid))
    scratch.destroy()  # idempotent


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# --- installation and permission errors --------------------------------------------------------


def test_missing_server_binaries_name_the_package(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LANDREC_PG_BINDIR", str(tmp_path / "no-such-bin"))
    target = tmp_path / "store"
    with pytest.raises(UserFacingError) as err:
        LocalStore(target).init()
    assert "postgresql-15" in str(err.value) and "apt-get install" in str(err.value)
    assert not target.exists()  # checked before anything is created
    # Through the CLI: one line on stderr, exit code 2, no traceback.
    assert cli("init", "--dir", str(target)) == 2
    err_text = capsys.readouterr().err
    assert err_text.startswith("landrec: ") and "postgresql-15" in err_text
    assert "Traceback" not in err_text and err_text.count("\n") == 1


def test_missing_postgis_names_the_package(tmp_path):
    store = LocalStore(tmp_path / "store", sharedir=tmp_path / "share")
    with pytest.raises(UserFacingError, match=r"postgresql-15-postgis-3") as err:
        store.init()
    assert "postgis.control" in str(err.value)


@pytest.mark.skipif(not is_root(), reason="only root hands the cluster to the postgres user")
def test_root_names_the_directory_postgres_cannot_enter():
    blocked = Path(tempfile.mkdtemp(prefix="landrec-test-", dir="/tmp"))  # mode 0700
    try:
        with pytest.raises(UserFacingError) as err:
            LocalStore(blocked / "a" / "store").init()
        assert f"cannot enter {blocked} " in str(err.value)
        assert not (blocked / "a").exists()
    finally:
        shutil.rmtree(blocked)


# --- the whole lifecycle through the CLI as a normal (non-root) user ----------------------------


def _postgres_python() -> tuple[list[str], dict[str, str]] | str:
    """A Python the postgres OS user can run LandRec with, or the reason there is none."""
    base = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    site = sysconfig.get_paths()["purelib"]
    candidates = [(sys.executable, str(REPO_ROOT))]
    # The venv's interpreter may be a link into a pyenv under /root, which postgres cannot
    # enter; the system Python of the same version runs the same code with the venv's packages.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin")
    if system and os.path.realpath(system) != os.path.realpath(sys.executable):
        candidates.append((system, f"{REPO_ROOT}:{site}"))
    reasons = []
    for python, pythonpath in candidates:
        env = {**base, "PYTHONPATH": pythonpath}
        probe = subprocess.run(
            ["runuser", "-u", "postgres", "--", python, "-c", "import app.store.cli, psycopg"],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            timeout=60,
        )
        if probe.returncode == 0:
            return ["runuser", "-u", "postgres", "--", python], env
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        reasons.append(f"{python} (PYTHONPATH={pythonpath}): {last}")
    return "the postgres OS user cannot run LandRec's code: " + "; ".join(reasons)


@pytest.fixture(scope="module")
def user_cli():
    """Run ``python -m app.store.cli store …`` as a non-root user against a dir it owns."""
    if is_root():
        # make test installs postgresql-15 (which creates the postgres user) and
        # python3-venv (a Python the postgres user can run): both must be there.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and there is no postgres OS user (postgresql-15)")
        found = _postgres_python()
        if isinstance(found, str):
            pytest.fail(found)
        argv, env = found
    else:
        owner = pwd.getpwuid(os.getuid())
        pythonpath = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        argv, env = [sys.executable], {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
    env.pop("LANDREC_STORE_DIR", None)
    parent = Path(tempfile.mkdtemp(prefix="landrec-test-", dir="/tmp"))
    os.chown(parent, owner.pw_uid, owner.pw_gid)
    store_dir = parent / "store"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, "-m", "app.store.cli", "store", *args, "--dir", str(store_dir)],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            timeout=120,
        )

    run.owner = owner  # type: ignore[attr-defined]
    run.store_dir = store_dir  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        run("stop")
        LocalStore(store_dir).destroy()
        shutil.rmtree(parent, ignore_errors=True)


def test_lifecycle_as_a_normal_user(user_cli):
    run, d = user_cli, user_cli.store_dir

    def ok(*args: str, rc: int = 0) -> str:
        r = run(*args)
        assert r.returncode == rc, (args, r.stdout, r.stderr)
        return r.stdout

    assert "created" in ok("init", "--fast")
    assert "already initialised" in ok("init")
    assert "state: stopped" in ok("status", rc=3)
    assert "started" in ok("start")
    assert "already running" in ok("start")
    status = ok("status")
    pid = int(re.search(r"pid: (\d+)", status)[1])
    dsn = ok("dsn").strip()
    assert DSN_RE.fullmatch(dsn) and int(DSN_RE.fullmatch(dsn)[2]) != 5432
    with connect(dsn) as conn:
        assert conn.execute("SELECT postgis_full_version()").fetchone()[0].startswith("POSTGIS=")
    # Everything belongs to that user, server process included.
    uid = user_cli.owner.pw_uid
    assert d.stat().st_uid == uid and (d / "store.json").stat().st_uid == uid
    assert os.stat(f"/proc/{pid}").st_uid == uid

    assert "reset and started" in ok("reset", "--yes", "--fast")
    new_dsn = ok("dsn").strip()
    assert new_dsn != dsn
    with connect(new_dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    assert "stopped" in ok("stop")
    assert "not running" in ok("stop")
    assert "state: stopped" in ok("status", rc=3)
