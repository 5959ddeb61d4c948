"""Server profiles: where the desktop client signs in (Qt-free).

A profile names one LandRec server: host, port, database, TLS mode and CA file, plus the
last user name signed in there (a convenience, not a secret). Profiles live in
``<config dir>/profiles.json`` (0600, directory 0700), where the config dir is
``$LANDREC_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/landrec``, else ``~/.config/landrec``.

**Passwords are never stored**: :class:`Profile` has no password field, and
:meth:`Profile.conninfo` only adds one to the parameters handed to libpq in memory.

TLS: a remote profile must verify the server (``verify-full``, the default, or
``verify-ca``); only the built-in profile of the local store, which listens on 127.0.0.1
alone, may connect without TLS. An empty CA file means the system's trust store
(``sslrootcert=system``, libpq ≥ 16).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from app.errors import UserFacingError

#: Name of the built-in profile of the local demo store.
DEMO_PROFILE_NAME = "Máy này (demo)"

#: libpq sslmode values a remote profile may use: both check the server's certificate.
REMOTE_TLS_MODES = ("verify-full", "verify-ca")
#: Every sslmode libpq knows; only the local demo profile may use the weaker ones.
TLS_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

#: The demo clerk that ``landrec demo-accounts`` creates in the local demo store, with a
#: fixed, documented password (demo store only; ``landrec demo`` signs in with it).
DEMO_CLERK = "demo_clerk"
_DEMO_CLERK_PASSWORD = "Demo-Clerk-2026!"

DEFAULT_PORT = 5432
DEFAULT_DATABASE = "landrec"
PROFILES_FILE = "profiles.json"
_FORMAT = 1
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-:]*[A-Za-z0-9])?$")  # names, IPv4, IPv6
_NAME_MAX = 80


class ProfileError(UserFacingError):
    """A profile is malformed (bad host, port, TLS mode …); ``str()`` says which field."""

    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.field_name = field_name


def default_config_dir() -> Path:
    env = os.environ.get("LANDREC_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "landrec"


@dataclass(frozen=True)
class Profile:
    name: str
    host: str
    port: int = DEFAULT_PORT
    database: str = DEFAULT_DATABASE
    tls_mode: str = "verify-full"
    ca_file: str | None = None
    last_user: str | None = None
    #: The built-in profile of the local store (not editable; its address comes from the
    #: store's store.json each time the profiles are loaded).
    builtin: bool = field(default=False, compare=False)

    def validate(self) -> Profile:
        """Return self, or raise :class:`ProfileError` naming the bad field."""
        name = self.name.strip()
        if not name or len(name) > _NAME_MAX:
            raise ProfileError(f"profile name must be 1–{_NAME_MAX} characters", "name")
        if not _HOST.match(self.host) or len(self.host) > 253:
            raise ProfileError(f"host {self.host!r} is not a host name or IP address", "host")
        if not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise ProfileError(f"port {self.port!r} is not between 1 and 65535", "port")
        if not self.database or len(self.database) > 63 or "\x00" in self.database:
            raise ProfileError("database name must be 1–63 characters", "database")
        if self.tls_mode not in TLS_MODES:
            raise ProfileError(f"unknown TLS mode {self.tls_mode!r}", "tls_mode")
        if not self.builtin and self.tls_mode not in REMOTE_TLS_MODES:
            # A plain or unverified connection to a remote server lets anyone on the path
            # read land records or pose as the server.
            raise ProfileError(
                f"TLS mode {self.tls_mode!r} does not verify the server; remote profiles "
                f"use {' or '.join(REMOTE_TLS_MODES)}",
                "tls_mode",
            )
        if self.ca_file and not Path(self.ca_file).expanduser().is_file():
            raise ProfileError(f"CA file {self.ca_file} does not exist", "ca_file")
        return self

    def conninfo(self, user: str, password: str | None = None, **extra: object) -> dict:
        """libpq connection parameters (in memory only) for ``user`` on this server."""
        params: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": user,
            "sslmode": self.tls_mode,
            "application_name": "landrec",
        }
        if self.tls_mode in ("verify-ca", "verify-full"):
            params["sslrootcert"] = (
                str(Path(self.ca_file).expanduser()) if self.ca_file else "system"
            )
        if password is not None:
            params["password"] = password
        params.update(extra)
        return params

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}/{self.database}"

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("builtin")
        return data

    @classmethod
    def from_json(cls, data: dict) -> Profile:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "builtin"}
        try:
            return cls(**known)
        except TypeError as exc:
            raise ProfileError(f"bad profile entry: {exc}") from exc


def demo_clerk_password() -> str:
    """$LANDREC_DEMO_PASSWORD, else the password documented for the demo clerk."""
    env = os.environ.get("LANDREC_DEMO_PASSWORD")
    if env:
        return env
    try:  # the published table of ``landrec demo-accounts`` (app/security/accounts.py)
        from app.security.accounts import DEMO_PASSWORDS

        return str(DEMO_PASSWORDS[DEMO_CLERK])
    except (ImportError, KeyError):
        return _DEMO_CLERK_PASSWORD


def demo_profile(store_dir: Path | str | None = None) -> Profile | None:
    """The built-in profile of the local store, or None when there is no local store."""
    from app.config import default_store_dir
    from app.store.local import LISTEN_HOST, LocalStore

    store = LocalStore(Path(store_dir) if store_dir else default_store_dir())
    if not store.is_initialised():
        return None
    try:
        meta = store.meta()
    except (OSError, ValueError, UserFacingError):
        return None
    # The local store listens on 127.0.0.1 only: nobody else is on the path.
    return Profile(
        name=DEMO_PROFILE_NAME,
        host=LISTEN_HOST,
        port=int(meta["port"]),
        database=str(meta.get("database", DEFAULT_DATABASE)),
        tls_mode="disable",
        builtin=True,
    )


class ProfileStore:
    """The profiles of this OS user: the built-in demo profile first, then saved ones."""

    def __init__(self, config_dir: Path | str | None = None, store_dir: Path | str | None = None):
        self.config_dir = Path(config_dir) if config_dir else default_config_dir()
        self.store_dir = store_dir
        self.profiles: list[Profile] = []
        self.last_profile: str | None = None

    @property
    def path(self) -> Path:
        return self.config_dir / PROFILES_FILE

    def load(self) -> ProfileStore:
        saved: list[Profile] = []
        demo_user: str | None = None
        data: dict = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserFacingError(f"cannot read {self.path}: {exc}") from exc
        for entry in data.get("profiles", []):
            if not isinstance(entry, dict):
                continue
            if entry.get("name") == DEMO_PROFILE_NAME:
                demo_user = entry.get("last_user")
                continue
            # A hand-edited bad entry is skipped, not fatal: the others stay usable.
            with contextlib.suppress(ProfileError):
                saved.append(Profile.from_json(entry).validate())
        demo = demo_profile(self.store_dir)
        if demo is not None:
            saved.insert(0, replace(demo, last_user=demo_user))
        self.profiles = saved
        self.last_profile = data.get("last_profile")
        return self

    def get(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def default(self) -> Profile | None:
        """The profile used last, else the first one."""
        return (self.get(self.last_profile) if self.last_profile else None) or (
            self.profiles[0] if self.profiles else None
        )

    def put(self, profile: Profile, old_name: str | None = None) -> None:
        """Add or replace (by ``old_name`` or name) a saved profile; not the built-in one."""
        if profile.builtin or profile.name == DEMO_PROFILE_NAME:
            raise ProfileError(f"'{DEMO_PROFILE_NAME}' is built in and cannot be edited", "name")
        profile.validate()
        key = old_name or profile.name
        clash = self.get(profile.name)
        if clash is not None and clash.name != key:
            raise ProfileError(f"a profile named {profile.name!r} already exists", "name")
        for i, p in enumerate(self.profiles):
            if p.name == key:
                self.profiles[i] = profile
                break
        else:
            self.profiles.append(profile)

    def remove(self, name: str) -> None:
        self.profiles = [p for p in self.profiles if p.name != name or p.builtin]

    def remember_sign_in(self, profile_name: str, user: str) -> None:
        """Record the profile and user name used (never the password) and save."""
        for i, p in enumerate(self.profiles):
            if p.name == profile_name:
                self.profiles[i] = replace(p, last_user=user)
        self.last_profile = profile_name
        self.save()

    def save(self) -> None:
        entries = []
        for p in self.profiles:
            if p.builtin:  # only who signed in there; the address comes from store.json
                if p.last_user:
                    entries.append({"name": p.name, "last_user": p.last_user})
            else:
                entries.append(p.to_json())
        body = {"format": _FORMAT, "last_profile": self.last_profile, "profiles": entries}
        _write_private(self.path, json.dumps(body, ensure_ascii=False, indent=2) + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write a 0600 file atomically inside a 0700 directory."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)  # whatever the umask
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
