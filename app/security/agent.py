"""The lockout agent: failed logins from the server's jsonlog (DESIGN P5).

A failed authentication never reaches a SQL session, so no trigger or function can count
it. PostgreSQL does write it to its log: with ``log_destination = jsonlog`` and
``log_connections = on`` (the local store's settings, app/store/local.py) each attempt
leaves one JSON record::

    {"user": "nva", "error_severity": "FATAL", "state_code": "28P01",
     "message": "password authentication failed for user \\"nva\\"", ...}
    {"user": "nva", "error_severity": "LOG",
     "message": "connection authorized: user=nva database=landrec ...", ...}

The agent tails ``<log dir>/*.json`` from the offsets saved in the database
(sys.agent_log_position) and reports, in the same transaction, each failure to
``admin.record_login_failure`` and each success to ``admin.record_login``; those count,
lock after 5 failures (ALTER ROLE … NOLOGIN, so psql is locked out too), audit and keep
``last_login_at``. Every ``policy_interval`` seconds it also runs
``admin.enforce_policies()`` (time-based rules, timed unlocks).

Also counted: the lines ``landrec auth failure: …`` that sys.verify_totp and
sys.change_password write for a wrong TOTP code or current password. A person can write
such a line only for their own session user (the record's ``user`` field), so nobody can
lock somebody else out through it.

The failure is matched on SQLSTATE 28P01, not on the English text, so a server with
translated messages still works; the success line needs lc_messages = 'C' (documented).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

#: Read at most this much of one file per transaction (a huge backlog goes in slices).
CHUNK_BYTES = 8 * 1024 * 1024
AUTH_FAILURE_PREFIX = "landrec auth failure: "
_KINDS = {"second factor": "totp", "current password": "current_password"}
# Serialises agents working on the same database ('LRAGENT').
_LOCK_KEY = 0x4C524147454E54


@dataclass(frozen=True)
class LoginEvent:
    kind: str  # "failure" or "login"
    role: str
    at: str  # the log's own timestamp text; PostgreSQL parses it
    client: str | None
    detail: str = "password"  # failure kind: password, totp, current_password


@dataclass
class AgentReport:
    records: int = 0
    failures: int = 0
    logins: int = 0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # role, kind, outcome
    policy_actions: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def locked(self) -> list[str]:
        return [role for role, _, outcome in self.outcomes if outcome == "locked"]

    def summary(self) -> str:
        parts = [
            f"{self.records} log records",
            f"{self.failures} failed logins",
            f"{self.logins} logins",
        ]
        if self.locked:
            parts.append("locked: " + ", ".join(sorted(set(self.locked))))
        for role, action, reason in self.policy_actions:
            parts.append(f"{action} {role} ({reason})")
        return "; ".join(parts)


def parse_record(record: dict) -> LoginEvent | None:
    """The login event one jsonlog record stands for, if any."""
    role = record.get("user")
    at = record.get("timestamp")
    if not role or not at:
        return None
    host = record.get("remote_host")
    client = host if host and not host.startswith("[") else None  # "[local]": Unix socket
    message = record.get("message") or ""
    severity = record.get("error_severity")
    if severity == "FATAL" and record.get("state_code") == "28P01":
        return LoginEvent("failure", role, at, client, "password")
    if severity == "LOG" and message.startswith(AUTH_FAILURE_PREFIX):
        detail = _KINDS.get(message[len(AUTH_FAILURE_PREFIX) :].strip(), "password")
        return LoginEvent("failure", role, at, client, detail)
    if severity == "LOG" and message.startswith("connection authorized: "):
        return LoginEvent("login", role, at, client)
    return None


def parse_lines(data: bytes) -> Iterator[dict]:
    for raw in data.splitlines():
        if not raw.strip():
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(raw)
            if isinstance(record, dict):
                yield record


def _file_id(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}"


class Agent:
    """Reads one log directory and reports to one LandRec database."""

    def __init__(self, dsn: str, log_dir: Path | str) -> None:
        self.dsn = dsn
        self.log_dir = Path(log_dir).absolute()

    def _log_files(self) -> list[Path]:
        if not self.log_dir.is_dir():
            from app.errors import UserFacingError

            raise UserFacingError(f"log directory {self.log_dir} does not exist")
        files = [p for p in self.log_dir.glob("*.json") if p.is_file()]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def process_once(self) -> AgentReport:
        """Report everything new in the logs; one transaction per slice of the backlog."""
        report = AgentReport()
        while self._process_slice(report):
            pass
        return report

    def _process_slice(self, report: AgentReport) -> bool:
        """One transaction; True when a file had more than CHUNK_BYTES waiting."""
        more = False
        with psycopg.connect(self.dsn, connect_timeout=10) as conn:
            conn.execute("SET application_name = 'landrec-agent'")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            saved = {
                name: (file_id, offset)
                for name, file_id, offset in conn.execute(
                    "SELECT file_name, file_id, byte_offset FROM sys.agent_log_position"
                )
            }
            known = {r[0] for r in conn.execute("SELECT role_name FROM sys.account")}
            events: list[LoginEvent] = []
            positions: list[tuple[str, str, int]] = []
            for path in self._log_files():
                try:
                    st = path.stat()
                    file_id = _file_id(st)
                    old_id, offset = saved.get(str(path), (None, 0))
                    if old_id != file_id or offset > st.st_size:
                        offset = 0  # a new file under an old name, or truncated
                    if offset == st.st_size:
                        continue
                    with path.open("rb") as fh:
                        fh.seek(offset)
                        data = fh.read(CHUNK_BYTES)
                except FileNotFoundError:
                    continue  # removed by log rotation meanwhile
                end = data.rfind(b"\n") + 1  # a record still being written waits
                if end == 0:
                    continue
                for record in parse_lines(data[:end]):
                    report.records += 1
                    event = parse_record(record)
                    # Logins of roles without an account (the agent itself, the owner…)
                    # are none of our business; failures always are (spraying).
                    if event and (event.kind == "failure" or event.role in known):
                        events.append(event)
                positions.append((str(path), file_id, offset + end))
                more = more or (offset + end < st.st_size and len(data) == CHUNK_BYTES)
            for event in events:
                if event.kind == "failure":
                    outcome = conn.execute(
                        "SELECT admin.record_login_failure(%s, %s::timestamptz, %s::inet, %s)",
                        (event.role, event.at, event.client, event.detail),
                    ).fetchone()[0]
                    report.failures += 1
                else:
                    outcome = conn.execute(
                        "SELECT admin.record_login(%s, %s::timestamptz, %s::inet)",
                        (event.role, event.at, event.client),
                    ).fetchone()[0]
                    report.logins += 1
                report.outcomes.append((event.role, event.kind, outcome))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO sys.agent_log_position (file_name, file_id, byte_offset) "
                    "VALUES (%s, %s, %s) ON CONFLICT (file_name) DO UPDATE "
                    "SET file_id = EXCLUDED.file_id, byte_offset = EXCLUDED.byte_offset, "
                    "updated_at = now()",
                    positions,
                )
            # Forget files of this directory that rotation has removed.
            present = [str(p) for p in self._log_files()]
            conn.execute(
                "DELETE FROM sys.agent_log_position "
                "WHERE starts_with(file_name, %s) AND NOT file_name = ANY(%s)",
                (f"{self.log_dir}/", present),
            )
        return more

    def enforce_policies(self) -> list[tuple[str, str, str]]:
        with psycopg.connect(self.dsn, connect_timeout=10) as conn:
            conn.execute("SET application_name = 'landrec-agent'")
            rows = [tuple(r) for r in conn.execute("SELECT * FROM admin.enforce_policies()")]
            self._heartbeat(conn)
            return rows

    @property
    def name(self) -> str:
        return f"{socket.gethostname()}:{self.log_dir}"[:200]

    def _heartbeat(self, conn: psycopg.Connection) -> None:
        """Tell the reports this agent runs (login reports are complete only then). A
        store before migration 0018 has no heartbeat: the savepoint keeps the rest."""
        try:
            with conn.transaction():
                conn.execute("SELECT admin.agent_heartbeat(%s)", (self.name,))
        except psycopg.errors.UndefinedFunction:
            pass

    def run(
        self,
        interval: float = 2.0,
        policy_interval: float = 60.0,
        should_stop: Callable[[], bool] = lambda: False,
        echo: Callable[[str], None] = print,
    ) -> None:
        """Loop until ``should_stop()``; a database that is down is retried, not fatal."""
        next_policies = 0.0
        backoff = interval
        while not should_stop():
            try:
                report = self.process_once()
                if time.monotonic() >= next_policies:
                    report.policy_actions = self.enforce_policies()
                    next_policies = time.monotonic() + policy_interval
                if report.failures or report.policy_actions or report.locked:
                    echo(report.summary())
                backoff = interval
            except psycopg.OperationalError as exc:
                echo(f"database unavailable, retrying in {backoff:.0f} s: {exc}".strip())
                backoff = min(backoff * 2, 60.0)
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction):
                # A store started before its first 'landrec db migrate': wait for it.
                echo(f"store not migrated yet, retrying in {backoff:.0f} s")
                backoff = min(backoff * 2, 60.0)
            _sleep_unless(backoff, should_stop)


def _sleep_unless(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def stop_on_signals(signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> Callable[[], bool]:
    """A ``should_stop`` that turns true on SIGTERM/SIGINT (systemd stop, Ctrl-C)."""
    stopped = False

    def handler(signum, frame) -> None:
        nonlocal stopped
        stopped = True

    for sig in signals:
        signal.signal(sig, handler)
    return lambda: stopped


def echo_stderr(line: str) -> None:
    print(f"landrec-agent: {line}", file=sys.stderr, flush=True)
