"""The administration module's Qt-free core (app/admin) over migration 0013, as real roles.

The administrator verifies the second factor through ``Session.verify_totp`` — what the
TOTP dialog calls — and every call goes through ``Session.run`` on that connection.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from conftest import AdminEnv as Env
from conftest import admin_env, new_id
from psycopg.conninfo import make_conninfo

from app.admin import api, export, forms

pytestmark = pytest.mark.store


@pytest.fixture(scope="module")
def env(demo_db: str) -> Iterator[Env]:
    with admin_env(demo_db) as e:
        yield e


def make_draft(env: Env, **kw) -> api.AccountDraft:
    values = dict(
        role_name=env.tracker.track(env.db, env.tracker.new_role_name("u")),
        person_id_number=new_id(),
        full_name="Lê Thị Hoa",
        unit="Văn phòng đăng ký đất đai chi nhánh Đồng Xoài",
        position="Chuyên viên",
        rights={"cadastral": ["viewer", "editor"]},
        communes=list(env.communes),
    )
    values.update(kw)
    return api.AccountDraft(**values)


def owner_parcels(db: str, communes: list[int]) -> int:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL AND commune_id IN "
            "(SELECT unnest(%s::bigint[]) UNION SELECT predecessor_id FROM "
            "ref.admin_unit_succession WHERE successor_id = ANY (%s::bigint[]))",
            (communes, communes),
        ).fetchone()[0]


def test_overview_preview_and_actions(env: Env):
    draft = make_draft(env)
    password = env.run(api.create_account, draft)
    assert len(password) >= 12
    rows = {r.role_name: r for r in env.run(api.list_accounts)}
    row = rows[draft.role_name]
    assert (row.state, row.effective_state, row.account_kind) == ("active", "active", "update")
    assert row.communes == sorted(env.communes) and len(row.commune_names) == 2
    assert row.must_change_password and row.issued_by == env.admin.role
    assert row.kinds == {"cadastral": ["editor", "viewer"]}

    preview = env.run(api.rights_preview, draft.rights, env.communes, False)
    assert preview.parcels == owner_parcels(env.db, env.communes) > 0
    assert [c["parcels"] for c in preview.communes] == [
        owner_parcels(env.db, [c["id"]]) for c in preview.communes
    ]
    text = forms.preview_text(preview)
    assert text.startswith("Xem bản đồ và hồ sơ thửa của 2 xã: ")
    assert f"({forms.format_count(preview.parcels)} thửa)" in text
    assert "Sửa: Địa chính." in text and "Duyệt" not in text
    whole = env.run(api.rights_preview, {"cadastral": ["viewer"]}, [], True)
    with psycopg.connect(env.db) as conn:
        total = conn.execute("SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL").fetchone()
    assert whole.parcels == total[0] and "toàn tỉnh" in forms.preview_text(whole)

    env.run(api.lock_account, draft.role_name, "Chuyển công tác theo văn bản số 12/VPĐK")
    locked = {r.role_name: r for r in env.run(api.list_accounts)}[draft.role_name]
    assert locked.state == "locked" and "Chuyển công tác" in locked.lock_reason
    env.run(api.unlock_account, draft.role_name)
    new_password = env.run(api.reset_password, draft.role_name)
    assert new_password != password
    env.run(api.disable_account, draft.role_name, "Nghỉ hưu")
    gone = {r.role_name: r for r in env.run(api.list_accounts)}[draft.role_name]
    assert (gone.state, gone.effective_state) == ("disabled", "disabled")
    assert gone.lock_reason == "Nghỉ hưu"

    actions = [
        e.action
        for e in env.run(api.audit_entries, api.AuditFilter(person=draft.role_name))
        if e.target == draft.role_name
    ]
    for expected in ("ACCOUNT_CREATE", "LOCK", "UNLOCK", "PASSWORD_CHANGE", "ACCOUNT_DISABLE"):
        assert expected in actions


def test_refusals_are_clear_and_change_nothing(env: Env, person_factory):
    first = make_draft(env)
    env.run(api.create_account, first)
    assert [m.role_name for m in env.run(api.find_person, first.person_id_number)] == [
        first.role_name
    ]
    assert env.run(api.find_person, new_id()) == []
    before = len(env.run(api.list_accounts))
    dup = make_draft(env, person_id_number=first.person_id_number)
    with pytest.raises(api.AdminError) as err:
        env.run(api.create_account, dup)
    assert err.value.duplicate and "đã có tài khoản" in err.value.message
    assert len(env.run(api.list_accounts)) == before

    # Policies: the server's bounds, refused in Vietnamese, nothing stored.
    policies = {p.key: p for p in env.run(api.list_policies)}
    length = policies["policy.password_min_length"]
    assert (length.min_value, length.max_value, length.value) == (9, 64, 9)
    with pytest.raises(api.AdminError) as err:
        env.run(api.save_policies, {"policy.lockout_minutes": 30, "policy.password_min_length": 8})
    assert err.value.message == "Giá trị của policy.password_min_length phải từ 9 đến 64."
    assert forms.policy_problem(length, 8) is not None and forms.policy_problem(length, 12) is None
    after = {p.key: p for p in env.run(api.list_policies)}
    assert after["policy.lockout_minutes"].value == 15  # the whole save was rolled back

    # Bad area: a commune id that is not one.
    with pytest.raises(api.AdminError) as err:
        env.run(api.save_rights_and_areas, first.role_name, {"planning": ["viewer"]}, [-5], False)
    assert "không tồn tại" in err.value.message
    row = {r.role_name: r for r in env.run(api.list_accounts)}[first.role_name]
    assert row.kinds == {"cadastral": ["editor", "viewer"]}  # rights unchanged too

    # A person without the administrator right, and an administrator without the second
    # factor in this session: the database refuses both (42501), with a Vietnamese sentence.
    clerk = person_factory(env.db, rights={"cadastral": ["editor"]}, whole_province=True)
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        for fn in (api.list_accounts, api.list_policies):
            with pytest.raises(api.AdminError) as err:
                fn(conn)
            assert err.value.denied and "quản trị" in err.value.message
    with psycopg.connect(env.admin.dsn, autocommit=True) as conn:
        with pytest.raises(api.AdminError) as err:
            api.create_account(conn, make_draft(env))
        assert err.value.denied and "xác thực hai lớp" in err.value.message
        with pytest.raises(api.AdminError) as err:
            api.audit_verify(conn)
        assert err.value.denied


def test_reports_audit_and_export(env: Env, tmp_path):
    draft = make_draft(env, unit="Trung tâm phát triển quỹ đất (báo cáo)")
    env.run(api.create_account, draft)
    env.run(api.lock_account, draft.role_name, "Theo đề nghị của thủ trưởng đơn vị")
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(env.db, autocommit=True) as owner:  # what the agent reports (P5)
        for _ in range(2):
            owner.execute(
                "SELECT admin.record_login_failure(%s, %s, '10.0.0.7', 'password')",
                (env.admin.role, now),
            )
        owner.execute("SELECT admin.record_login(%s, %s, '10.0.0.7')", (env.admin.role, now))
    today = dt.datetime.now(export.VN).date()  # the reports' calendar
    names, rows = env.run(api.run_report, "accounts", today - dt.timedelta(days=1), today)
    assert names[:3] == ["unit", "issued", "locked"]
    by_unit = {r[0]: r for r in rows}
    assert by_unit[draft.unit][1:] == (1, 1, 0, 0, 0, 1, 0, 1, 1)  # …, one spelling

    names, rows = env.run(api.run_report, "activity", today, today)
    mine = [r for r in rows if r[1] == env.admin.role]
    assert mine and mine[0][0] == today.strftime("%Y-%m") and mine[0][8] >= 2  # events

    names, rows = env.run(api.run_report, "logins", today, today, role=env.admin.role)
    outcomes = sorted(r[names.index("outcome")] for r in rows)
    assert outcomes == ["LOGIN", "LOGIN_FAILED", "LOGIN_FAILED"]
    assert {r[names.index("client")] for r in rows} == {"10.0.0.7"}
    _, failed = env.run(
        api.run_report, "logins", today, today, role=env.admin.role, failed_only=True
    )
    assert len(failed) == 2
    names, rows = env.run(api.run_report, "login_summary", today, today)
    summary = {r[0]: r for r in rows}[env.admin.role]
    assert summary[3:5] == (1, 2)
    with pytest.raises(api.AdminError) as err:
        env.run(api.run_report, "accounts", today, today - dt.timedelta(days=3))
    assert "sau ngày kết thúc" in err.value.message

    entries = env.run(api.audit_entries, api.AuditFilter(person=draft.role_name, action="LOCK"))
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("LOCK", draft.role_name, env.admin.role)
    ]
    account_rows = env.run(
        api.audit_entries, api.AuditFilter(table_name="sys.account", person=env.admin.role)
    )
    assert account_rows and all(e.table_name == "sys.account" for e in account_rows)
    facets = env.run(api.audit_facets)
    assert "LOCK" in facets["action"] and "sys.account" in facets["table"]
    result = env.run(api.audit_verify)
    assert result.ok and result.reason == "ok" and result.checked > 0
    last = env.run(api.audit_entries, api.AuditFilter(action="AUDIT_VERIFY", limit=1))[0]
    assert last.actor == env.admin.role and last.detail["ok"] is True

    # Export: CSV (UTF-8 with BOM, dd/mm/yyyy) and XLSX (real dates), then an EXPORT event.
    headers = ["Thời điểm", "Người thực hiện", "Hành động", "Đối tượng"]
    table = [(e.logged_at, e.actor, e.action, e.target) for e in entries]
    export.write_csv(tmp_path / "nhat_ky.csv", headers, table)
    with open(tmp_path / "nhat_ky.csv", encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    local = entries[0].logged_at.astimezone(export.VN)
    assert lines == [headers, [local.strftime("%d/%m/%Y %H:%M:%S"), env.admin.role, "LOCK",
                               draft.role_name]]  # fmt: skip
    export.write_xlsx(tmp_path / "nhat_ky.xlsx", headers, table, sheet="Nhật ký")
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "nhat_ky.xlsx").active
    assert ws.title == "Nhật ký"
    assert [c.value for c in ws[1]] == headers
    assert ws["A2"].value == local.replace(tzinfo=None, microsecond=0)
    assert ws["A2"].number_format == "dd/mm/yyyy hh:mm:ss" and ws["C2"].value == "LOCK"
    env.run(api.report_export, "audit.log", 1, str(tmp_path / "nhat_ky.xlsx"))
    exported = env.run(api.audit_entries, api.AuditFilter(action="EXPORT", limit=1))[0]
    assert exported.actor == env.admin.role and exported.detail["rows"] == 1


def test_forms_check_before_the_server():
    draft = api.AccountDraft(role_name="Nguyen Van", person_id_number="12345", full_name=" ",
                             unit="", rights={"cadastral": ["viewer"]})  # fmt: skip
    fields = [f for f, _ in forms.draft_problems(draft)]
    assert fields == ["role_name", "full_name", "person_id_number", "unit", "areas"]
    assert forms.suggest_role_name("Nguyễn Văn Đức") == "ducnv"
    assert forms.rights_from_matrix({("admin", "viewer"), ("cadastral", "editor")}) == {
        "cadastral": ["editor"],
        "admin": ["viewer"],
    }


def test_dsn_helper_is_not_needed_for_owner(demo_db):
    # The module never connects as the owner for administration: a superuser is refused
    # by sys.require_admin as well (it holds no account).
    with psycopg.connect(make_conninfo(demo_db), autocommit=True) as conn:
        with pytest.raises(api.AdminError) as err:
            api.list_accounts(conn)
        assert err.value.denied
