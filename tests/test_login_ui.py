"""Signing in through the dialog as real people (pytest-qt, real LOGIN roles).

Covers: the dialog signs a person in and the main window shows them and works as them;
wrong password, locked account, unreachable and silent servers give their own message
and no window; the first-login password change (policy refusal shown, then accepted,
then reconnected); the administrator's TOTP prompt; no password on disk or in the logs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator

import psycopg
import psycopg.sql
import pytest
from client_accounts import (
    lock_account,
    prepare_person,
    totp_now,
    wrong_totp,
)
from conftest import scratch_database
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from PySide6.QtWidgets import QApplication, QLabel

from app.plugin import PluginRegistry
from app.profiles import DEMO_PROFILE_NAME, Profile, ProfileStore
from app.session import Session, SignInError, sign_in
from app.ui.fonts import ensure_fonts
from app.ui.i18n import install_language
from app.ui.login import SignInFlow
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.store

PARCELS = {"25432": 40, "25435": 25}  # parcels per commune

SEED = """
INSERT INTO ref.admin_unit (level, code, name, kind, valid_from)
VALUES ('province', '70', 'Bình Phước', 'tỉnh', '1997-01-01');
INSERT INTO ref.admin_unit (level, code, name, kind, parent_id, valid_from)
SELECT 'commune', c, n, 'xã', (SELECT id FROM ref.admin_unit WHERE level = 'province'),
       '2025-07-01'
FROM (VALUES ('25432', 'Tân Thành'), ('25435', 'Tiến Hưng')) v(c, n);
INSERT INTO cad.map_sheet (commune_id, sheet_number, scale, frame)
SELECT id, 1, 1000, ST_MakeEnvelope(500000, 1200000, 500500, 1200500, 9212)
FROM ref.admin_unit WHERE level = 'commune';
INSERT INTO cad.parcel (sheet_id, parcel_number, commune_id, geom, area_legal)
SELECT s.id, g, s.commune_id,
       ST_Multi(ST_MakeEnvelope(500000 + g, 1200000, 500000 + g + 0.5, 1200010, 9212)), 5.0
FROM cad.map_sheet s JOIN ref.admin_unit u ON u.id = s.commune_id,
     generate_series(1, CASE u.code WHEN '25432' THEN {a} ELSE {b} END) g;
