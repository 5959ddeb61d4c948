"""TLS: the local store serves it (LocalStore.enable_tls), the client verifies it.

A throw-away CA and certificates are made with the openssl command line: the server's
certificate names 127.0.0.1 and localhost; a second CA that signed nothing of ours; a
certificate for another host name. ``verify-full`` must connect with the right CA (and
``pg_stat_ssl`` must say so), and refuse the wrong CA and the wrong host name with the
client's clear TLS message. The same store then serves the headless ``landrec run`` and
``landrec demo`` sign-ins.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg.sql
import pytest

from app.config import REPO_ROOT
from app.errors import UserFacingError
from app.profiles import DEMO_CLERK, Profile, ProfileStore
from app.session import SignInError, sign_in
from app.store.local import LocalStore

pytestmark = [
    pytest.mark.store,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path
    other_host_cert: Path
    other_host_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(d: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip


def _make_server_cert(d: Path, ca: str, name: str, san: str) -> None:
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d,
    )  # fmt: skip
    (d / f"{name}.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
        cwd=d,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    _make_ca(d, "landrec-test-ca")
    _make_ca(d, "someone-else-ca")
    _make_server_cert(d, "landrec-test-ca", "server", "IP:127.0.0.1,DNS:localhost")
    _make_server_cert(d, "landrec-test-ca", "other", "DNS:db.other.example")
    return Pki(
        ca=d / "landrec-test-ca.crt",
        cert=d / "server.crt",
        key=d / "server.key",
        other_ca=d / "someone-else-ca.crt",
        other_host_cert=d / "other.crt",
        other_host_key=d / "other.key",
    )


@pytest.fixture(scope="module")
def tls_store(store_factory, pki) -> Iterator[LocalStore]:
    """A store of its own (TLS changes must not touch the session's), migrated, TLS on."""
    from app.store.migrate import migrate

    store = store_factory()
    store.init()
    store.start()
    migrate(store.dsn())
    store.enable_tls(pki.cert, pki.key)
    yield store


def _profile(store: LocalStore, ca: Path | None, host: str = "127.0.0.1") -> Profile:
    return Profile(
        name="Máy chủ TLS thử nghiệm",
        host=host,
        port=store.meta()["port"],
        database="landrec",
        tls_mode="verify-full",
        ca_file=str(ca) if ca else None,
    ).validate()


def _owner(store: LocalStore) -> tuple[str, str]:
    meta = store.meta()
    return meta["superuser"], meta["password"]


def _tls_state(session) -> tuple[bool, str]:
    row = session.run(
        lambda c: c.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    )
    return bool(row[0]), row[1]


def test_verify_full_with_the_right_ca_connects(tls_store, pki):
    user, password = _owner(tls_store)
    for host in ("127.0.0.1", "localhost"):  # both names are in the certificate
        session = sign_in(_profile(tls_store, pki.ca, host), user, password, require_account=False)
        try:
            ssl, version = _tls_state(session)
            assert ssl is True and version in ("TLSv1.2", "TLSv1.3")
        finally:
            session.close()
    assert tls_store.tls_enabled
    conf = (tls_store.pgdata / "landrec.conf").read_text()
    assert "ssl = on" in conf and "ssl_min_protocol_version = 'TLSv1.2'" in conf
    assert oct((tls_store.pgdata / "server.key").stat().st_mode & 0o777) == "0o600"


def test_wrong_ca_fails_with_the_tls_message(tls_store, pki, qapp):
    from app.ui.i18n import install_language
    from app.ui.login import sign_in_message

    user, password = _owner(tls_store)
    profile = _profile(tls_store, pki.other_ca)
    with pytest.raises(SignInError) as failed:
        sign_in(profile, user, password, require_account=False)
    assert failed.value.kind == SignInError.TLS
    assert "certificate verify failed" in failed.value.detail
    assert not failed.value.auth_failed  # not a login failure: nothing to count
    install_language(qapp, "vi")
    text = sign_in_message(failed.value, profile.address)
    assert text.startswith(f"Không thiết lập được kết nối an toàn (TLS) tới {profile.address}")


def test_certificate_for_another_host_name_fails(tls_store, pki):
    user, password = _owner(tls_store)
    tls_store.enable_tls(pki.other_host_cert, pki.other_host_key)  # signed by the right CA
    try:
        with pytest.raises(SignInError) as failed:
            sign_in(_profile(tls_store, pki.ca), user, password, require_account=False)
        assert failed.value.kind == SignInError.TLS
        assert "does not match host name" in failed.value.detail
    finally:
        tls_store.enable_tls(pki.cert, pki.key)
    session = sign_in(
        _profile(tls_store, pki.ca), user, password, require_account=False
    )  # back to the right one
    session.close()


def test_tls_survives_a_restart_and_bad_keys_change_nothing(tls_store, pki):
    with pytest.raises(UserFacingError, match="cannot use"):
        tls_store.enable_tls(pki.cert, pki.other_host_key)  # key of another certificate
    assert (tls_store.pgdata / "server.crt").read_text() == pki.cert.read_text()
    tls_store.stop()
    tls_store.start()
    user, password = _owner(tls_store)
    session = sign_in(_profile(tls_store, pki.ca), user, password, require_account=False)
    try:
        assert _tls_state(session)[0] is True
    finally:
        session.close()
    assert json.loads(tls_store.meta_file.read_text())["tls"] is True


def test_login_dialog_shows_the_tls_failure(qtbot, qapp, tls_store, pki, tmp_path):
    from app.ui.i18n import install_language
    from app.ui.login import LoginDialog

    install_language(qapp, "vi")
    profiles = ProfileStore(tmp_path / "cfg", store_dir=tmp_path / "none").load()
    profiles.put(_profile(tls_store, pki.other_ca))
    dialog = LoginDialog(profiles)
    qtbot.addWidget(dialog)
    dialog.show()
    user, password = _owner(tls_store)
    qtbot.keyClicks(dialog.user_edit, user)
    qtbot.keyClicks(dialog.password_edit, password)
    with qtbot.assertNotEmitted(dialog.session_ready, wait=200):
        dialog.sign_in_button.click()
        qtbot.waitUntil(lambda: not dialog.busy, timeout=15_000)
    assert dialog.last_error.kind == SignInError.TLS
    assert "kết nối an toàn (TLS)" in dialog.message.text()
    assert dialog.isVisible()


# -- headless sign-in through the commands ---------------------------------------------------
def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
        and k not in ("LANDREC_LANG", "LANDREC_DSN", "LANDREC_PASSWORD", "LANDREC_DEMO_PASSWORD")
    }
    env.update(PYTHONPATH=str(REPO_ROOT), LANDREC_CONFIG_DIR=str(tmp_path / "cfg"), **extra)
    return env


