"""A person's session with a LandRec server: sign-in, account, password, TOTP (Qt-free).

:func:`sign_in` opens the person's own connection (their LOGIN role, so the database's
rights and row-level security apply to everything the client shows), reads
``sys.my_account()`` and returns a :class:`Session`. The session keeps that connection
open: the administrator's second factor (``sys.verify_totp``) holds for the connection
it was verified on, so administration runs through :meth:`Session.run`. Short reads
(summary, plugins' queries) open their own connections with :attr:`Session.dsn`.

A dropped link (see docs/wan.md): when the connection fails under a query, the session
goes offline, tells its observers (:meth:`Session.add_state_listener`: ``connected`` /
``offline`` / ``reconnecting``), reports the work in flight as failed
(:class:`LinkDropped`), and reconnects on a background thread — once at once (a restarted
server, a killed backend), then after 0.5 s, 1 s, 2 s … capped at 30 s. Nothing waits on
the UI thread; the window keeps its view and selection and re-requests them on
``connected``.

Failures come back as :class:`SignInError` with a ``kind`` the UI turns into a clear
message (wrong password, locked account, unreachable server, TLS failure …), never as
raw libpq text alone.

The password (see docs/client-security.md): kept in this object's memory while the
session may need to open a connection with it (summary reads, plugins, reconnecting
after a network drop); dropped while the idle lock is engaged and when the session
closes; never logged, never in ``repr()``, never written to disk.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app.profiles import Profile
from app.store.summary import StoreUnavailable

T = TypeVar("T")

#: Seconds allowed to reach the server and authenticate.
CONNECT_TIMEOUT_S = 10
#: Server-side limit for one statement on the person's connection (startup option).
STATEMENT_TIMEOUT_MS = 30_000
#: Idle minutes before the lock when the server does not say (TCVN 14423: 15, admins 5).
DEFAULT_IDLE_MINUTES = 15
ADMIN_IDLE_MINUTES = 5
#: Reconnect back-off after the first (immediate) retry: 0.5 s, 1 s, 2 s … capped.
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
#: TCP keepalives: a link that dies silently (no RST, as WAN links do) is noticed in
#: ≈ 30 s instead of the kernel's retransmission timeout of many minutes.
_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


class LinkState:
    """Connection states the UI shows (status bar)."""

    CONNECTED = "connected"
    OFFLINE = "offline"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class StateChange:
    """One notification to the session's observers.

    ``attempt`` counts reconnect attempts since the link dropped; ``retry_in_s`` is the
    wait before the next one after a failed attempt (None otherwise); ``error`` is the
    first line of why the link is down or the attempt failed; ``gave_up`` means no more
    automatic attempts (the server refused the credentials — DESIGN P5 — or the password
    was dropped by the idle lock: unlocking resumes).
    """

    state: str
    attempt: int = 0
    retry_in_s: float | None = None
    error: str = ""
    gave_up: bool = False


class LinkDropped(psycopg.OperationalError):
    """The work failed because the link to the server is down (it was in flight when the
    link dropped, or the session is offline). Re-request it after ``connected``."""


def is_link_error(exc: BaseException) -> bool:
    """Is ``exc`` a lost or unreachable server (rather than an error in the work)?"""
    if isinstance(exc, LinkDropped):
        return True
    if isinstance(exc, SignInError):
        return exc.kind in (SignInError.UNREACHABLE, SignInError.TIMEOUT)
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    # libpq's own failures carry no SQLSTATE; 08 = connection exception; 57P01-3 = the
    # server shutting down or not accepting connections yet.
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


class SignInError(Exception):
    """Signing in (or re-checking the password) failed; ``kind`` says why.

    ``detail`` is the server's or libpq's message: English from libpq, Vietnamese from
    LandRec's own functions (``server_message`` is True then, and the UI shows it as is).
    """

    WRONG_PASSWORD = "wrong_password"
    LOCKED = "locked"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    NO_DATABASE = "no_database"
    NO_ACCESS = "no_access"
    NO_ACCOUNT = "no_account"
    POLICY = "policy"  # new password refused by the server's policy
    OLD_PASSWORD_WRONG = "old_password_wrong"
    TOTP = "totp"  # code refused or malformed
    SERVER = "server"  # anything else

    def __init__(
        self, kind: str, detail: str = "", sqlstate: str | None = None, server_message=False
    ) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.sqlstate = sqlstate
        self.server_message = server_message

    @property
    def auth_failed(self) -> bool:
        """The server refused the credentials: never retry automatically (DESIGN P5)."""
        return self.kind in (self.WRONG_PASSWORD, self.LOCKED, self.OLD_PASSWORD_WRONG)


# libpq's connection-phase messages carry no SQLSTATE in psycopg: classify by text. The
# server sends them in its lc_messages; the patterns are PostgreSQL's English ones, and
# anything unmatched keeps its own text (kind SERVER).
_CONNECT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (SignInError.LOCKED, re.compile(r"is not permitted to log in", re.I)),
    (
        SignInError.WRONG_PASSWORD,
        re.compile(
            r"password authentication failed|authentication failed for user|"
            r"no password supplied|password is expired",
            re.I,
        ),
    ),
    (SignInError.NO_DATABASE, re.compile(r"database \S+ does not exist", re.I)),
    (
        SignInError.NO_ACCESS,
        re.compile(r"no pg_hba\.conf entry|permission denied for database", re.I),
    ),
    (
        SignInError.TLS,
        re.compile(r"SSL|TLS|certificate|sslrootcert|root cert|does not match host name", re.I),
    ),
    (
        SignInError.UNREACHABLE,
        re.compile(
            r"connection refused|could not connect|failed to resolve host|"
            r"could not translate host name|no route to host|network is unreachable|"
            r"server closed the connection|connection reset|timeout expired",
            re.I,
        ),
    ),
)


def classify_connect_error(exc: BaseException) -> SignInError:
    """Turn a connection failure into a :class:`SignInError` with the right kind."""
    if isinstance(exc, SignInError):
        return exc
    if isinstance(exc, psycopg.errors.ConnectionTimeout):
        return SignInError(SignInError.TIMEOUT, str(exc))
    text = " ".join(str(exc).split()) or type(exc).__name__
    # "connection failed: connection to server at "h", port p failed: FATAL:  …" → "…"
    detail = re.sub(r"^connection failed:\s*", "", text)
    detail = re.sub(r"^connection to server (at|on) .*? failed:\s*", "", detail)
    detail = re.sub(r"^FATAL:\s*", "", detail) or text
    for kind, pattern in _CONNECT_PATTERNS:
        if pattern.search(text):
            return SignInError(kind, detail)
    return SignInError(SignInError.SERVER, detail)


def classify_sql_error(exc: psycopg.Error) -> SignInError:
    """An error raised by a LandRec function during sign-in, password change or TOTP."""
    state = getattr(exc, "sqlstate", None)
    diag = getattr(exc, "diag", None)
    message = (diag.message_primary if diag is not None else None) or str(exc)
    if state == "28000":
        return SignInError(SignInError.LOCKED, message, state, server_message=True)
    if state == "28P01":
        return SignInError(SignInError.OLD_PASSWORD_WRONG, message, state, server_message=True)
    if state in ("22023", "23514"):
        return SignInError(SignInError.POLICY, message, state, server_message=True)
    if state == "42501":
        return SignInError(SignInError.NO_ACCOUNT, message, state)
    if isinstance(exc, psycopg.OperationalError) and state is None:
        return classify_connect_error(exc)
    return SignInError(SignInError.SERVER, message, state)


@dataclass(frozen=True)
class Account:
    """One row of ``sys.my_account()``: who signed in, and what the client may offer."""

    role_name: str
    full_name: str
    unit: str
    kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # subsystem → kinds
    whole_province: bool = False
    must_change_password: bool = False
    is_administrator: bool = False
    mfa_verified: bool = False
    idle_lock_minutes: int = DEFAULT_IDLE_MINUTES

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Account:
        minutes = row.get("idle_lock_minutes")
        admin = bool(row.get("is_administrator"))
        if not minutes or int(minutes) <= 0:
            minutes = ADMIN_IDLE_MINUTES if admin else DEFAULT_IDLE_MINUTES
        return cls(
            role_name=str(row["role_name"]),
            full_name=str(row.get("full_name") or row["role_name"]),
            unit=str(row.get("unit") or ""),
            kinds=_parse_kinds(row.get("kinds")),
            whole_province=bool(row.get("whole_province")),
            must_change_password=bool(row.get("must_change_password")),
            is_administrator=admin,
            mfa_verified=bool(row.get("mfa_verified")),
            idle_lock_minutes=int(minutes),
        )


def _parse_kinds(value: Any) -> dict[str, tuple[str, ...]]:
    """Accept {"cadastral": ["viewer", …]}, [{"subsystem": …, "kind": …}] or ["sub:kind"]."""
    out: dict[str, set[str]] = {}

    def add(subsystem: object, kind: object) -> None:
        if isinstance(subsystem, str) and isinstance(kind, str):
            out.setdefault(subsystem, set()).add(kind)

    if isinstance(value, Mapping):
        for subsystem, kinds in value.items():
            for kind in [kinds] if isinstance(kinds, str) else (kinds or []):
                add(subsystem, kind)
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        for item in value:
            if isinstance(item, Mapping):
                add(item.get("subsystem"), item.get("kind"))
            elif isinstance(item, str) and ":" in item:
                add(*item.split(":", 1))
    return {k: tuple(sorted(v)) for k, v in out.items()}


#: Right levels the plugins ask for (app.plugin.requires_right), by account kind.
_LEVELS = {
    "viewer": ("read",),
    "editor": ("read", "write"),
    "approver": ("read", "approve"),
    "administrator": ("read", "admin"),
}


def client_rights(account: Account, prefixes: Mapping[str, str]) -> frozenset[str]:
    """The ``"<prefix>.<level>"`` rights whose menu entries the client enables.

    ``prefixes`` maps a plugin id (= the database's subsystem code) to its right prefix
    (``{"cadastral": "cad", "admin": "sys", …}``). Only greys out entries: the database
    checks every call itself. ``*.admin`` needs the TOTP second factor of this session.
    Import/export has no subsystem of its own: export for everyone with a right, import
    for editors.
    """
    rights: set[str] = set()
    any_editor = False
    for subsystem, kinds in account.kinds.items():
        prefix = prefixes.get(subsystem)
        for kind in kinds:
            any_editor |= kind == "editor"
            for level in _LEVELS.get(kind, ()):
                if level == "admin" and not account.mfa_verified:
                    continue
                if prefix:
                    rights.add(f"{prefix}.{level}")
    io = prefixes.get("import_export")
    if io and account.kinds:
        rights.add(f"{io}.export")
        if any_editor:
            rights.add(f"{io}.import")
    return frozenset(rights)


_NO_ACCOUNT = re.compile(r"không có tài khoản|has no (LandRec )?account", re.I)

_ACCOUNT_SQL = (
    "SELECT role_name, full_name, unit, kinds, whole_province, must_change_password, "
    "is_administrator, mfa_verified, idle_lock_minutes FROM sys.my_account()"
)


class Session:
    """The signed-in person's connection parameters, account and own connection.

    Thread-safe: the UI calls it from worker threads; one lock serialises the use of the
    persistent connection.
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        password: str | None = None,
        *,
        profile: Profile | None = None,
        account: Account | None = None,
        connect_timeout: int = CONNECT_TIMEOUT_S,
    ) -> None:
        params = dict(params)
        if password is None:
            password = params.pop("password", None)
        else:
            params.pop("password", None)
        self._params = params
        self._password = password
        self.profile = profile
        self.account = account
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        self._lock = threading.RLock()
        #: Incremented on each new persistent connection (a reconnect drops the TOTP
        #: verification; the window re-reads :attr:`account` when this changes).
        self.generation = 0
        # The link (see the module doc). ``_down`` is guarded by ``_lock``.
        self.backoff_first_s = BACKOFF_FIRST_S
        self.backoff_cap_s = BACKOFF_CAP_S
        self._state: str | None = None
        self._down = False
        self._gave_up = False
        self._attempt = 0
        self._next_attempt_at = 0.0
        self._last_error = ""
        self._closed = False
        self._password_forgotten = False
        self._listeners: list[Callable[[StateChange], None]] = []
        self._wake = threading.Event()
        self._retry_thread: threading.Thread | None = None

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_dsn(cls, dsn: str) -> Session:
        """A session over a DSN given as is (``--dsn``), not signed in through the dialog."""
        return cls(conninfo_to_dict(dsn))

    def __repr__(self) -> str:  # never the password
        return f"Session({self.display_dsn!r}, account={self.account is not None})"

    # -- what it connects to -------------------------------------------------------------------
    @property
    def user(self) -> str:
        return str(self._params.get("user") or "")

    @property
    def dsn(self) -> str:
        """Conninfo for a new connection as this person (with the password while held)."""
        if self._password is None:
            return make_conninfo(**self._params)
        return make_conninfo(**self._params, password=self._password)

    @dsn.setter
    def dsn(self, dsn: str) -> None:
        """Point the session at another DSN (tests; a store that moved)."""
        params = conninfo_to_dict(dsn)
        with self._lock:
            self._password = params.pop("password", None)
            self._params = params
            self._close_conn()
            self._down = self._gave_up = False  # a new target: its first use connects

    @property
    def display_dsn(self) -> str:
        return make_conninfo(**self._params)

    @property
    def has_password(self) -> bool:
        return self._password is not None

    def forget_password(self) -> None:
        """Drop the password (idle lock): nothing can open a connection until unlocked
        (reconnect attempts pause too: an attempt without it would be a failed login)."""
        self._password = None
        self._password_forgotten = True

    def remember_password(self, password: str) -> None:
        self._password = password
        self._password_forgotten = False
        with self._lock:
            if self._down and self._gave_up:  # unlocked while offline: try again now
                self._gave_up = False
                self._attempt = 0
                self._schedule(0.0)

    # -- the link: state and observers ----------------------------------------------------
    @property
    def state(self) -> str | None:
        """:class:`LinkState` value; None before the first connection."""
        return self._state

    @property
    def offline(self) -> bool:
        return self._down

    def add_state_listener(self, fn: Callable[[StateChange], None]) -> Callable[[], None]:
        """Call ``fn(change)`` on every link state change; returns a function that removes it.

        ``fn`` runs on the thread that saw the change (a worker or the reconnect thread),
        never necessarily the UI thread: a Qt observer emits a queued signal and returns.
        It must not block.
        """
        self._listeners.append(fn)

        def remove() -> None:
            if fn in self._listeners:
                self._listeners.remove(fn)

        return remove

    def _notify(self, change: StateChange) -> None:
        self._state = change.state
        for fn in list(self._listeners):
            try:
                fn(change)
            except Exception:  # an observer's bug must not break the connection logic
                import traceback

                traceback.print_exc()

    def report_link_error(self, exc: BaseException) -> bool:
        """Work on another connection of this person (the canvas' reads) failed: if the
        link is the cause, go offline and start reconnecting. True if it was the link."""
        if not is_link_error(exc) or isinstance(exc, LinkDropped):
            return isinstance(exc, LinkDropped)
        with self._lock:
            self._close_conn()
            self._go_offline(exc)
        return True

    def reconnect_now(self) -> None:
        """Skip the rest of the current back-off wait (a "retry now" button)."""
        with self._lock:
            if self._down:
                self._gave_up = False
                self._schedule(0.0)

    def _go_offline(self, exc: BaseException) -> None:
        """Under ``_lock``: mark the link down, tell observers, start the retry thread."""
        self._last_error = _first_line(str(exc) or type(exc).__name__)
        if self._down:
            return
        self._down = True
        self._gave_up = False
        self._attempt = 0
        self._notify(StateChange(LinkState.OFFLINE, error=self._last_error))
        self._schedule(0.0)  # one immediate retry, then back off

    def _schedule(self, delay: float) -> None:
        self._next_attempt_at = time.monotonic() + delay
        if self._retry_thread is None or not self._retry_thread.is_alive():
            self._retry_thread = threading.Thread(
                target=self._retry_loop, name="landrec-reconnect", daemon=True
            )
            self._retry_thread.start()
        self._wake.set()

    def _retry_loop(self) -> None:
        while True:
            self._wake.clear()
            if self._closed or not self._down or self._gave_up:
                return
            wait = self._next_attempt_at - time.monotonic()
            if wait > 0:
                self._wake.wait(wait)
                continue
            self._try_reconnect()

    def _try_reconnect(self) -> bool:
        """One attempt, under ``_lock`` (a query waiting for the lock then finds the new
        connection). True when connected."""
        with self._lock:
            if not self._down:
                return True
            if self._closed:
                return False
            if self._password_forgotten:  # idle lock: wait for the unlock
                self._gave_up = True
                self._notify(
                    StateChange(
                        LinkState.OFFLINE, self._attempt, error=self._last_error, gave_up=True
                    )
                )
                return False
            self._attempt += 1
            self._notify(StateChange(LinkState.RECONNECTING, attempt=self._attempt))
            try:
                self.open(read_account=self.account is not None)
            except SignInError as exc:
                self._last_error = _first_line(exc.detail or exc.kind)
                if exc.auth_failed:  # never guess passwords against the lockout (P5)
                    self._gave_up = True
                    self._notify(
                        StateChange(
                            LinkState.OFFLINE,
                            attempt=self._attempt,
                            error=self._last_error,
                            gave_up=True,
                        )
                    )
                    return False
                delay = min(
                    self.backoff_cap_s, self.backoff_first_s * 2 ** max(0, self._attempt - 1)
                )
                self._next_attempt_at = time.monotonic() + delay
                self._notify(
                    StateChange(
                        LinkState.RECONNECTING,
                        attempt=self._attempt,
                        retry_in_s=delay,
                        error=self._last_error,
                    )
                )
                return False
            self._down = False
            self._notify(StateChange(LinkState.CONNECTED, attempt=self._attempt))
            return True

    # -- connections -----------------------------------------------------------------------------
    def connect(self, password: str | None = None) -> psycopg.Connection:
        """A new autocommit connection as this person; raises :class:`SignInError`."""
        pw = self._password if password is None else password
        params = dict(self._params)
        params.setdefault("connect_timeout", self.connect_timeout)
        params.setdefault("application_name", "landrec")
        for key, value in _KEEPALIVE.items():
            params.setdefault(key, value)
        ours = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
        params["options"] = f"{params['options']} {ours}" if params.get("options") else ours
        if pw is not None:
            params["password"] = pw
        try:
            return psycopg.connect(**params, autocommit=True)
        except psycopg.Error as exc:
            raise classify_connect_error(exc) from None  # no chained text with params
        except OSError as exc:
            raise SignInError(SignInError.UNREACHABLE, str(exc)) from None

    def open(self, *, read_account: bool = True, require_account: bool = True) -> Session:
        """Open the persistent connection and read the account (sign-in).

        ``require_account=False`` accepts a role without a LandRec account (the store's
        owner, reached with a DSN given as is): the session then has no account.
        """
        with self._lock:
            self._closed = False
            self._close_conn()
            conn = self.connect()
            try:
                if read_account:
                    try:
                        self.account = read_my_account(conn)
                    except SignInError as exc:
                        if require_account or exc.kind != SignInError.NO_ACCOUNT:
                            raise
                        self.account = None
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self.generation += 1
            if not self._down and self._state != LinkState.CONNECTED:
                self._notify(StateChange(LinkState.CONNECTED))
        return self

    def run(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """Run ``fn(conn)`` on the person's own connection (reopened if it was lost).

        A reopened connection has lost the TOTP verification: the account is re-read.
        If the link drops under ``fn`` the session goes offline and this raises
        :class:`LinkDropped` (the work is reported failed, never retried behind the
        caller's back). While offline it raises :class:`LinkDropped` at once, unless a
        reconnect attempt is due: then this call makes it.
        """
        with self._lock:
            if self._down:
                due = not self._gave_up and time.monotonic() >= self._next_attempt_at
                if not (due and self._try_reconnect()):
                    raise LinkDropped(f"offline: {self._last_error}")
            elif self._conn is None or self._conn.closed:
                self._close_conn()
                try:
                    self.open(read_account=self.account is not None)
                except SignInError as exc:
                    if is_link_error(exc) and self._state is not None:
                        self._go_offline(exc)  # was connected before: the link is down
                    raise
            conn = self._conn
            assert conn is not None
            try:
                return fn(conn)
            except psycopg.OperationalError as exc:
                if not (conn.closed or conn.broken) or not is_link_error(exc):
                    raise
                self._close_conn()
                self._go_offline(exc)
                raise LinkDropped(_first_line(str(exc) or type(exc).__name__)) from None

    def ping(self) -> str:
        """``SELECT session_user`` on the own connection; ``user@host:port``.

        Raises :class:`~app.store.summary.StoreUnavailable` (``auth_failed`` when the
        server refused the credentials: the caller must stop re-trying, DESIGN P5).
        """

        def query(conn: psycopg.Connection) -> str:
            (user,) = conn.execute("SELECT session_user").fetchone() or ("?",)
            host = conn.info.host
            return f"{user}@{'localhost' if host.startswith('/') else host}:{conn.info.port}"

        try:
            return self.run(query)
        except SignInError as exc:
            raise StoreUnavailable(
                _first_line(exc.detail or exc.kind), auth_failed=exc.auth_failed
            ) from None
        except psycopg.Error as exc:
            with self._lock:
                self._close_conn()  # reopened on the next call
            raise StoreUnavailable(_first_line(str(exc) or type(exc).__name__)) from None

    def fetch_summary(self):
        """The store summary as this person sees it (row-level security applies)."""
        from app.store.summary import fetch_summary

        return fetch_summary(self.dsn)

    def refresh_account(self) -> Account | None:
        if self.account is None:
            return None
        self.account = self.run(read_my_account)
        return self.account

    def check_password(self, password: str) -> None:
        """Open (and close) a new connection with ``password`` — a real login attempt,
        so a wrong password counts as a failed login on the server. Raises SignInError."""
        self.connect(password).close()

    # -- account functions of the server ---------------------------------------------------
    def change_password(self, old: str, new: str) -> None:
        """``sys.change_password`` on the own connection, then reconnect with ``new``.

        Raises SignInError: POLICY with the server's Vietnamese message, OLD_PASSWORD_WRONG.
        """
        with self._lock:
            try:
                self.run(lambda c: c.execute("SELECT sys.change_password(%s, %s)", (old, new)))
            except psycopg.Error as exc:
                raise classify_sql_error(exc) from None
            self._password = new
            self.open(read_account=self.account is not None)

    def verify_totp(self, code: str) -> bool:
        """``sys.verify_totp`` on the own connection; True unlocks administration here."""
        with self._lock:
            try:
                ok = self.run(lambda c: c.execute("SELECT sys.verify_totp(%s)", (code,)).fetchone())
            except psycopg.Error as exc:
                error = classify_sql_error(exc)
                if error.kind in (SignInError.POLICY, SignInError.LOCKED):
                    error.kind = SignInError.TOTP  # e.g. no secret issued: the server says so
                raise error from None
            if ok and ok[0]:
                self.refresh_account()
                return True
            return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._down = False
            self._close_conn()
        self._wake.set()  # the retry thread, if any, ends
        self._password = None

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def read_my_account(conn: psycopg.Connection) -> Account | None:
    """``sys.my_account()`` as this connection's person; None on a store without it.

    Raises SignInError: LOCKED (28000 with the server's reason), NO_ACCOUNT.
    """
    from psycopg.rows import dict_row

    try:
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(_ACCOUNT_SQL).fetchone()
    except psycopg.errors.UndefinedFunction:
        return None  # a store from before accounts: the database alone decides
    except psycopg.Error as exc:
        error = classify_sql_error(exc)
        # The server answers 28000 both for "no account" and (in principle) for a locked
        # one; a locked role cannot log in at all (NOLOGIN), so tell them apart by text.
        if error.kind == SignInError.LOCKED and _NO_ACCOUNT.search(error.detail):
            error.kind = SignInError.NO_ACCOUNT
        raise error from None
    if row is None:
        raise SignInError(SignInError.NO_ACCOUNT, "sys.my_account() returned no row")
    return Account.from_row(row)


def sign_in(
    target: Profile | Mapping[str, Any],
    user: str,
    password: str,
    *,
    connect_timeout: int = CONNECT_TIMEOUT_S,
    require_account: bool = True,
) -> Session:
    """Connect as ``user`` and read the account. Raises :class:`SignInError`.

    ``require_account=False``: a role without an account (the owner) signs in too.
    """
    if not user:
        raise SignInError(SignInError.WRONG_PASSWORD, "no user name")
    if isinstance(target, Profile):
        params, profile = target.conninfo(user), target
    else:
        params, profile = {**target, "user": user}, None
    session = Session(params, password, profile=profile, connect_timeout=connect_timeout)
    return session.open(require_account=require_account)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