"""


@pytest.fixture(scope="module")
def accounts_db(owner_dsn: str) -> Iterator[str]:
    """A migrated database of its own with two communes and the account functions."""
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "landrec_login") as dsn:
        migrate(dsn, srid=9212)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SEED.format(a=PARCELS["25432"], b=PARCELS["25435"]))
        yield dsn


def _commune(dsn: str, code: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT id FROM ref.admin_unit WHERE level = 'commune' AND code = %s", (code,)
        ).fetchone()[0]


def _local_profile(dsn: str, name: str = DEMO_PROFILE_NAME) -> Profile:
    """The local store's built-in profile, pointed at this test database (no TLS: only
    the built-in profile of the 127.0.0.1 store may go without)."""
    p = conninfo_to_dict(dsn)
    return Profile(
        name=name,
        host=p["host"],
        port=int(p["port"]),
        database=p["dbname"],
        tls_mode="disable",
        builtin=True,
    )


@pytest.fixture
def profiles(tmp_path, accounts_db) -> ProfileStore:
    store = ProfileStore(tmp_path / "config", store_dir=tmp_path / "no-store").load()
    store.profiles = [_local_profile(accounts_db)]
    return store


@pytest.fixture
def vi(qapp):
    ensure_fonts(qapp)
    assert install_language(qapp, "vi")
    yield
    install_language(qapp, "vi")


@pytest.fixture
def flow_factory(qtbot, vi, profiles):
    made: list[SignInFlow] = []

    def make(**kw) -> SignInFlow:
        flow = SignInFlow(profiles, **kw)
        qtbot.addWidget(flow.login)
        flow.start()
        made.append(flow)
        return flow

    yield make
    for flow in made:
        for dialog in (flow.login, flow.password_dialog, flow.totp_dialog):
            if dialog is not None:
                dialog.close()
        if flow.session is not None:
            flow.session.close()


def _type_credentials(qtbot, flow: SignInFlow, user: str, password: str) -> None:
    login = flow.login
    login.user_edit.clear()
    qtbot.keyClicks(login.user_edit, user)
    qtbot.keyClicks(login.password_edit, password)


def _sign_in(qtbot, flow: SignInFlow, user: str, password: str) -> Session:
    _type_credentials(qtbot, flow, user, password)
    with qtbot.waitSignal(flow.signed_in, timeout=15_000) as signal:
        flow.login.sign_in_button.click()
    return signal.args[0]


def _refused(qtbot, flow: SignInFlow, user: str, password: str) -> str:
    _type_credentials(qtbot, flow, user, password)
    with qtbot.assertNotEmitted(flow.signed_in, wait=100):
        flow.login.sign_in_button.click()
        qtbot.waitUntil(lambda: not flow.login.busy, timeout=20_000)
    assert flow.login.isVisible()
    return flow.login.message.text()


# -- the sign-in ---------------------------------------------------------------------------
def test_sign_in_shows_the_person_and_works_as_them(
    qtbot, flow_factory, profiles, accounts_db, person_factory, caplog, capfd
):
    caplog.set_level(logging.DEBUG)  # psycopg logs connection attempts at DEBUG
    commune = _commune(accounts_db, "25432")
    person = person_factory(accounts_db, rights={"cadastral": ["viewer"]}, communes=[commune])
    prepare_person(accounts_db, person.role, full_name="Trần Thị Hoà")
    flow = flow_factory()
    assert flow.login.windowTitle() == "Đăng nhập LandRec"
    assert flow.login.password_edit.echoMode() == flow.login.password_edit.EchoMode.Password
    session = _sign_in(qtbot, flow, person.role, person.password)
    assert not flow.login.isVisible()
    assert flow.login.password_edit.text() == ""  # the form does not keep it
    assert session.account.full_name == "Trần Thị Hoà"
    assert session.account.kinds == {"cadastral": ("viewer",)}
    assert session.account.idle_lock_minutes == 15

    window = MainWindow(session, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.summary is not None, timeout=15_000)
    user_label = window.findChild(QLabel, "signedInUser")
    assert user_label.text() == "Người dùng: Trần Thị Hoà — Văn phòng đăng ký đất đai"
    assert user_label.toolTip() == person.role
    # Everything runs as the person: the summary is their session's, and the parcels
    # counted are those their rights and area let them see (none readable yet, or their
    # commune's once the row-level security policies are in).
    assert window.summary.user == person.role
    assert window.summary.counts.get("cad.parcel") in (None, PARCELS["25432"])
    assert window.findChild(QLabel, "connectionState").text().startswith("Đã kết nối: ")
    assert window.idle_lock is not None and window.idle_lock.interval_ms == 15 * 60_000
    # Client-side greying follows the account: a viewer gets no write or admin entries.
    rights = window.enable_state().rights
    assert "cad.read" in rights and "cad.write" not in rights and "sys.admin" not in rights
    assert not window.plugin_actions["admin.accounts"].isEnabled()

    # The profile remembers who signed in, never the password: not on disk, not in logs.
    saved = profiles.path.read_text(encoding="utf-8")
    assert person.role in saved
    window.close()
    secret = person.password.encode()
    for path in profiles.config_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert person.password not in repr(session)
    assert person.password not in caplog.text
    out, err = capfd.readouterr()
    assert person.password not in out + err


def test_wrong_password_gives_a_message_and_no_window(
    qtbot, flow_factory, accounts_db, person_factory
):
    person = person_factory(accounts_db, rights={"cadastral": ["viewer"]})
    flow = flow_factory()
    text = _refused(qtbot, flow, person.role, "Khong-dung-9!")
    assert text == (
        "Sai tên đăng nhập hoặc mật khẩu. Sau 5 lần sai liên tiếp, tài khoản bị khóa 15 phút."
    )
    assert flow.login.last_error.kind == SignInError.WRONG_PASSWORD
    assert flow.login.password_edit.text() == ""  # cleared for the next try
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    # An empty form never reaches the server.
    flow.login.password_edit.clear()
    flow.login.sign_in_button.click()
    assert flow.login.message.text() == "Hãy nhập tên đăng nhập và mật khẩu."
    # The right password still works afterwards.
    session = _sign_in(qtbot, flow, person.role, person.password)
    assert session.user == person.role


def test_locked_accounts_are_told_why(qtbot, flow_factory, accounts_db, person_factory):
    person = person_factory(accounts_db, rights={"cadastral": ["viewer"]})
    lock_account(accounts_db, person.role, "Sai mật khẩu 5 lần")  # NOLOGIN, as the server does
    flow = flow_factory()
    text = _refused(qtbot, flow, person.role, person.password)
    assert flow.login.last_error.kind == SignInError.LOCKED and flow.login.last_error.auth_failed
    assert text == "Tài khoản này đang bị khóa. Hãy liên hệ quản trị hệ thống để mở khóa."


def test_unreachable_and_silent_servers(qtbot, vi, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    store = ProfileStore(tmp_path / "cfg", store_dir=tmp_path / "none").load()
    down = Profile("Tắt", "127.0.0.1", closed_port, "landrec", "disable", builtin=True)
    with socket.socket() as mute:  # accepts TCP, never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        silent = Profile(
            "Im lặng", "127.0.0.1", mute.getsockname()[1], "landrec", "disable", builtin=True
        )
        store.profiles = [down, silent]
        flow = SignInFlow(store, profile_name="Tắt", connect_timeout=1)
        qtbot.addWidget(flow.login)
        flow.start()
        text = _refused(qtbot, flow, "ai_do", "Mat-khau-1!")
        assert text.startswith(f"Không kết nối được máy chủ 127.0.0.1:{closed_port}/landrec.")

        flow.login.profile_box.setCurrentIndex(flow.login.profile_box.findData("Im lặng"))
        started = time.monotonic()
        text = _refused(qtbot, flow, "ai_do", "Mat-khau-1!")
        assert time.monotonic() - started < 6
        assert "không trả lời trong 1 giây" in text
        assert flow.login.last_error.kind == SignInError.TIMEOUT
    flow.login.close()


# -- first login: the password change ---------------------------------------------------------
def test_first_login_forces_a_password_change(qtbot, flow_factory, accounts_db, person_factory):
    person = person_factory(accounts_db, rights={"cadastral": ["editor"]})
    prepare_person(accounts_db, person.role, must_change=True)
    weak = "abc12345"
    # What the server says about the weak password, asked directly (changes nothing).
    with psycopg.connect(person.dsn) as conn, pytest.raises(psycopg.Error) as direct:
        conn.execute("SELECT sys.change_password(%s, %s)", (person.password, weak))
    assert direct.value.sqlstate == "22023"
    policy_message = direct.value.diag.message_primary

    flow = flow_factory()
    _type_credentials(qtbot, flow, person.role, person.password)
    flow.login.sign_in_button.click()
    qtbot.waitUntil(
        lambda: flow.password_dialog is not None and flow.password_dialog.isVisible(),
        timeout=15_000,
    )
    dialog = flow.password_dialog
    assert not flow.login.isVisible()
    assert "lần đăng nhập đầu tiên" in dialog.findChild(QLabel, "intro").text()

    qtbot.keyClicks(dialog.old_edit, person.password)
    qtbot.keyClicks(dialog.new_edit, "Mot-Mat-Khau-Moi-1")
    qtbot.keyClicks(dialog.repeat_edit, "Mot-Mat-Khau-Khac-1")
    dialog.ok_button.click()
    assert dialog.message.text() == "Hai lần nhập mật khẩu mới không khớp nhau."

    dialog.new_edit.clear()
    qtbot.keyClicks(dialog.new_edit, weak)
    qtbot.keyClicks(dialog.repeat_edit, weak)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=15_000)
    assert dialog.message.text() == policy_message  # the server's words, as they are
    assert dialog.isVisible() and not dialog.changed

    new = "Dat-Dai-Binh-Phuoc-2026"
    qtbot.keyClicks(dialog.new_edit, new)
    qtbot.keyClicks(dialog.repeat_edit, new)
    with qtbot.waitSignal(flow.signed_in, timeout=15_000) as signal:
        dialog.ok_button.click()
    session = signal.args[0]
    assert dialog.changed and not session.account.must_change_password
    assert session.ping().startswith(f"{person.role}@")  # reconnected with the new one
    with psycopg.connect(make_conninfo(person.dsn, password=new)) as conn:
        assert conn.execute("SELECT session_user").fetchone()[0] == person.role
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(person.dsn, connect_timeout=5)  # the old password is gone


def test_refusing_the_change_returns_to_the_login(qtbot, flow_factory, accounts_db, person_factory):
    person = person_factory(accounts_db, rights={"cadastral": ["viewer"]})
    prepare_person(accounts_db, person.role, must_change=True)
    flow = flow_factory()
    _type_credentials(qtbot, flow, person.role, person.password)
    with qtbot.assertNotEmitted(flow.signed_in, wait=100):
        flow.login.sign_in_button.click()
        qtbot.waitUntil(lambda: flow.password_dialog is not None, timeout=15_000)
        flow.password_dialog.reject()
    assert flow.login.isVisible()
    assert flow.login.message.text() == "Bạn phải đổi mật khẩu trước khi sử dụng LandRec."


# -- administrators: TOTP -----------------------------------------------------------------------
def test_administrator_needs_the_totp_code(qtbot, flow_factory, accounts_db, person_factory):
    admin = person_factory(accounts_db, rights={"admin": ["administrator"]}, whole_province=True)
    prepare_person(accounts_db, admin.role, totp=True)
    flow = flow_factory()
    _type_credentials(qtbot, flow, admin.role, admin.password)
    flow.login.sign_in_button.click()
    qtbot.waitUntil(
        lambda: flow.totp_dialog is not None and flow.totp_dialog.isVisible(), timeout=15_000
    )
    dialog = flow.totp_dialog
    session = dialog.session
    assert session.account.is_administrator and not session.account.mfa_verified
    assert session.account.idle_lock_minutes == 5

    qtbot.keyClicks(dialog.code_edit, "12ab3")  # the field takes digits only
    assert dialog.code_edit.text() == "123"
    dialog.verify_button.click()
    assert dialog.message.text() == "Hãy nhập đủ 6 chữ số."

    dialog.code_edit.clear()
    qtbot.keyClicks(dialog.code_edit, wrong_totp())
    dialog.verify_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=15_000)
    assert dialog.message.text() == "Mã không đúng hoặc đã hết hạn. Hãy nhập mã hiện tại."
    assert not session.account.mfa_verified

    qtbot.keyClicks(dialog.code_edit, totp_now())
    with qtbot.waitSignal(flow.signed_in, timeout=15_000):
        dialog.verify_button.click()
    assert dialog.verified and session.account.mfa_verified
    # The verification belongs to the session's own connection, not to the person.
    with psycopg.connect(admin.dsn) as other:
        assert other.execute("SELECT mfa_verified FROM sys.my_account()").fetchone() == (False,)

    window = MainWindow(session, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    assert "sys.admin" in window.enable_state().rights
    assert window.idle_lock.interval_ms == 5 * 60_000
    assert "app.verify_totp" in window.account_actions
    window.close()


def test_administrator_may_skip_with_administration_locked(
    qtbot, flow_factory, accounts_db, person_factory
):
    admin = person_factory(accounts_db, rights={"admin": ["administrator"]})
    prepare_person(accounts_db, admin.role, totp=True)
    flow = flow_factory()
    _type_credentials(qtbot, flow, admin.role, admin.password)
    flow.login.sign_in_button.click()
    qtbot.waitUntil(lambda: flow.totp_dialog is not None, timeout=15_000)
    with qtbot.waitSignal(flow.signed_in, timeout=5_000) as signal:
        flow.totp_dialog.reject()  # "Tiếp tục, không dùng chức năng quản trị"
    session = signal.args[0]
    window = MainWindow(session, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    assert "sys.admin" not in window.enable_state().rights
    assert "chưa xác thực hai lớp" in window.findChild(QLabel, "signedInUser").text()
    # Later, from the File menu: the code unlocks administration in this session.
    dialog = window.verify_totp()
    qtbot.keyClicks(dialog.code_edit, totp_now())
    with qtbot.waitSignal(dialog.accepted, timeout=15_000):
        dialog.verify_button.click()
    assert "sys.admin" in window.enable_state().rights
    assert "chưa xác thực" not in window.findChild(QLabel, "signedInUser").text()
    window.close()


# -- the Qt-free session -----------------------------------------------------------------------
def test_session_reconnects_after_losing_its_connection(accounts_db, person_factory):
    person = person_factory(accounts_db, rights={"cadastral": ["viewer"]})
    session = sign_in(_local_profile(accounts_db), person.role, person.password)
    try:
        first = session.generation
        with psycopg.connect(accounts_db, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (person.role,),
            )
        from app.store.summary import StoreUnavailable

        with pytest.raises(StoreUnavailable) as lost:
            session.ping()  # the old connection is gone: reported once …
        assert not lost.value.auth_failed
        assert session.ping().startswith(person.role)  # … then reopened
        assert session.generation == first + 1
        session.forget_password()  # idle lock: no reconnect without the password
        assert "password" not in conninfo_to_dict(session.dsn)
    finally:
        session.close()
    assert not session.has_password


def test_password_in_environment_is_not_read_by_the_dialog(monkeypatch, profiles, qtbot, vi):
    # LANDREC_PASSWORD is for scripts (landrec run --user); the dialog never fills it in.
    monkeypatch.setenv("LANDREC_PASSWORD", "Khong-duoc-dung-1!")
    flow = SignInFlow(profiles)
    qtbot.addWidget(flow.login)
    flow.start()
    assert flow.login.password_edit.text() == ""
    assert os.environ["LANDREC_PASSWORD"] not in flow.login.user_edit.text()
    flow.login.close()


def test_profiles_dialog_saves_verified_remote_profiles(qtbot, vi, tmp_path, accounts_db):
    from app.ui.login import ProfilesDialog

    store = ProfileStore(tmp_path / "cfg", store_dir=tmp_path / "none").load()
    store.profiles = [_local_profile(accounts_db)]
    dialog = ProfilesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.editor.isEnabled()  # the built-in profile is read-only
    modes = [dialog.tls.itemData(i) for i in range(dialog.tls.count())]
    assert "verify-full" in modes and "require" not in modes and "prefer" not in modes
    dialog._new()
    assert dialog.tls.currentData() == "verify-full"
    qtbot.keyClicks(dialog.name, "So TNMT")
    qtbot.keyClicks(dialog.host, "db.stnmt.example.vn")
    dialog.port.setValue(6432)
    assert dialog.save_current()
    saved = ProfileStore(tmp_path / "cfg", store_dir=tmp_path / "none").load().get("So TNMT")
    assert (saved.host, saved.port, saved.tls_mode) == ("db.stnmt.example.vn", 6432, "verify-full")
    dialog._new()
    qtbot.keyClicks(dialog.name, "Sai")
    qtbot.keyClicks(dialog.host, "bad host; --")
    assert not dialog.save_current()
    assert dialog.message.text() == (
        "Chưa lưu được: Địa chỉ máy chủ phải là tên máy hoặc địa chỉ IP."
    )
    dialog.close()
