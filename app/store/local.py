"""The embedded local store: a private PostgreSQL + PostGIS cluster in one directory.

Qt-free; used by ``landrec store …``, the Makefile (through the CLI), the tests and the
desktop client. Layout of a store directory::

    <dir>/store.json   port, superuser, owner password, database, created at (0600)
    <dir>/pgdata/      the cluster (0700)
    <dir>/run/         the unix socket
    <dir>/log/         server logs: postgresql-*.json (jsonlog) and pg_ctl.log
    <dir>/.lock        serialises init/start/stop/reset between processes
    <dir>/pgdata/server.crt, server.key   TLS certificate and key, after enable_tls()

initdb and pg_ctl refuse to run as root (DESIGN P4). As root we run them as the
``postgres`` OS user (created by the Debian package) through ``runuser`` and give the
store directory to that user; root can still read and manage everything.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import random
import re
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from app.config import is_root
from app.errors import UserFacingError

PG_MAJOR = 15
SERVER_PACKAGE = f"postgresql-{PG_MAJOR}"
POSTGIS_PACKAGE = f"postgresql-{PG_MAJOR}-postgis-3"
SUPERUSER = "landrec"
DATABASE = "landrec"
#: OS user that owns the cluster when LandRec runs as root.
DEFAULT_OS_USER = "postgres"
LISTEN_HOST = "127.0.0.1"

# Ports are drawn below Linux's ephemeral range (32768+) so outgoing connections do not
# grab them between two starts; never the well-known 5432 of a system cluster.
_PORT_RANGE = (20000, 32000)
_AVOID_PORTS = {5432, 5433}
_START_TIMEOUT = 60
_SUN_PATH_MAX = 107  # bytes in sockaddr_un.sun_path, minus the terminating NUL
# Entries of a store directory; anything else means the directory is not ours.
_OWN_ENTRIES = {"store.json", "pgdata", "run", "log", ".lock", ".pwfile", "agent.pid", "agent.log"}


@dataclass(frozen=True)
class StoreStatus:
    running: bool
    pid: int | None
    port: int | None
    directory: Path
    initialised: bool = False


def find_bindir() -> Path:
    """Directory of initdb/pg_ctl/postgres: $LANDREC_PG_BINDIR, Debian's path, or pg_config."""
    env = os.environ.get("LANDREC_PG_BINDIR")
    if env:
        return Path(env)
    debian = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
    if debian.is_dir():
        return debian
    # The pg_config on PATH may belong to another major (libpq-dev), so it comes second.
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            return Path(out.stdout.strip())
    return debian


def find_sharedir(bindir: Path) -> Path:
    """Share directory of the server in ``bindir`` (where extension control files live)."""
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [str(pg_config), "--sharedir"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            return Path(out.stdout.strip())
    m = re.fullmatch(r"/usr/lib/postgresql/(\d+)/bin", str(bindir))
    major = m.group(1) if m else str(PG_MAJOR)
    return Path(f"/usr/share/postgresql/{major}")


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Same option as the postmaster, so a TIME_WAIT leftover does not count as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LISTEN_HOST, port))
        except OSError:
            return False
    return True


def pick_free_port(preferred: int | None = None) -> int:
    if preferred and preferred not in _AVOID_PORTS and _port_is_free(preferred):
        return preferred
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(*_PORT_RANGE)
        if port not in _AVOID_PORTS and _port_is_free(port):
            return port
    raise UserFacingError(
        f"no free TCP port on {LISTEN_HOST} between {_PORT_RANGE[0]} and {_PORT_RANGE[1]}"
    )


