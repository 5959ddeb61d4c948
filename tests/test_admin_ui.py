"""The administration module through its dialogs (pytest-qt), as real roles.

An administrator verifies the second factor the way the app does (Session.verify_totp, what
the TOTP dialog calls), creates an account by filling the dialog's widgets and clicking OK,
reads the one-time password from the dialog, signs in as the new person in a second
connection (first-login change through the API), sees exactly the granted area and
subsystems, gets locked and unlocked from the accounts window, and finds these actions in
the audit viewer's rows. Bad input is refused with a message and creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from conftest import AdminEnv as Env
from conftest import admin_env, new_id
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.admin import api, forms
from app.plugin import EnableState, PluginRegistry
from app.session import Session, client_rights
from app.ui.context import UiContext
from app.ui.tasks import TaskRunner
from plugins.admin import PLUGIN
from plugins.admin.views_accounts import AccountsWindow, show_accounts
from plugins.admin.views_common import T_NO_MFA, T_NOT_ADMIN

pytestmark = pytest.mark.store

NEW_PASSWORD = "Mai-Dat-Dai-2026!"
EVERYWHERE = (-1e7, -1e7, 1e7, 1e7)


@pytest.fixture(scope="module")
def env(demo_db: str) -> Iterator[Env]:
    with admin_env(demo_db, descending=True) as e:
        yield e


def make_ctx(qtbot, session: Session) -> UiContext:
    window = QWidget()
    qtbot.addWidget(window)
    return UiContext(session, "vi", PluginRegistry(), window, TaskRunner(window))


def owner_count(db: str, sql: str, params=()) -> int:
    with psycopg.connect(db) as conn:
        return conn.execute(sql, params).fetchone()[0]


def open_accounts(qtbot, ctx) -> AccountsWindow:
    window = show_accounts(ctx)
    assert window is not None  # a child of ctx.window, which qtbot closes
    qtbot.waitUntil(lambda: bool(window.rows), timeout=10_000)
    return window


def state_of(window: AccountsWindow) -> str | None:
    row = window.selected()
    return None if row is None else row.state


def type_text(widget, text: str) -> None:
    """Type ``text`` as key presses carrying their characters (QTest.keyClicks only knows
    ASCII keys; an input method delivers Vietnamese letters this way)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
            )


def fill_create_dialog(qtbot, dialog, *, full_name, role, id_number, unit) -> None:
    qtbot.waitUntil(lambda: bool(dialog.rights.commune_items), timeout=10_000)
    type_text(dialog.full_name, full_name)
    assert dialog.role_name.text() == forms.suggest_role_name(full_name)  # suggested
    dialog.role_name.clear()
    qtbot.keyClicks(dialog.role_name, role)
    qtbot.keyClicks(dialog.id_number, id_number)
    dialog.unit.lineEdit().clear()
    type_text(dialog.unit.lineEdit(), unit)
    type_text(dialog.position, "Công chức địa chính")


