"""The administration module's second pass (migration 0018), as real roles: editing a
person's details, Vietnamese state words in the server's messages, the paged account list
filtered in SQL, the accounts report by normalised unit, the lockout agent's heartbeat in
the login reports, and the edit dialog and report header through the widgets."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from conftest import AdminEnv as Env
from conftest import admin_env, new_id
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.admin import api, export, forms
from app.plugin import PluginRegistry
from app.security.agent import Agent
from app.session import Session
from app.ui.context import UiContext
from app.ui.tasks import TaskRunner

pytestmark = pytest.mark.store

ENGLISH_STATES = re.compile(r"\b(active|locked|disabled|expired)\b")


@pytest.fixture(scope="module")
def env(demo_db: str) -> Iterator[Env]:
    with admin_env(demo_db, with_parcels=False) as e:
        yield e


def create(env: Env, **kw) -> api.AccountDraft:
    values = dict(
        role_name=env.tracker.track(env.db, env.tracker.new_role_name("p")),
        person_id_number=new_id(),
        full_name="Trần Văn Bình",
        unit="Văn phòng đăng ký đất đai",
        position="Chuyên viên",
        rights={"cadastral": ["viewer"]},
        communes=list(env.communes[:1]),
    )
    values.update(kw)
    draft = api.AccountDraft(**values)
    env.run(api.create_account, draft)
    return draft


def row_of(env: Env, role: str) -> api.AccountRow:
    page = env.run(api.account_page, api.AccountFilter(text=role))
    return next(r for r in page.rows if r.role_name == role)


# --- 1. editing a person's details -----------------------------------------------------
def test_update_account_changes_audits_and_refuses(env: Env, person_factory):
    draft = create(env)
    role = draft.role_name
    before = api.AccountProfile.of(row_of(env, role))
    until = forms.vn_today() + dt.timedelta(days=90)
    after = api.AccountProfile(**{
        **before.__dict__, "full_name": "Trần Văn Bính", "unit": "Chi nhánh VPĐK Đồng Xoài",
        "position": None, "email": "binh.tv@stnmt.gov.vn", "access_until": until,
    })  # fmt: skip
    changes = env.run(api.update_account, role, after)
    assert changes == {
        "full_name": {"old": "Trần Văn Bình", "new": "Trần Văn Bính"},
        "unit": {"old": "Văn phòng đăng ký đất đai", "new": "Chi nhánh VPĐK Đồng Xoài"},
        "position": {"old": "Chuyên viên", "new": None},
        "email": {"old": None, "new": "binh.tv@stnmt.gov.vn"},
        "access_until": {"old": None, "new": until.isoformat()},
    }
    row = row_of(env, role)
    assert (row.full_name, row.unit, row.position, row.email, row.access_until) == (
        "Trần Văn Bính", "Chi nhánh VPĐK Đồng Xoài", None, "binh.tv@stnmt.gov.vn", until,
    )  # fmt: skip
    assert env.run(api.update_account, role, after) == {}  # nothing changed, nothing logged
    events = env.run(api.audit_entries, api.AuditFilter(person=role, action="ACCOUNT_UPDATE"))
    assert len(events) == 1
    assert events[0].actor == env.admin.role and events[0].detail["changes"] == changes
    assert "Đơn vị công tác: Văn phòng đăng ký đất đai → Chi nhánh VPĐK Đồng Xoài" in (
        forms.changes_text(changes)
    )
    assert f"Hết hạn truy cập: — → {until.strftime('%d/%m/%Y')}" in forms.changes_text(changes)

    # Refusals: a Vietnamese sentence, nothing changed.
    other = create(env, full_name="Lò Thị Xuân")
    cases = [
        ({"full_name": "  "}, "22023", "Họ tên không được để trống."),
        ({"person_id_number": "12345"}, "22023", "Số định danh cá nhân phải gồm đúng 12 chữ số."),
        ({"email": "binh@"}, "22023", "Địa chỉ thư điện tử không hợp lệ."),
        ({"access_until": forms.vn_today() - dt.timedelta(days=1)}, "22023", "đã qua"),
        ({"person_id_number": other.person_id_number}, "23505",
         f'đã có tài khoản "{other.role_name}" (đang hoạt động); mỗi người chỉ được có một'),
    ]  # fmt: skip
    for change, state, words in cases:
        with pytest.raises(api.AdminError) as err:
            env.run(api.update_account, role, api.AccountProfile(**{**after.__dict__, **change}))
        assert err.value.sqlstate == state and words in err.value.message, change
        assert not ENGLISH_STATES.search(err.value.message)
    assert api.AccountProfile.of(row_of(env, role)) == after
    # The dialog's own checks say the same before sending.
    problems = forms.profile_problems(
        api.AccountProfile(**{**after.__dict__, "unit": "", "contractor_project": "DA-1",
                              "access_until": None}), after)  # fmt: skip
    assert [f for f, _ in problems] == ["unit", "access_until"]

    # A clerk, and the administrator without the second factor: refused by the database.
    clerk = person_factory(env.db, rights={"cadastral": ["editor"]}, whole_province=True)
    for dsn, words in ((clerk.dsn, "không có quyền quản trị"), (env.admin.dsn, "xác thực hai lớp")):
        with psycopg.connect(dsn, autocommit=True) as conn:
            with pytest.raises(api.AdminError) as err:
                api.update_account(conn, role, before)
            assert err.value.denied and words in err.value.message
    assert api.AccountProfile.of(row_of(env, role)) == after

    # A disabled account is history: not edited.
    env.run(api.disable_account, other.role_name, "Nghỉ việc")
    with pytest.raises(api.AdminError) as err:
        env.run(api.update_account, other.role_name,
                api.AccountProfile(other.person_id_number, "Lò Thị Xuân", "Khác"))  # fmt: skip
    assert "đã bị vô hiệu hóa" in err.value.message


# --- 2. Vietnamese state words -----------------------------------------------------------
def test_state_words_in_messages_are_vietnamese(env: Env):
    draft = create(env)
    with pytest.raises(api.AdminError) as err:
        env.run(api.unlock_account, draft.role_name)
    assert (
        err.value.message
        == f'Tài khoản "{draft.role_name}" không bị khóa (tài khoản đang hoạt động).'
    )
    env.run(api.lock_account, draft.role_name, "Thử")
    with pytest.raises(api.AdminError) as err:
        env.run(api.lock_account, draft.role_name, "Lần hai")
    assert "tài khoản đang bị khóa, không phải đang hoạt động" in err.value.message
    assert not ENGLISH_STATES.search(err.value.message)
    with pytest.raises(api.AdminError) as err:
        env.run(api.create_account, api.AccountDraft(
            env.tracker.track(env.db, env.tracker.new_role_name("dup")),
            draft.person_id_number, "Trùng Người", "Đơn vị"))  # fmt: skip
    assert f'đã có tài khoản "{draft.role_name}" (đang bị khóa)' in err.value.message
    assert not ENGLISH_STATES.search(err.value.message)


# --- 3. the paged list, filtered in SQL ------------------------------------------------
def test_account_page_filters_and_pages_in_sql(env: Env):
    tag = uuid.uuid4().hex[:6]
    unit = f"Phòng Kinh tế xã Tân Lập {tag}"
    made = [create(env, unit=unit, full_name=f"Ngô Thị Hạnh {i}") for i in range(3)] + [
        create(env, unit=f"  PHÒNG KINH TẾ XÃ TÂN LẬP {tag.upper()} ", full_name="Hà Văn Đông")
    ]
    key = f"phong kinh te xa tan lap {tag}"
    facets = {f.key: f for f in env.run(api.account_facets)["unit"]}
    assert facets[key].accounts == 4 and facets[key].label == unit  # the usual spelling
    page = env.run(api.account_page, api.AccountFilter(unit=key, limit=3))
    names = sorted(d.role_name for d in made)
    assert (page.total, [r.role_name for r in page.rows]) == (4, names[:3])
    page2 = env.run(api.account_page, api.AccountFilter(unit=key, limit=3, offset=3))
    assert (page2.total, [r.role_name for r in page2.rows], page2.offset) == (4, names[3:], 3)
    # Text without diacritics, state, kind, commune, never signed in.
    page = env.run(api.account_page, api.AccountFilter(unit=key, text="ha van dong"))
    assert [r.role_name for r in page.rows] == [made[3].role_name]
    env.run(api.lock_account, made[0].role_name, "Thử lọc")
    page = env.run(api.account_page, api.AccountFilter(unit=key, state="locked"))
    assert [r.role_name for r in page.rows] == [made[0].role_name] and page.total == 1
    assert env.run(api.account_page, api.AccountFilter(unit=key, kind="update")).total == 0
    assert env.run(api.account_page, api.AccountFilter(unit=key, kind="read")).total == 4
    assert env.run(api.account_page, api.AccountFilter(unit=key, login="never")).total == 4
    assert env.run(api.account_page, api.AccountFilter(unit=key, login="7d")).total == 0
    assert (
        env.run(api.account_page, api.AccountFilter(unit=key, commune=env.communes[1])).total == 0
    )
    assert (
        env.run(api.account_page, api.AccountFilter(unit=key, commune=env.communes[0])).total == 4
    )
    past = env.run(api.account_page, api.AccountFilter(unit=key, offset=100))
    assert (past.rows, past.total) == ([], 4)
    with pytest.raises(api.AdminError) as err:
        env.run(api.account_page, api.AccountFilter(login="yesterday"))
    assert "Điều kiện đăng nhập không hợp lệ" in err.value.message


# --- 4. accounts report by normalised unit -----------------------------------------------
def test_accounts_report_groups_spellings_of_one_unit(env: Env):
    tag = uuid.uuid4().hex[:6]
    usual = f"Phòng Tài nguyên và Môi trường {tag}"
    for spelling in (usual, usual, f" phòng tài nguyên  và môi trường {tag}",
                     f"PHONG TAI NGUYEN VA MOI TRUONG {tag.upper()}"):  # fmt: skip
        create(env, unit=spelling)
    today = dt.datetime.now(export.VN).date()
    names, rows = env.run(api.run_report, "accounts", today, today)
    mine = [r for r in rows if tag in forms.fold(r[0])]
    assert len(mine) == 1
    row = dict(zip(names, mine[0], strict=True))
    assert row["unit"] == usual
    assert (row["issued"], row["active_now"], row["total_now"], row["spellings"]) == (4, 4, 4, 3)


# --- 5. the lockout agent's heartbeat ------------------------------------------------------
def test_agent_heartbeat_and_login_report_notice(env: Env, tmp_path):
    now = dt.datetime.now(dt.UTC)
    assert "chưa từng báo về" in forms.agent_notice([], now)
    with psycopg.connect(env.db, autocommit=True) as owner:
        owner.execute("DELETE FROM sys.agent_heartbeat")
    assert env.run(api.agent_status) == []
    agent = Agent(env.db, tmp_path)  # what `landrec agent` runs every minute
    agent.enforce_policies()
    status = env.run(api.agent_status)
    assert [s.agent for s in status] == [agent.name]
    assert abs((status[0].seen_at - now).total_seconds()) < 60
    assert forms.agent_notice(status) is None
    with psycopg.connect(env.db, autocommit=True) as owner:
        owner.execute(
            "UPDATE sys.agent_heartbeat SET seen_at = "
            "'2026-03-05 01:30+00'::timestamptz"  # 08:30 in Vietnam
        )
    notice = forms.agent_notice(env.run(api.agent_status))
    assert notice.startswith("Tác tử khóa tài khoản không chạy từ 05/03/2026 08:30:")
    # The agent role may beat, nobody else.
    with (
        psycopg.connect(env.admin.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT admin.agent_heartbeat('x')")


# --- through the widgets -----------------------------------------------------------------
def make_ctx(qtbot, session: Session) -> UiContext:
    window = QWidget()
    qtbot.addWidget(window)
    return UiContext(session, "vi", PluginRegistry(), window, TaskRunner(window))


def test_edit_dialog_and_report_notice(qtbot, env: Env):
    from plugins.admin.views_accounts import show_accounts
    from plugins.admin.views_reports import show_reports

    draft = create(env, full_name="Vũ Minh Tâm", unit="Văn phòng đăng ký đất đai")
    ctx = make_ctx(qtbot, env.session)
    window = show_accounts(ctx)
    qtbot.waitUntil(lambda: bool(window.rows), timeout=10_000)
    window.search.setText(draft.role_name)
    qtbot.waitUntil(lambda: window.select(draft.role_name), timeout=10_000)
    assert window.buttons["edit"].isEnabled()
    row = window.model.cells[window.model.objects.index(window.selected())]
    assert row[8] == "Chưa đăng nhập" and re.fullmatch(r"\d\d/\d\d/\d{4}", row[9])
    assert row[9] == forms.vn_today().strftime("%d/%m/%Y")  # issued today, Vietnam calendar
    qtbot.mouseClick(window.buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = window.dialogs[-1]
    assert dialog.windowTitle() == f"Sửa thông tin tài khoản {draft.role_name}"
    assert dialog.full_name.text() == "Vũ Minh Tâm" and not dialog.until_on.isChecked()

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # nothing changed
    assert dialog.message.text() == "Không có thông tin nào thay đổi." and dialog.isVisible()
    dialog.full_name.clear()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # refused in the dialog
    assert dialog.message.text() == "Họ tên không được để trống."
    dialog.full_name.setText("Vũ Minh Tâm")
    dialog.unit.setCurrentText("Chi nhánh VPĐK Bù Đăng")
    dialog.position.setText("Phó giám đốc")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.changes is not None, timeout=10_000)
    assert set(dialog.changes) == {"unit", "position"}
    qtbot.waitUntil(
        lambda: (
            window.selected() is not None and window.selected().unit == "Chi nhánh VPĐK Bù Đăng"
        ),
        timeout=10_000,
    )
    assert window.selected().position == "Phó giám đốc"
    assert window.status.text().startswith(f"Đã lưu thông tin của {draft.role_name}: ")
    assert "Đơn vị công tác: Văn phòng đăng ký đất đai → Chi nhánh VPĐK Bù Đăng" in (
        window.status.text()
    )
    window.close()

    # The audit viewer shows the edit as field, old, new (Vietnamese names, action too).
    from plugins.admin.views_audit import show_audit_viewer

    viewer = show_audit_viewer(ctx)
    qtbot.waitUntil(lambda: viewer.action.findData("ACCOUNT_UPDATE") > 0, timeout=10_000)
    viewer.person.setCurrentText(draft.role_name)
    viewer.action.setCurrentIndex(viewer.action.findData("ACCOUNT_UPDATE"))
    viewer.search()
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 1, timeout=10_000)
    assert viewer.model.cells[0][3] == "Sửa thông tin tài khoản"
    lines = viewer.show_entry(0)
    assert ("Đơn vị công tác", "Văn phòng đăng ký đất đai", "Chi nhánh VPĐK Bù Đăng", True) in lines
    assert ("Chức vụ", "Chuyên viên", "Phó giám đốc", True) in lines
    viewer.close()

    # The login report's header says when the agent stopped.
    with psycopg.connect(env.db, autocommit=True) as owner:
        owner.execute("DELETE FROM sys.agent_heartbeat")
        owner.execute(
            "INSERT INTO sys.agent_heartbeat (agent, seen_at) "
            "VALUES ('may-chu:/var/log', '2026-01-02 03:04+00')"
        )
    reports = show_reports(ctx)
    qtbot.waitUntil(lambda: bool(reports.columns), timeout=10_000)
    assert reports.notice.isHidden()  # accounts report: no notice
    reports.report.setCurrentIndex(reports.report.findData("login_summary"))
    reports.run()
    qtbot.waitUntil(lambda: reports.notice.isVisibleTo(reports), timeout=10_000)
    assert reports.notice.text().startswith("Tác tử khóa tài khoản không chạy từ 02/01/2026 10:04")
    reports.close()


def test_labels_people_read(qtbot, env: Env):
    from plugins.admin.views_policies import show_policies

    assert forms.unit_label("xã", "Xã Tân Thành") == "Xã Tân Thành"
    assert forms.unit_label("tinh", "Tỉnh Bình Phước") == "Tỉnh Bình Phước"
    assert forms.unit_label("xã", "Tân Thành") == "xã Tân Thành"
    assert forms.action_name("LOCK") == "Khóa tài khoản"
    assert forms.action_name("LOCK", "en") == "Account locked"
    assert forms.action_name("SOMETHING_NEW") == "SOMETHING_NEW"
    commune = {"id": 1, "code": "1", "name": "Xã Tân Thành", "kind": "xã"}
    preview = api.Preview(False, {"cadastral": ["viewer"]}, 12345, [commune])
    assert forms.preview_text(preview).startswith(
        "Xem bản đồ và hồ sơ thửa của 1 xã: Xã Tân Thành (12.345 thửa)."
    )
    dialog = show_policies(make_ctx(qtbot, env.session))
    qtbot.waitUntil(lambda: bool(dialog.policies), timeout=10_000)
    assert dialog.spins["policy.failed_login_window_minutes"].text() == "1.440 phút"
    assert dialog.spins["policy.idle_lock_minutes_admin"].text().endswith(" phút")
    assert dialog.spins["policy.max_failed_logins"].text() == "5 lần"
    dialog.close()


def test_rights_editor_keeps_areas_that_arrive_before_the_tree(qtbot, env: Env):
    from plugins.admin.views_rights import RightsEditor

    editor = RightsEditor(make_ctx(qtbot, env.session))
    qtbot.addWidget(editor)
    editor.set_areas([env.communes[1]], False)  # the account's row answered first
    tree = env.run(api.area_tree)
    editor.set_tree(tree)
    assert editor.communes() == [env.communes[1]] and not editor.whole.isChecked()
    editor.set_tree(tree)  # a reload keeps what the person ticked meanwhile
    assert editor.communes() == [env.communes[1]]