def _server_log(store: LocalStore) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(store.log_dir.glob("*.json")))


def test_run_signs_in_headless_over_tls(tls_store, pki, person_factory, tmp_path):
    person = person_factory(tls_store.dsn())
    profiles = ProfileStore(tmp_path / "cfg", store_dir=tmp_path / "none").load()
    profiles.put(_profile(tls_store, pki.ca))
    profiles.save()
    shot = tmp_path / "run.png"
    args = [sys.executable, "-m", "app.cli", "run", "--profile", "Máy chủ TLS thử nghiệm"]
    result = subprocess.run(
        [*args, "--user", person.role, "--screenshot", str(shot)],
        cwd=REPO_ROOT,
        env=_env(tmp_path, LANDREC_PASSWORD=person.password),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert shot.is_file()
    assert person.password not in result.stdout + result.stderr
    for f in (tmp_path / "cfg").rglob("*"):
        assert person.password.encode() not in f.read_bytes(), f
    saved = json.loads((tmp_path / "cfg" / "profiles.json").read_text())
    assert saved["profiles"][0]["ca_file"] == str(pki.ca)

    # The wrong password: exit 2 with the sentence the dialog shows, nothing rendered.
    bad = subprocess.run(
        [*args, "--user", person.role, "--screenshot", str(tmp_path / "no.png")],
        cwd=REPO_ROOT,
        env=_env(tmp_path, LANDREC_PASSWORD="Sai-mat-khau-1!"),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert bad.returncode == 2
    assert "Sai tên đăng nhập hoặc mật khẩu" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "no.png").exists()

    # --screenshot without a password in the environment: told how, not prompted.
    nopw = subprocess.run(
        [*args, "--screenshot", str(tmp_path / "no.png")],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert nopw.returncode == 2 and "LANDREC_PASSWORD" in nopw.stderr


def test_demo_signs_in_as_the_demo_clerk(tls_store, tmp_path):
    from app.security.accounts import DEMO_PASSWORDS, demo_accounts

    shot = tmp_path / "demo.png"
    args = [sys.executable, "-m", "app.cli", "demo", "--store-dir", str(tls_store.directory)]

    def demo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*args, "--screenshot", str(shot)],
            cwd=REPO_ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=90,
        )

    # Before 'landrec demo-accounts': said plainly, and the store opens as its owner.
    first = demo()
    assert first.returncode == 0, first.stderr
    assert "no demo accounts yet" in first.stderr and shot.is_file()

    with psycopg.connect(tls_store.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ref.admin_unit (level, code, name, kind, valid_from) "
            "VALUES ('province', '70', 'Bình Phước', 'tỉnh', '1997-01-01')"
        )
        conn.execute(
            "INSERT INTO ref.admin_unit (level, code, name, kind, parent_id, valid_from) "
            "SELECT 'commune', '25432', 'Tân Thành', 'xã', id, '2025-07-01' "
            "FROM ref.admin_unit WHERE level = 'province'"
        )
    demo_accounts(tls_store.directory)  # what 'landrec demo-accounts' does
    shot.unlink()
    second = demo()
    assert second.returncode == 0, second.stderr
    assert "store owner" not in second.stderr and shot.is_file()
    assert DEMO_PASSWORDS[DEMO_CLERK] not in second.stdout + second.stderr
    # The server saw the demo clerk sign in with the published password (jsonlog).
    deadline = time.time() + 10
    while f"user={DEMO_CLERK}" not in _server_log(tls_store) and time.time() < deadline:
        time.sleep(0.2)
    assert f"user={DEMO_CLERK}" in _server_log(tls_store)