def test_create_sign_in_lock_unlock_and_audit(qtbot, env: Env):
    ctx = make_ctx(qtbot, env.session)
    window = open_accounts(qtbot, ctx)
    assert env.admin.role in {r.role_name for r in window.rows}
    dialog = window.open_create()
    role = env.tracker.track(env.db, env.tracker.new_role_name("mai"))
    fill_create_dialog(
        qtbot, dialog, full_name="Đỗ Thị Mai", role=role, id_number=new_id(),
        unit="Ủy ban nhân dân xã (công chức địa chính)",
    )  # fmt: skip
    qtbot.mouseClick(dialog.rights.boxes[("cadastral", "viewer")], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.rights.boxes[("planning", "editor")], Qt.MouseButton.LeftButton)
    assert dialog.rights.boxes[("planning", "viewer")].isChecked()  # editing implies viewing
    for commune in env.communes:
        dialog.rights.check_commune(commune)
    expected = owner_count(
        env.db,
        "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL AND commune_id IN "
        "(SELECT unnest(%s::bigint[]) UNION SELECT predecessor_id FROM "
        "ref.admin_unit_succession WHERE successor_id = ANY (%s::bigint[]))",
        (env.communes, env.communes),
    )
    label = dialog.rights.preview_label
    qtbot.waitUntil(lambda: "2 xã" in label.text(), timeout=10_000)
    assert f"({forms.format_count(expected)} thửa)" in label.text()
    assert "Sửa: Quy hoạch, kế hoạch sử dụng đất." in label.text()

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.last_password_dialog is not None, timeout=15_000)
    password = window.last_password_dialog.password_edit.text()
    assert len(password) >= 12
    qtbot.waitUntil(lambda: window.selected() is not None, timeout=10_000)
    assert window.selected().role_name == role and window.selected().must_change_password
    window.last_password_dialog.copy_button.click()
    window.last_password_dialog.accept()  # closing forgets it, clipboard included
    assert window.last_password_dialog.password_edit.text() == ""

    # The person, in a connection of their own: first the policy's first-login change.
    person_dsn = make_conninfo(env.db, user=role, password=password)
    with psycopg.connect(person_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT must_change_password FROM sys.my_account()").fetchone()[0]
        with pytest.raises(psycopg.errors.InvalidParameterValue) as weak:
            conn.execute("SELECT sys.change_password(%s, 'matkhau123')", (password,))
        assert "Mật khẩu phải có đủ chữ hoa" in weak.value.diag.message_primary
        conn.execute("SELECT sys.change_password(%s, %s)", (password, NEW_PASSWORD))
    person_dsn = make_conninfo(env.db, user=role, password=NEW_PASSWORD)
    with psycopg.connect(person_dsn, autocommit=True) as conn:
        seen = conn.execute("SELECT count(*) FROM api.parcels_in_bbox(%s, %s, %s, %s)",
                            EVERYWHERE).fetchone()[0]  # fmt: skip
        assert seen == expected > 0
        assert (
            conn.execute("SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL").fetchone()[0]
            == expected
        )  # the same under row-level security
        assert conn.execute("SELECT count(*) FROM plan.zone").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM price.zone")  # land price: not granted

    # Lock from the window, with a reason: the login is refused; unlock: it works again.
    assert window.select(role)
    assert window.buttons["lock"].isEnabled() and not window.buttons["unlock"].isEnabled()
    qtbot.mouseClick(window.buttons["lock"], Qt.MouseButton.LeftButton)
    reason = window.dialogs[-1]
    qtbot.mouseClick(reason.ok_button, Qt.MouseButton.LeftButton)  # empty: refused
    assert reason.isVisible() and reason.message.text().startswith("Hãy ghi lý do")
    type_text(reason.reason_edit, "Công văn 45/UBND đề nghị tạm khóa")
    qtbot.mouseClick(reason.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.selected() and window.selected().state == "locked", timeout=10_000
    )
    assert "Công văn 45/UBND" in window.selected().lock_reason
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(person_dsn).close()
    assert "not permitted to log in" in str(refused.value)
    qtbot.mouseClick(window.buttons["unlock"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.selected() and window.selected().state == "active", timeout=10_000
    )
    with psycopg.connect(person_dsn) as conn:
        assert conn.execute("SELECT session_user").fetchone()[0] == role

    # Filters: by state and by the search text.
    # (applied by the server, after a pause in typing)
    window.search.setText("đỗ thị mai")
    qtbot.waitUntil(lambda: [r.role_name for r in window.model.objects] == [role], timeout=10_000)
    assert window.total == 1 and window.page_label.text() == "1–1 / 1 tài khoản."
    window.state_filter.setCurrentIndex(window.state_filter.findData("locked"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=10_000)
    assert window.status.text() == "Không có tài khoản nào khớp điều kiện lọc."
    window.close()

    # The audit viewer shows what happened to the account, newest first.
    from plugins.admin.views_audit import show_audit_viewer

    viewer = show_audit_viewer(ctx)
    viewer.person.setCurrentText(role)
    viewer.search()
    qtbot.waitUntil(lambda: viewer.model.rowCount() > 0, timeout=10_000)
    actions = [e.action for e in viewer.model.objects if e.target == role]
    assert actions[:4] == ["UNLOCK", "LOCK", "PASSWORD_CHANGE", "RIGHTS_CHANGE"] or (
        {"UNLOCK", "LOCK", "PASSWORD_CHANGE", "ACCOUNT_CREATE"} <= set(actions)
    )
    assert {e.actor for e in viewer.model.objects if e.action == "LOCK"} == {env.admin.role}
    viewer.close()


def test_bad_input_is_refused_and_creates_nothing(qtbot, env: Env):
    ctx = make_ctx(qtbot, env.session)
    window = open_accounts(qtbot, ctx)
    before = len(env.run(api.list_accounts))

    # Empty required fields: the dialog says which, and sends nothing.
    dialog = window.open_create()
    qtbot.waitUntil(lambda: bool(dialog.rights.commune_items), timeout=10_000)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.message.text().splitlines() == [
        "Tên đăng nhập không được để trống.",
        "Họ tên không được để trống.",
        "Số định danh cá nhân (CCCD) không được để trống.",
        "Đơn vị công tác không được để trống.",
    ]
    dialog.reject()

    # Duplicate person: warned while typing, refused by the database on OK.
    taken = env.run(api.list_accounts)[0]
    dialog = window.open_create()
    role = env.tracker.track(env.db, env.tracker.new_role_name("dup"))
    fill_create_dialog(
        qtbot, dialog, full_name="Phan Văn Trùng", role=role,
        id_number=taken.person_id_number, unit="Văn phòng đăng ký đất đai",
    )  # fmt: skip
    qtbot.waitUntil(lambda: "đã có tài khoản" in dialog.id_warning.text(), timeout=10_000)
    assert f"“{taken.role_name}”" in dialog.id_warning.text()
    dialog.rights.whole.setChecked(True)
    qtbot.mouseClick(dialog.rights.boxes[("cadastral", "viewer")], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "mỗi người" in dialog.message.text(), timeout=10_000)
    assert "mỗi người chỉ được có một tài khoản" in dialog.message.text()
    assert dialog.isVisible() and window.last_password_dialog is None
    assert len(env.run(api.list_accounts)) == before
    assert owner_count(env.db, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)) == 0
    dialog.reject()
    window.close()


def test_only_verified_administrators_reach_the_module(qtbot, env: Env, person_factory):
    # A clerk: the menu entries are disabled, the handler refuses, the database refuses.
    clerk = person_factory(env.db, rights={"cadastral": ["editor"]}, whole_province=True)
    session = Session(conninfo_to_dict(clerk.dsn)).open()
    try:
        ctx = make_ctx(qtbot, session)
        state = EnableState(True, client_rights(session.account, {"admin": "sys"}))
        assert not any(state.allows(a.when) for a in PLUGIN.actions)
        assert show_accounts(ctx) is None
        box = ctx.window.findChild(QMessageBox, "adminRefused")
        assert box is not None and box.text() == T_NOT_ADMIN.vi
        with pytest.raises(api.AdminError) as err:
            session.run(api.list_accounts)
        assert err.value.denied
    finally:
        session.close()

    # The administrator before the second factor: the same, with the reason to verify.
    session = Session(conninfo_to_dict(env.admin.dsn)).open()
    try:
        ctx = make_ctx(qtbot, session)
        state = EnableState(True, client_rights(session.account, {"admin": "sys"}))
        assert not state.allows(PLUGIN.actions[0].when)
        from plugins.admin.views_audit import show_audit_viewer

        assert show_audit_viewer(ctx) is None
        box = ctx.window.findChild(QMessageBox, "adminRefused")
        assert box is not None and box.text() == T_NO_MFA.vi
        with pytest.raises(api.AdminError) as err:
            session.run(lambda c: api.lock_account(c, env.admin.role, "thử"))
        assert err.value.denied and "xác thực hai lớp" in err.value.message
        # …and once verified in this session, the entries are enabled.
        state = EnableState(True, client_rights(env.session.account, {"admin": "sys"}))
        assert all(state.allows(a.when) for a in PLUGIN.actions)
    finally:
        session.close()


def test_policies_audit_integrity_and_reports_windows(qtbot, env: Env, tmp_path):
    from openpyxl import load_workbook

    from plugins.admin.views_audit import show_audit_viewer
    from plugins.admin.views_policies import show_policies
    from plugins.admin.views_reports import show_reports

    ctx = make_ctx(qtbot, env.session)
    # Policies: out of the regulation's bounds → a sentence, nothing sent; the server's
    # own refusal is shown too; a valid tightening is stored.
    dialog = show_policies(ctx)
    qtbot.waitUntil(lambda: bool(dialog.policies), timeout=10_000)
    spin = dialog.spins["policy.max_failed_logins"]
    spin.setValue(6)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "phải từ 1 đến 5" in dialog.message.text()
    dialog.send({"policy.max_failed_logins": 6})  # as if the client let it through
    qtbot.waitUntil(lambda: "Giá trị của" in dialog.message.text(), timeout=10_000)
    assert dialog.message.text() == "Giá trị của policy.max_failed_logins phải từ 1 đến 5."
    spin.setValue(4)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.text().startswith("Đã lưu"), timeout=10_000)
    assert dialog.policies["policy.max_failed_logins"].value == 4
    env.run(api.save_policies, {"policy.max_failed_logins": 5})  # put it back
    dialog.close()

    # Audit viewer: the policy change with its old/new values, the integrity check off the
    # UI thread, export.
    viewer = show_audit_viewer(ctx)
    qtbot.waitUntil(lambda: viewer.action.findData("SETTING_CHANGE") > 0, timeout=10_000)
    viewer.action.setCurrentIndex(viewer.action.findData("SETTING_CHANGE"))
    assert viewer.action.currentText() == "Đổi chính sách, cấu hình"  # not the code
    viewer.search()
    qtbot.waitUntil(lambda: viewer.model.rowCount() >= 2, timeout=10_000)
    first = viewer.model.objects[1]  # the 5 → 4 change (newest is 4 → 5)
    assert (first.target, first.detail) == ("policy.max_failed_logins", {"old": 5, "new": 4})
    lines = viewer.show_entry(1)
    assert ("new", "", "4", False) in lines and viewer.diff.rowCount() == 2
    viewer.action.setCurrentText("— tất cả —")
    viewer.table_name.setCurrentText("sys.setting")
    viewer.search()
    qtbot.waitUntil(lambda: viewer.model.rowCount() >= 1, timeout=10_000)
    update = next(i for i, e in enumerate(viewer.model.objects) if e.action == "UPDATE")
    changed = [line for line in viewer.show_entry(update) if line[3]]
    assert [c[0] for c in changed] == ["updated_at", "value"]
    viewer.verify()
    assert not viewer.verify_button.isEnabled()  # running on a worker thread
    qtbot.waitUntil(lambda: viewer.integrity is not None, timeout=20_000)
    assert viewer.integrity.ok
    assert viewer.verify_label.text().startswith("Nhật ký toàn vẹn: đã kiểm tra ")
    viewer.export(fmt="xlsx", path=str(tmp_path / "audit.xlsx"))
    qtbot.waitUntil(lambda: viewer.status.text().startswith("Đã xuất"), timeout=10_000)
    ws = load_workbook(tmp_path / "audit.xlsx").active
    assert ws.max_row == viewer.model.rowCount() + 1 and ws["D1"].value == "Hành động"
    viewer.close()

    # Reports: accounts by unit, computed by the server, exported as CSV.
    reports = show_reports(ctx)
    qtbot.waitUntil(lambda: bool(reports.columns), timeout=10_000)
    assert reports.model.headers[:2] == ["Đơn vị", "Cấp mới"]
    units = {r[0]: r for r in reports.model.values}
    admin_unit = "Sở Nông nghiệp và Môi trường"
    assert units[admin_unit][-1] >= 1
    reports.report.setCurrentIndex(reports.report.findData("logins"))
    assert reports.failed_only.isVisibleTo(reports)
    reports.export(fmt="csv", path=str(tmp_path / "accounts.csv"))
    qtbot.waitUntil(lambda: reports.status.text().startswith("Đã xuất"), timeout=10_000)
    text = (tmp_path / "accounts.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Đơn vị,Cấp mới,Bị khóa")
    reports.close()
