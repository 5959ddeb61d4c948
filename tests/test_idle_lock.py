"""Idle lock (app/ui/idle_lock.py): engages after the injected interval, unlocks with the
person's password only (checked by a real login), and keeps unsaved work and dialogs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import psycopg
import psycopg.sql
import pytest
from client_accounts import prepare_person
from conftest import scratch_database
from psycopg.conninfo import conninfo_to_dict
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.plugin import PluginRegistry
from app.profiles import Profile
from app.session import sign_in
from app.ui.fonts import ensure_fonts
from app.ui.i18n import install_language
from app.ui.idle_lock import LockDialog
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.store

IDLE_MS = 400


@pytest.fixture(scope="module")
def lock_db(owner_dsn: str) -> Iterator[str]:
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "landrec_lock") as dsn:
        migrate(dsn, srid=9212)
        yield dsn


@pytest.fixture
def signed_in_window(qtbot, qapp, lock_db, person_factory):
    ensure_fonts(qapp)
    install_language(qapp, "vi")
    person = person_factory(lock_db, rights={"cadastral": ["editor"]})
    prepare_person(lock_db, person.role, full_name="Lê Văn Khoa")
    p = conninfo_to_dict(lock_db)
    profile = Profile("local", p["host"], int(p["port"]), p["dbname"], "disable", builtin=True)
    session = sign_in(profile, person.role, person.password)
    window = MainWindow(
        session, PluginRegistry().discover(entry_point_group=None), "vi", idle_ms=IDLE_MS
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.summary is not None, timeout=15_000)
    yield window, person
    window.close()


def _editor_dialog(parent: QWidget) -> tuple[QDialog, QLineEdit]:
    dialog = QDialog(parent)
    dialog.setWindowTitle("Biến động đang soạn")
    edit = QLineEdit()
    edit.setObjectName("draft")
    QVBoxLayout(dialog).addWidget(edit)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)  # the hardest case
    dialog.show()
    return dialog, edit


def _lock_dialog() -> LockDialog:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, LockDialog)]
    assert len(found) == 1
    return found[0]


def _failed_logins(local_store, role: str) -> int:
    needle = f'password authentication failed for user \\"{role}\\"'
    count = 0
    for path in local_store.log_dir.glob("*.json"):
        for line in path.read_text(errors="replace").splitlines():
            if needle in line:
                count += 1
    return count


def test_lock_engages_and_unlocks_with_the_right_password_only(
    qtbot, signed_in_window, local_store, lock_db
):
    window, person = signed_in_window
    dialog, edit = _editor_dialog(window)
    edit.insert("Thửa 123, tờ 4: chuyển nhượng")  # unsaved work (QTest types ASCII only)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_End)  # the last input: idle from here
    started = time.monotonic()
    assert not window.locked
    qtbot.waitUntil(lambda: window.locked, timeout=5_000)
    assert time.monotonic() - started >= IDLE_MS / 1000 * 0.9

    lock = _lock_dialog()
    assert lock.isVisible() and QApplication.activeModalWidget() is lock
    assert lock.windowTitle() == "Phiên làm việc đã khóa"
    assert "Lê Văn Khoa" in lock.findChild(QLabel, "lockText").text()
    covers = [w for w in (window, dialog) if w.findChild(QWidget, "lockCover") is not None]
    assert covers == [window, dialog]  # every window's contents are hidden
    for w in covers:
        cover = w.findChild(QWidget, "lockCover")
        assert cover.isVisible() and cover.geometry() == w.rect()
    assert not window.session.has_password  # forgotten while locked
    assert not window.timer.isActive()  # no store checks while locked
    lock.reject()  # Escape does not dismiss it
    assert lock.isVisible()

    # A wrong password: refused, and it is a real failed login on the server.
    before = _failed_logins(local_store, person.role)
    qtbot.keyClicks(lock.password_edit, "Khong-phai-9!")
    lock.unlock_button.click()
    qtbot.waitUntil(lambda: lock.password_edit.isEnabled(), timeout=15_000)
    message = lock.findChild(QLabel, "lockMessage").text()
    assert message == "Sai mật khẩu. Sau 5 lần sai liên tiếp, tài khoản bị khóa 15 phút."
    assert window.locked and lock.isVisible()
    deadline = time.monotonic() + 10
    while _failed_logins(local_store, person.role) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _failed_logins(local_store, person.role) == before + 1
    # … which the lockout agent counts against the account like any other (DESIGN P5).
    from app.security.agent import Agent

    Agent(lock_db, local_store.log_dir).process_once()
    with psycopg.connect(lock_db) as conn:
        failed = conn.execute(
            "SELECT failed_logins FROM sys.account WHERE role_name = %s", (person.role,)
        ).fetchone()
    assert failed == (1,)

    # The right password: everything is as it was.
    qtbot.keyClicks(lock.password_edit, person.password)
    with qtbot.waitSignal(window.idle_lock.locked_changed, timeout=15_000) as signal:
        lock.unlock_button.click()
    assert signal.args == [False] and not window.locked
    qtbot.waitUntil(lambda: not lock.isVisible(), timeout=2_000)
    assert dialog.isVisible() and edit.text() == "Thửa 123, tờ 4: chuyển nhượng"
    qtbot.waitUntil(lambda: window.findChild(QWidget, "lockCover") is None, timeout=2_000)
    assert dialog.findChild(QWidget, "lockCover") is None
    assert window.session.has_password and window.timer.isActive()
    assert QApplication.activeModalWidget() is dialog
    qtbot.keyClicks(edit, " (OK)")  # the editor still takes input
    assert edit.text() == "Thửa 123, tờ 4: chuyển nhượng (OK)"
    dialog.close()


def test_activity_keeps_the_session_open(qtbot, signed_in_window):
    window, _ = signed_in_window
    edit = QLineEdit(window)
    edit.show()
    end = time.monotonic() + IDLE_MS * 3 / 1000
    while time.monotonic() < end:
        qtbot.keyClick(edit, "a")
        qtbot.wait(IDLE_MS // 4)
        assert not window.locked
    qtbot.waitUntil(lambda: window.locked, timeout=5_000)  # and then it does lock
    lock = _lock_dialog()
    qtbot.keyClicks(lock.password_edit, "x")  # typing at the lock is no activity
    lock.password_edit.clear()
    assert window.locked


def test_lock_now_from_the_menu(qtbot, qapp, lock_db, person_factory, tmp_path):
    install_language(qapp, "vi")
    person = person_factory(lock_db, rights={"cadastral": ["viewer"]})
    p = conninfo_to_dict(lock_db)
    profile = Profile("local", p["host"], int(p["port"]), p["dbname"], "disable", builtin=True)
    session = sign_in(profile, person.role, person.password)
    window = MainWindow(session, PluginRegistry().discover(entry_point_group=None), "vi")
    qtbot.addWidget(window)
    window.show()
    assert window.idle_lock.interval_ms == 15 * 60_000  # the server's value
    action = window.account_actions["app.lock"]
    assert action.shortcut().toString() == "Ctrl+L"
    action.trigger()
    assert window.locked
    lock = _lock_dialog()
    assert lock.findChild(QLabel, "lockText").text() == (
        "Phiên làm việc của Người Thử Nghiệm đã được khóa. Hãy nhập mật khẩu để tiếp tục; "
        "công việc chưa lưu vẫn được giữ nguyên."
    )
    qtbot.keyClicks(lock.password_edit, person.password)
    lock.password_edit.returnPressed.emit()
    qtbot.waitUntil(lambda: not window.locked, timeout=15_000)
    window.close()
    # The password never reached the disk: not in the session's config or anywhere here.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert person.password.encode() not in path.read_bytes()
    assert json.dumps(person.password)[1:-1] not in repr(window.session)


def test_lock_and_unlock_while_a_dialog_runs_exec(qtbot, signed_in_window):
    # A modal dialog inside exec() (QMessageBox, QFileDialog …) must survive the lock: its
    # event loop keeps running and returns only when the person closes it.
    window, person = signed_in_window
    dialog = QDialog(window)
    edit = QLineEdit(dialog)
    edit.insert("Số tờ 12")
    seen: list[object] = []

    def inside_exec() -> None:
        try:
            qtbot.waitUntil(lambda: window.locked, timeout=5_000)
            lock = _lock_dialog()
            seen.append(QApplication.activeModalWidget() is lock)
            qtbot.keyClicks(lock.password_edit, person.password)
            lock.unlock_button.click()
            qtbot.waitUntil(lambda: not window.locked, timeout=15_000)
            seen.append((dialog.isVisible(), edit.text()))
        except BaseException as exc:  # never leave exec() hanging
            seen.append(exc)
        finally:
            dialog.done(QDialog.DialogCode.Accepted)

    QTimer.singleShot(0, inside_exec)
    assert dialog.exec() == QDialog.DialogCode.Accepted
    assert seen == [True, (True, "Số tờ 12")]