def _proc_state(pid: int) -> str | None:
    """One-letter state from /proc/<pid>/stat, or None when the process does not exist."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "?"
    return data.rsplit(")", 1)[1].split()[0]


def _proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def shared_buffers_for(ephemeral: bool) -> str:
    """A quarter of the RAM, 128 MB to 2 GB (PostgreSQL's usual advice for a dedicated
    server): PostgreSQL's default 128 MB holds a fifth of a 1 M-parcel store's parcel table
    and its indexes. Throw-away test stores keep the minimum (many run side by side)."""
    if ephemeral:
        return "128MB"
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "128MB"
    mb = max(128, min(2048, ram // 4 // 2**20))
    return f"{mb}MB"


class LocalStore:
    """A private PostgreSQL + PostGIS cluster living in ``directory``.

    ``ephemeral`` (tests, throw-away demos) trades crash safety for speed: fsync,
    synchronous_commit and full_page_writes off. It is fixed when the cluster is created.
    """

    def __init__(
        self,
        directory: Path | str,
        ephemeral: bool = False,
        *,
        bindir: Path | None = None,
        sharedir: Path | None = None,
        os_user: str | None = None,
    ) -> None:
        self.directory = Path(directory).expanduser().absolute()
        self.ephemeral = ephemeral
        self.bindir = Path(bindir) if bindir else find_bindir()
        self.sharedir = Path(sharedir) if sharedir else None
        self.os_user = os_user or os.environ.get("LANDREC_STORE_OS_USER", DEFAULT_OS_USER)
        self._lock_depth = 0
        self._lock_fd: int | None = None

    # -- paths -------------------------------------------------------------------------

    @property
    def pgdata(self) -> Path:
        return self.directory / "pgdata"

    @property
    def run_dir(self) -> Path:
        return self.directory / "run"

    @property
    def log_dir(self) -> Path:
        return self.directory / "log"

    @property
    def meta_file(self) -> Path:
        return self.directory / "store.json"

    @property
    def _pwfile(self) -> Path:
        return self.directory / ".pwfile"

    @property
    def _pid_file(self) -> Path:
        return self.pgdata / "postmaster.pid"

    @property
    def _pg_ctl_log(self) -> Path:
        return self.log_dir / "pg_ctl.log"

    # -- public API ----------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return self.meta_file.is_file() and (self.pgdata / "PG_VERSION").is_file()

    def meta(self) -> dict:
        """Contents of store.json (port, superuser, password, database, created_at, …)."""
        self._require_initialised()
        return json.loads(self.meta_file.read_text(encoding="utf-8"))

    def init(self) -> bool:
        """Create the cluster, the ``landrec`` database and PostGIS; leave the server stopped.

        Returns False (and changes nothing) when the store is already initialised.
        """
        if self.is_initialised():
            return False
        self._check_install()
        self._prepare_directory()
        with self._locked():
            if self.is_initialised():  # another process won the race
                return False
            self._initialise(preferred_port=None, leave_running=False)
        return True

    def start(self) -> bool:
        """Start the server and wait until it accepts connections.

        Returns False when it was already running. Recovers a stale postmaster.pid (server
        killed with SIGKILL) and moves to another port if the recorded one is taken.
        """
        self._require_initialised()
        self._check_install()
        self._check_traversable()
        with self._locked():
            meta = self.meta()
            if self._live_postmaster_pid() is not None:
                self._wait_accepting(self._running_port() or meta["port"])
                return False
            self._check_version()
            self._make_subdirs()
            self._clear_stale_lock()
            port = meta["port"]
            if not _port_is_free(port):
                port = pick_free_port()
                self._write_meta({**meta, "port": port})
            self._write_conf(port)  # also brings an older store's settings up to date
            self._pg_start()
            self._wait_accepting(port)
        return True

    def stop(self) -> bool:
        """Stop the server (fast mode: rolls back open transactions). False if not running."""
        if not self.pgdata.is_dir():
            return False
        with self._locked():
            if self._live_postmaster_pid() is None:
                return False
            self._check_install()
            self._pg_stop("fast")
        return True

    def status(self) -> StoreStatus:
        initialised = self.is_initialised()
        pid = self._live_postmaster_pid() if self.pgdata.is_dir() else None
        port = self._running_port() if pid else None
        if port is None and initialised:
            port = self.meta().get("port")
        return StoreStatus(
            running=pid is not None,
            pid=pid,
            port=port,
            directory=self.directory,
            initialised=initialised,
        )

    def dsn(self, database: str = DATABASE) -> str:
        """Owner DSN over TCP: postgresql://landrec:PASSWORD@127.0.0.1:PORT/<database>."""
        meta = self.meta()
        user = quote(meta["superuser"], safe="")
        password = quote(meta["password"], safe="")
        return f"postgresql://{user}:{password}@{LISTEN_HOST}:{meta['port']}/{quote(database)}"

    def reset(self) -> None:
        """Stop, delete the cluster, create a fresh one (new password) and start it."""
        self._check_install()
        self._prepare_directory()
        with self._locked():
            old_port = None
            if self.meta_file.is_file():
                with contextlib.suppress(ValueError, KeyError):
                    old_port = int(json.loads(self.meta_file.read_text())["port"])
            self._stop_whatever_runs()
            self._wipe()
            # Keep the old port when possible so DSNs configured elsewhere keep working.
            self._initialise(preferred_port=old_port, leave_running=True)

    # -- TLS ---------------------------------------------------------------------------------

    @property
    def tls_enabled(self) -> bool:
        return self.is_initialised() and bool(self.meta().get("tls"))

    def enable_tls(self, cert_file: Path | str, key_file: Path | str) -> None:
        """Serve TLS (``ssl = on``) with this PEM certificate (chain) and private key.

        They are checked to match, then copied into the data directory as server.crt and
        server.key (0600, owned by the cluster's OS user) and recorded in store.json, so
        the setting survives restarts and port changes. A running server reloads and this
        returns once it accepts TLS connections. Call again to replace the certificate.
        """
        import ssl

        self._require_initialised()
        try:
            ssl.create_default_context().load_cert_chain(str(cert_file), str(key_file))
            cert = Path(cert_file).read_text(encoding="ascii")
            key = Path(key_file).read_text(encoding="ascii")
        except (OSError, ssl.SSLError, UnicodeDecodeError) as exc:
            raise UserFacingError(
                f"cannot use {cert_file} and {key_file} for TLS (PEM certificate and its "
                f"unencrypted private key expected): {exc}"
            ) from exc
        with self._locked():
            self._write_private(self.pgdata / "server.crt", cert)
            self._write_private(self.pgdata / "server.key", key)
            meta = self.meta()
            self._write_meta({**meta, "tls": True})
            self._write_conf(meta["port"])
            if self._live_postmaster_pid() is not None:
                self._reload(expect_tls=True)

    def disable_tls(self) -> None:
        """Back to plain TCP (the local demo profile's default)."""
        self._require_initialised()
        with self._locked():
            meta = self.meta()
            self._write_meta({k: v for k, v in meta.items() if k != "tls"})
            self._write_conf(meta["port"])
            if self._live_postmaster_pid() is not None:
                self._reload(expect_tls=False)

    def _reload(self, expect_tls: bool) -> None:
        """pg_ctl reload, then wait until new connections see the TLS setting."""
        import psycopg

        self._pg_ctl("reload")
        meta = self.meta()
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                with psycopg.connect(
                    host=LISTEN_HOST,
                    port=meta["port"],
                    user=meta["superuser"],
                    password=meta["password"],
                    dbname="postgres",
                    sslmode="require" if expect_tls else "disable",
                    connect_timeout=5,
                ) as conn:
                    (on,) = conn.execute("SHOW ssl").fetchone()
                if (on == "on") == expect_tls:
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise UserFacingError(
                    f"PostgreSQL in {self.directory} did not switch TLS "
                    f"{'on' if expect_tls else 'off'} after a reload\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def destroy(self) -> None:
        """Stop the server at once and remove the store (test teardown, uninstall)."""
        if not self.directory.exists():
            return
        from app.security.agent_service import stop_agent  # the store's companion

        stop_agent(self.directory)
        with self._locked():
            self._stop_whatever_runs(mode="immediate")
            self._wipe()
            (self.directory / ".lock").unlink(missing_ok=True)
        # Only an empty directory goes: never delete files that are not ours.
        with contextlib.suppress(OSError):
            self.directory.rmdir()

    # -- installation checks -------------------------------------------------------------

    def _check_install(self) -> None:
        missing = [n for n in ("initdb", "pg_ctl", "postgres") if not self._bin(n).is_file()]
        if missing:
            raise UserFacingError(
                f"PostgreSQL {PG_MAJOR} server programs not found ({', '.join(missing)} "
                f"in {self.bindir}); install the Debian package {SERVER_PACKAGE}: "
                f"sudo apt-get install {SERVER_PACKAGE} {POSTGIS_PACKAGE}"
            )
        sharedir = self.sharedir or find_sharedir(self.bindir)
        control = sharedir / "extension" / "postgis.control"
        if not control.is_file():
            raise UserFacingError(
                f"PostGIS is not installed for PostgreSQL {PG_MAJOR} ({control} is missing); "
                f"install the Debian package {POSTGIS_PACKAGE}: "
                f"sudo apt-get install {POSTGIS_PACKAGE}"
            )
        if is_root():
            if shutil.which("runuser") is None:
                raise UserFacingError(
                    "running as root needs 'runuser' (util-linux) to start PostgreSQL as "
                    f"the {self.os_user} user; install util-linux or run as a normal user"
                )
            self._service_user()

    def _service_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(self.os_user)
        except KeyError:
            raise UserFacingError(
                f"PostgreSQL refuses to run as root and the OS user '{self.os_user}' does "
                f"not exist; install {SERVER_PACKAGE} (it creates 'postgres'), set "
                "LANDREC_STORE_OS_USER to another user, or run LandRec as a normal user"
            ) from None

    def _bin(self, name: str) -> Path:
        return self.bindir / name

    def _check_version(self) -> None:
        data_major = (self.pgdata / "PG_VERSION").read_text().strip()
        out = self._run([str(self._bin("postgres")), "--version"], as_service=False).stdout
        m = re.search(r"(\d+)(?:\.\d+)?", out)
        if m and m.group(1) != data_major:
            raise UserFacingError(
                f"the store in {self.directory} was created by PostgreSQL {data_major} but "
                f"the server programs in {self.bindir} are version {m.group(1)}; point "
                f"LANDREC_PG_BINDIR at PostgreSQL {data_major} or reset the store"
            )

    # -- directory, ownership, permissions ----------------------------------------------

    def _prepare_directory(self) -> None:
        d = self.directory
        if d.exists() and not d.is_dir():
            raise UserFacingError(f"store path {d} exists and is not a directory")
        if d.is_dir():
            foreign = sorted(p.name for p in d.iterdir() if p.name not in _OWN_ENTRIES)
            if foreign and not (d / "store.json").exists() and not (d / "pgdata").exists():
                raise UserFacingError(
                    f"{d} is not empty and is not a LandRec store (it holds {foreign[0]!r}, "
                    "…); choose a new or empty directory with --dir"
                )
        socket_path = self.run_dir / f".s.PGSQL.{_PORT_RANGE[1]}"
        if len(os.fsencode(socket_path)) > _SUN_PATH_MAX:
            raise UserFacingError(
                f"store path {d} is too long for a unix socket ({socket_path} is over "
                f"{_SUN_PATH_MAX} bytes); choose a shorter --dir"
            )
        self._check_traversable()  # all checks before creating anything
        self._makedirs_traversable(d.parent)
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
        self._give_to_service_user(d)

    def _make_subdirs(self) -> None:
        for sub in (self.run_dir, self.log_dir):
            sub.mkdir(mode=0o700, exist_ok=True)
            os.chmod(sub, 0o700)
            self._give_to_service_user(sub)

    @staticmethod
    def _makedirs_traversable(path: Path) -> None:
        # Parents we create must be enterable by the postgres user even under umask 077.
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            p.mkdir(mode=0o755)
            if is_root():
                os.chmod(p, 0o755)

    def _check_traversable(self) -> None:
        """As root: can the postgres user reach the store? Name the directory that blocks."""
        if not is_root():
            return
        user = self._service_user()
        groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
        for p in reversed(self.directory.parents):
            if not p.exists():
                break  # the rest is created by us, mode 0755
            st = p.stat()
            if st.st_uid == user.pw_uid:
                ok = st.st_mode & stat.S_IXUSR
            elif st.st_gid in groups:
                ok = st.st_mode & stat.S_IXGRP
            else:
                ok = st.st_mode & stat.S_IXOTH
            if not ok:
                raise UserFacingError(
                    f"the {user.pw_name} OS user (which runs PostgreSQL for root) cannot enter "
                    f"{p} (mode {stat.S_IMODE(st.st_mode):04o}); choose a store directory "
                    f"outside it (root's default is /var/lib/landrec/store) or allow it: "
                    f"chmod o+x {p}"
                )

    def _give_to_service_user(self, path: Path) -> None:
        if is_root():
            user = self._service_user()
            os.chown(path, user.pw_uid, user.pw_gid)

    def _write_private(self, path: Path, text: str) -> None:
        """Write a 0600 file atomically, owned by the cluster's OS user."""
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        self._give_to_service_user(tmp)
        os.replace(tmp, path)

    def _write_meta(self, meta: dict) -> None:
        self._write_private(self.meta_file, json.dumps(meta, indent=2) + "\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Re-entrant inside one object: reset() calls the same steps as init/start/stop.
        if self._lock_depth == 0:
            lock = self.directory / ".lock"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            self._give_to_service_user(lock)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._lock_fd is not None:
                os.close(self._lock_fd)  # closing releases the flock
                self._lock_fd = None

    def _require_initialised(self) -> None:
        if self.is_initialised():
            return
        if self.pgdata.exists() and not self.meta_file.exists():
            raise UserFacingError(
                f"the store in {self.directory} was left half-created (no store.json); "
                f"recreate it with: landrec store reset --yes --dir {self.directory}"
            )
        raise UserFacingError(
            f"no LandRec store in {self.directory}; create it with: "
            f"landrec store init --dir {self.directory}"
        )

    # -- running programs ------------------------------------------------------------------

    def _run(
        self, argv: Sequence[str], *, as_service: bool = True, check: bool = True, timeout=120
    ) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        if as_service and is_root():
            argv = ["runuser", "-u", self.os_user, "--", *argv]
        # PG* variables (PGDATA, PGPORT, PGOPTIONS…) of the caller must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.setdefault("LC_MESSAGES", "C")
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, cwd="/", env=env, timeout=timeout
            )
        except FileNotFoundError as exc:
            raise UserFacingError(f"cannot run {argv[0]}: {exc.strerror}") from exc
        if check and proc.returncode != 0:
            name = Path(argv[argv.index("--") + 1] if "--" in argv else argv[0]).name
            detail = (proc.stderr or proc.stdout).strip()
            raise UserFacingError(f"{name} failed in {self.directory}:\n{detail}")
        return proc

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(
            [str(self._bin("pg_ctl")), "-D", str(self.pgdata), *args],
            check=check,
            timeout=_START_TIMEOUT + 30,
        )

    # -- creating the cluster ----------------------------------------------------------------

    def _initialise(self, preferred_port: int | None, leave_running: bool) -> None:
        if self.pgdata.exists():
            raise UserFacingError(
                f"{self.pgdata} exists but the store is not initialised; recreate it with: "
                f"landrec store reset --yes --dir {self.directory}"
            )
        self._make_subdirs()
        port = pick_free_port(preferred_port)
        password = secrets.token_urlsafe(24)  # URL-safe: no quoting surprises in DSNs
        try:
            self._initdb(password)
            self._write_conf(port)
            self._pg_start()
            self._wait_accepting(port, password)
            self._create_database(port, password)
            meta = {
                "format": 1,
                "port": port,
                "superuser": SUPERUSER,
                "password": password,
                "database": DATABASE,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "ephemeral": self.ephemeral,
                "pg_major": int((self.pgdata / "PG_VERSION").read_text().strip()),
            }
            self._write_meta(meta)
            if not leave_running:
                self._pg_stop("fast")
        except BaseException:
            # Leave nothing half-made behind, so init can simply be run again; the logs
            # stay for diagnosis.
            with contextlib.suppress(Exception):
                self._stop_whatever_runs(mode="immediate")
            shutil.rmtree(self.pgdata, ignore_errors=True)
            self.meta_file.unlink(missing_ok=True)
            raise

    def _initdb(self, password: str) -> None:
        self._write_private(self._pwfile, password + "\n")
        try:
            args = [
                str(self._bin("initdb")),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                f"--pwfile={self._pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
            # Throw-away clusters skip the fsyncs; real ones get page checksums.
            args.append("--no-sync" if self.ephemeral else "--data-checksums")
            self._run(args)
        finally:
            self._pwfile.unlink(missing_ok=True)

    def _write_conf(self, port: int) -> None:
        def q(value: object) -> str:
            return "'" + str(value).replace("'", "''") + "'"

        settings: dict[str, object] = {
            "listen_addresses": q(LISTEN_HOST),
            "port": port,
            "unix_socket_directories": q(self.run_dir),
            "unix_socket_permissions": "0700",
            "password_encryption": q("scram-sha-256"),
            "max_connections": 60,
            "shared_buffers": q(shared_buffers_for(self.ephemeral)),
            # Failed logins are read back from these JSON logs (DESIGN P5).
            "logging_collector": "on",
            "log_destination": q("jsonlog"),
            "log_directory": q(self.log_dir),
            "log_filename": q("postgresql-%Y-%m-%d.log"),  # jsonlog writes *.json
            "log_file_mode": "0600",
            "log_connections": "on",
        }
        if self.ephemeral:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        if self.meta_file.is_file() and json.loads(self.meta_file.read_text()).get("tls"):
            settings.update(
                ssl="on",
                ssl_cert_file=q("server.crt"),  # relative to the data directory
                ssl_key_file=q("server.key"),
                ssl_min_protocol_version=q("TLSv1.2"),
            )
        body = "".join(f"{k} = {v}\n" for k, v in settings.items())
        self._write_private(
            self.pgdata / "landrec.conf",
            "# Written by LandRec (app/store/local.py); rewritten on port changes.\n" + body,
        )
        main_conf = self.pgdata / "postgresql.conf"
        include = "include = 'landrec.conf'"
        if include not in main_conf.read_text():
            with main_conf.open("a", encoding="utf-8") as fh:
                fh.write(f"\n# LandRec settings (last, so they win)\n{include}\n")

    def _create_database(self, port: int, password: str) -> None:
        import psycopg
        from psycopg import sql

        def connect(db: str):
            return psycopg.connect(
                host=LISTEN_HOST,
                port=port,
                user=SUPERUSER,
                password=password,
                dbname=db,
                autocommit=True,
                connect_timeout=10,
            )

        with connect("postgres") as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(SUPERUSER)
                )
            )
        with connect(DATABASE) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    # -- starting and stopping ------------------------------------------------------------------

    def _pg_start(self) -> None:
        proc = self._pg_ctl(
            "start", "-w", "-t", str(_START_TIMEOUT), "-l", str(self._pg_ctl_log), check=False
        )
        if proc.returncode != 0:
            raise UserFacingError(
                f"PostgreSQL did not start in {self.directory}:\n"
                f"{(proc.stderr or proc.stdout).strip()}\n{self._log_tail()}"
            )

    def _pg_stop(self, mode: str) -> None:
        proc = self._pg_ctl("stop", "-m", mode, "-w", "-t", str(_START_TIMEOUT), check=False)
        if proc.returncode != 0 and self._live_postmaster_pid() is not None:
            if mode != "immediate":  # a stuck client must not keep the store up
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", str(_START_TIMEOUT))
            else:
                raise UserFacingError(f"could not stop PostgreSQL in {self.directory}")

    def _stop_whatever_runs(self, mode: str = "fast") -> None:
        if self.pgdata.is_dir() and self._live_postmaster_pid() is not None:
            self._pg_stop(mode)

    def _wait_accepting(self, port: int, password: str | None = None) -> None:
        import psycopg

        password = password or self.meta()["password"]
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                with psycopg.connect(
                    host=LISTEN_HOST,
                    port=port,
                    user=SUPERUSER,
                    password=password,
                    dbname="postgres",
                    connect_timeout=5,
                ) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise UserFacingError(
                        f"PostgreSQL in {self.directory} does not accept connections on "
                        f"{LISTEN_HOST}:{port}: {exc}\n{self._log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def _wipe(self) -> None:
        for path in (self.pgdata, self.run_dir, self.log_dir):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.meta_file, self._pwfile, self.directory / ".store.json.tmp"):
            path.unlink(missing_ok=True)

    # -- process inspection -----------------------------------------------------------------------

    def _pid_file_lines(self) -> list[str]:
        try:
            return self._pid_file.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return []

    def _live_postmaster_pid(self) -> int | None:
        """PID of the postmaster serving this data directory, or None."""
        lines = self._pid_file_lines()
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        return pid if self._serves_our_pgdata(pid) else None

    def _serves_our_pgdata(self, pid: int) -> bool:
        state = _proc_state(pid)
        if state is None or state in ("Z", "X"):  # gone, or a zombie nobody reaped yet
            return False
        cwd = _proc_cwd(pid)
        if cwd is not None:
            # Every PostgreSQL process works in its data directory; another cwd means the
            # PID was reused by an unrelated process after a crash.
            return cwd == self.pgdata.resolve()
        # Not allowed to look (another user's process): trust the name.
        with contextlib.suppress(OSError):
            return Path(f"/proc/{pid}/comm").read_text().strip() in ("postgres", "postmaster")
        return True

    def _running_port(self) -> int | None:
        lines = self._pid_file_lines()
        if len(lines) >= 4 and lines[3].strip().isdigit():
            return int(lines[3])
        return None

    def _leftover_backends(self) -> list[int]:
        """Orphaned server processes of a killed postmaster (they still hold shared memory)."""
        target = self.pgdata.resolve()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if _proc_cwd(pid) == target and _proc_state(pid) not in (None, "Z", "X"):
                pids.append(pid)
        return pids

    def _clear_stale_lock(self) -> None:
        """After a SIGKILL: remove the lock files PostgreSQL would otherwise trip over.

        PostgreSQL itself ignores a lock file whose PID is gone, but not one whose PID is a
        zombie or was reused, and it refuses to start while orphaned children of the dead
        postmaster still hold the old shared memory: wait for those to exit first.
        """
        if not self._pid_file.exists():
            return
        deadline = time.monotonic() + 15
        while (left := self._leftover_backends()) and time.monotonic() < deadline:
            time.sleep(0.1)
        if left:
            raise UserFacingError(
                f"old PostgreSQL processes of {self.pgdata} are still running (PIDs "
                f"{', '.join(map(str, left))}) after the server died; stop them "
                f"(kill {' '.join(map(str, left))}) and start again"
            )
        self._pid_file.unlink(missing_ok=True)
        for lock in self.run_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
            Path(str(lock)[: -len(".lock")]).unlink(missing_ok=True)

    def _log_tail(self, lines: int = 12) -> str:
        parts = []
        with contextlib.suppress(OSError):
            tail = self._pg_ctl_log.read_text(errors="replace").splitlines()[-lines:]
            if tail:
                parts.append(f"--- {self._pg_ctl_log} ---\n" + "\n".join(tail))
        with contextlib.suppress(OSError, ValueError):
            newest = max(self.log_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
            msgs = []
            for raw in newest.read_text(errors="replace").splitlines()[-lines:]:
                with contextlib.suppress(ValueError):
                    rec = json.loads(raw)
                    msgs.append(f"{rec.get('error_severity')}: {rec.get('message')}")
            if msgs:
                parts.append(f"--- {newest} ---\n" + "\n".join(msgs))
        return "\n".join(parts)
