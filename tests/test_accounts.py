"""Account policies and the administrators' API (migration 0007), through real connections.

People are real LOGIN roles; administrators have verified their TOTP code in the session.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import uuid
from contextlib import redirect_stdout

import psycopg
import psycopg.conninfo
import pytest

from app.security import totp

pytestmark = pytest.mark.store

CREATE = "SELECT admin.create_account(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
BBOX_READ = "SELECT * FROM api.parcels_in_bbox(%s, %s, %s, %s)"


def new_id_number() -> str:
    return f"{uuid.uuid4().int % 10**12:012d}"


def create_account(
    admin_conn: psycopg.Connection,
    api_accounts,
    db: str,
    rights: dict | None = None,
    *,
    communes: list[int] | None = None,
    whole_province: bool = True,
    project: str | None = None,
    access_until: dt.date | None = None,
    id_number: str | None = None,
    full_name: str = "Trần Thị Bình",
) -> tuple[str, str]:
    role = api_accounts.track(db, api_accounts.new_role_name())
    temp = admin_conn.execute(
        CREATE,
        (
            role,
            id_number or new_id_number(),
            full_name,
            "Văn phòng đăng ký đất đai",
            "Chuyên viên",
            "0912 345 678",
            "binh@example.vn",
            json.dumps(rights or {}),
            communes,
            whole_province,
            project,
            access_until,
        ),
    ).fetchone()[0]
    return role, temp


def dsn_as(db: str, role: str, password: str) -> str:
    return psycopg.conninfo.make_conninfo(db, user=role, password=password)


def change_password(db: str, role: str, old: str, new: str) -> None:
    with psycopg.connect(dsn_as(db, role, old), autocommit=True) as conn:
        conn.execute("SELECT sys.change_password(%s, %s)", (old, new))


def account_row(db: str, role: str) -> dict:
    with psycopg.connect(db) as conn:
        cur = conn.execute(
            "SELECT a.*, r.rolcanlogin FROM sys.account a "
            "JOIN pg_roles r ON r.rolname = a.role_name WHERE a.role_name = %s",
            (role,),
        )
        names = [c.name for c in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def group_roles(db: str, role: str) -> set[str]:
    with psycopg.connect(db) as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                (role,),
            )
        }


def audit_actions(db: str, target: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit.log WHERE target = %s ORDER BY id", (target,)
            )
        ]


def connect_refused(db: str, role: str, password: str) -> str:
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(dsn_as(db, role, password)).close()
    return str(err.value)


@pytest.fixture
def admin(demo_db, api_accounts):
    """A verified administrator session in the demo database."""
    a = api_accounts.administrator(demo_db)
    conn = api_accounts.verified_connection(a, demo_db)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def first_commune(demo_db) -> int:
    with psycopg.connect(demo_db) as conn:
        return conn.execute(
            "SELECT id FROM ref.admin_unit WHERE level = 'commune' AND valid_to IS NULL "
            "AND EXISTS (SELECT 1 FROM cad.parcel p WHERE p.commune_id = admin_unit.id) "
            "ORDER BY code LIMIT 1"
        ).fetchone()[0]


# --- first login -------------------------------------------------------------------------
def test_first_login_holds_for_psql_until_the_temporary_password_is_changed(
    demo_db, admin, api_accounts
):
    role, temp = create_account(admin, api_accounts, demo_db, {"cadastral": ["viewer"]})
    with psycopg.connect(demo_db) as owner:
        bbox = owner.execute(
            "SELECT ST_XMin(e) - 50, ST_YMin(e) - 50, ST_XMax(e) + 50, ST_YMax(e) + 50 "
            "FROM (SELECT ST_Envelope(geom) e FROM cad.parcel ORDER BY id LIMIT 1) x"
        ).fetchone()
    # The temporary password is generated server side and meets the policy.
    assert len(temp) >= 12
    with psycopg.connect(demo_db) as owner:
        assert (
            owner.execute("SELECT sys.password_problem(%s, %s, NULL)", (role, temp)).fetchone()[0]
            is None
        )
    row = account_row(demo_db, role)
    assert row["must_change_password"] and row["password_issued_at"] is not None
    assert group_roles(demo_db, role) == {"lr_person"}

    with psycopg.connect(dsn_as(demo_db, role, temp), autocommit=True) as conn:
        me = conn.execute("SELECT * FROM sys.my_account()").fetchone()
        assert me[0] == role and me[5] is True  # must_change_password
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM cad.parcel")
        # The API that lr_person may call answers nothing before the change either
        # (28000 "change the temporary password first" from 0006, or a plain 42501).
        with pytest.raises(psycopg.Error) as err:
            conn.execute(BBOX_READ, bbox).fetchall()
        assert err.value.sqlstate in ("28000", "42501"), err.value

        conn.execute("SELECT sys.change_password(%s, %s)", (temp, "Lua#Chin-2026"))
        # Same session: the subsystem role arrives with the change.
        assert conn.execute("SELECT count(*) FROM cad.parcel").fetchone()[0] > 0
        assert len(conn.execute(BBOX_READ, bbox).fetchall()) >= 1
        assert (
            conn.execute("SELECT must_change_password FROM sys.my_account()").fetchone()[0] is False
        )

    assert group_roles(demo_db, role) == {"lr_person", "lr_cadastral_viewer"}
    row = account_row(demo_db, role)
    assert not row["must_change_password"] and row["password_changed_at"] is not None
    assert audit_actions(demo_db, role)[-1] == "PASSWORD_CHANGE"
    assert "ACCOUNT_CREATE" in audit_actions(demo_db, role)
    # The old password is gone, the new one works.
    connect_refused(demo_db, role, temp)
    psycopg.connect(dsn_as(demo_db, role, "Lua#Chin-2026")).close()


# --- password policy ---------------------------------------------------------------------
def test_password_rules_each_refused_with_its_message(demo_db, admin, api_accounts):
    role, temp = create_account(
        admin, api_accounts, demo_db, {"cadastral": ["viewer"]}, full_name="Võ Thị Sáu"
    )
    cases = [
        ("Ab1!xyz", "ít nhất 9 ký tự"),  # too short
        ("Abcdefgh12", "còn thiếu: ký tự đặc biệt"),  # no special
        ("abcdefg#12", "còn thiếu: chữ hoa"),
        (f"X#{role.upper()}9a", "tên đăng nhập"),  # contains the user name
        ("Vothisau#2026", "họ tên"),  # contains the full name
        ("Matkhau@123", "quá phổ biến"),  # common (Vietnamese)
        ("P@ssw0rd2024!", "quá phổ biến"),  # common behind digits and leet
        ("Anhyeuem@2025", "quá phổ biến"),
        ("Mậtkhẩu#2026", "không dấu"),  # Vietnamese letters: keyboards differ
        ("A1#" + "x" * 70, "64 ký tự"),
        ("", "để trống"),
        (None, "để trống"),
    ]
    with psycopg.connect(dsn_as(demo_db, role, temp), autocommit=True) as conn:
        for new, expected in cases:
            with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
                conn.execute("SELECT sys.change_password(%s, %s)", (temp, new))
            assert expected in err.value.diag.message_primary, (new, err.value)
        # The wrong current password: 28P01, and nothing changes.
        with pytest.raises(psycopg.errors.InvalidPassword) as err:
            conn.execute("SELECT sys.change_password(%s, %s)", ("Sai#Mat-Khau1", "Hoa#Sen-2026"))
        assert "Mật khẩu hiện tại không đúng" in err.value.diag.message_primary
    assert account_row(demo_db, role)["must_change_password"] is True

    # Not one of the last 5.
    passwords = [f"Song#Hong-{i}x" for i in range(1, 7)]
    current = temp
    for new in passwords[:5]:
        change_password(demo_db, role, current, new)
        current = new
    with psycopg.connect(dsn_as(demo_db, role, current), autocommit=True) as conn:
        for reused in (passwords[0], passwords[4]):  # oldest kept and the current one
            with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
                conn.execute("SELECT sys.change_password(%s, %s)", (current, reused))
            message = err.value.diag.message_primary
            assert "5 lần gần nhất" in message or "khác mật khẩu hiện tại" in message
    change_password(demo_db, role, current, passwords[5])
    # passwords[0] has left the window of 5: allowed again.
    change_password(demo_db, role, passwords[5], passwords[0])


def test_history_table_and_secrets_are_readable_by_nobody(demo_db, person_factory):
    viewer = person_factory(demo_db, rights={"admin": ["administrator"]}, whole_province=True)
    with psycopg.connect(viewer.dsn, autocommit=True) as conn:
        for table in (
            "sys.password_history",
            "sys.account_secret",
            "sys.mfa_session",
            "sys.common_password",
            "sys.account",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO sys.mfa_session VALUES (pg_backend_pid(), now(), session_user)"
            )


def test_password_never_written_to_the_server_log(demo_db, admin, api_accounts, local_store):
    role, temp = create_account(admin, api_accounts, demo_db, {})
    secret_new = "Zz9#Kin" + uuid.uuid4().hex[:6]  # a good password, unique to this test
    with psycopg.connect(dsn_as(demo_db, role, temp), autocommit=True) as conn:
        # Typed as literals, as in psql: refused, and the statement stays out of the log.
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute(f"SELECT sys.change_password('{temp}', 'short')")
        with pytest.raises(psycopg.errors.InvalidPassword):
            conn.execute(f"SELECT sys.change_password('Wrong#{secret_new}', '{secret_new}')")
        conn.execute(f"SELECT sys.change_password('{temp}', '{secret_new}')")
    text = "".join(p.read_text(errors="replace") for p in local_store.log_dir.glob("*.json"))
    assert temp not in text and secret_new not in text


# --- administrators' API -------------------------------------------------------------------
def test_duplicate_person_id_refused_with_a_clear_message(demo_db, admin, api_accounts):
    id_number = new_id_number()
    first, _ = create_account(admin, api_accounts, demo_db, {}, id_number=id_number)
    second = api_accounts.track(demo_db, api_accounts.new_role_name())
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        admin.execute(
            CREATE,
            (
                second,
                id_number,
                "Trần Thị Bình",
                "VPĐK",
                None,
                None,
                None,
                "{}",
                None,
                True,
                None,
                None,
            ),
        )
    assert id_number in err.value.diag.message_primary
    assert first in err.value.diag.message_primary
    assert "một tài khoản" in err.value.diag.message_primary
    with psycopg.connect(demo_db) as conn:
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (second,)).fetchone()


BAD_CREATE_INPUT = [
    # (field overrides, SQLSTATE class, words of the message)
    ({"role": None}, "22023", "Tên đăng nhập"),
    ({"role": ""}, "22023", "Tên đăng nhập"),
    ({"role": "ab"}, "22023", "từ 3 đến 40"),
    ({"role": "x" * 10_000}, "22023", "từ 3 đến 40"),
    ({"role": "Nguyen_Van_A"}, "22023", "chữ thường"),
    ({"role": "nva'; DROP TABLE cad.parcel; --"}, "22023", "chữ thường"),
    ({"role": 'robert"); DROP ROLE lr_person; --'}, "22023", "chữ thường"),
    ({"role": "pg_evil"}, "22023", "dành cho hệ thống"),
    ({"role": "lr_cadastral_editor"}, "22023", "dành cho hệ thống"),
    ({"role": "landrec_owner"}, "22023", "dành cho hệ thống"),
    ({"id_number": None}, "22023", "12 chữ số"),
    ({"id_number": "12345"}, "22023", "12 chữ số"),
    ({"id_number": "1" * 10_000}, "22023", "12 chữ số"),
    ({"full_name": None}, "22023", "Họ tên"),
    ({"full_name": "   "}, "22023", "Họ tên"),
    ({"full_name": "N" * 10_000}, "22023", "dài quá"),
    ({"full_name": "Nguyễn\x07Văn"}, "22023", "điều khiển"),
    ({"unit": None}, "22023", "Đơn vị"),
    ({"email": "not-an-email"}, "22023", "thư điện tử"),
    ({"phone": "call me'; --"}, "22023", "điện thoại"),
    ({"rights": None}, "22023", "Quyền"),
    ({"rights": "[]"}, "22023", "đối tượng JSON"),
    ({"rights": '{"cadastral; DROP": ["viewer"]}'}, "22023", "Phân hệ"),
    ({"rights": '{"cadastral": ["god"]}'}, "22023", "Loại tài khoản"),
    ({"rights": '{"cadastral": "viewer"}'}, "22023", "danh sách"),
    ({"communes": [-1], "whole": False}, "22023", "Xã -1"),
    ({"communes": [None], "whole": False}, "22023", "Xã NULL"),
    ({"communes": [1, 2]}, "22023", "không chọn cả hai"),
    ({"whole": None}, "22023", "toàn tỉnh"),
    ({"project": "no-such-project"}, "22023", "Không có dự án"),
    ({"access_until": dt.date(2020, 1, 1)}, "22023", "đã qua"),
]


def test_bad_input_gets_a_clear_error_and_creates_nothing(demo_db, admin, api_accounts):
    with psycopg.connect(demo_db) as conn:
        before = conn.execute(
            "SELECT (SELECT count(*) FROM sys.account), (SELECT count(*) FROM pg_roles)"
        ).fetchone()
    for overrides, sqlstate, words in BAD_CREATE_INPUT:
        args = {
            "role": api_accounts.new_role_name(),
            "id_number": new_id_number(),
            "full_name": "Đỗ Văn Cường",
            "unit": "VPĐK",
            "email": None,
            "phone": None,
            "rights": '{"cadastral": ["viewer"]}',
            "communes": None,
            "whole": True,
            "project": None,
            "access_until": None,
        } | overrides
        if "role" not in overrides:
            api_accounts.track(demo_db, args["role"])  # dropped if it was ever created
        with pytest.raises(psycopg.Error) as err:
            admin.execute(
                CREATE,
                (
                    args["role"],
                    args["id_number"],
                    args["full_name"],
                    args["unit"],
                    None,
                    args["phone"],
                    args["email"],
                    args["rights"],
                    args["communes"],
                    args["whole"],
                    args["project"],
                    args["access_until"],
                ),
            )
        assert err.value.sqlstate == sqlstate, (overrides, err.value)
        assert words in err.value.diag.message_primary, (overrides, err.value)
    with psycopg.connect(demo_db) as conn:
        after = conn.execute(
            "SELECT (SELECT count(*) FROM sys.account), (SELECT count(*) FROM pg_roles)"
        ).fetchone()
        assert after == before
        assert conn.execute("SELECT to_regclass('cad.parcel')").fetchone()[0] is not None


def test_admin_api_is_refused_to_people_without_the_admin_kind(demo_db, person_factory):
    clerk = person_factory(demo_db, rights={"cadastral": ["viewer", "editor"]}, whole_province=True)
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                CREATE,
                (
                    "sneaky_one",
                    new_id_number(),
                    "A",
                    "B",
                    None,
                    None,
                    None,
                    "{}",
                    None,
                    True,
                    None,
                    None,
                ),
            )
        for call in (
            "SELECT admin.lock_account('x', 'y')",
            "SELECT admin.enforce_policies()",
            "SELECT admin.record_login_failure('x', now(), NULL)",
            "SELECT sys.sync_grants('x')",
            "SELECT sys.lock_internal('x', 'x', 'x')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(call)
    with psycopg.connect(demo_db) as conn:
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'sneaky_one'").fetchone()


def test_rights_and_areas_mirror_group_roles_and_rows(demo_db, admin, api_accounts, first_commune):
    role, temp = create_account(
        admin,
        api_accounts,
        demo_db,
        {"cadastral": ["viewer"]},
        communes=[first_commune],
        whole_province=False,
    )
    change_password(demo_db, role, temp, "Dong#Nai-2026")
    assert group_roles(demo_db, role) == {"lr_person", "lr_cadastral_viewer"}

    admin.execute(
        "SELECT admin.set_rights(%s, %s)",
        (role, '{"cadastral": ["viewer", "editor"], "planning": ["viewer"]}'),
    )
    assert group_roles(demo_db, role) == {
        "lr_person",
        "lr_cadastral_viewer",
        "lr_cadastral_editor",
        "lr_planning_viewer",
    }
    with psycopg.connect(dsn_as(demo_db, role, "Dong#Nai-2026"), autocommit=True) as conn:
        communes = {r[0] for r in conn.execute("SELECT DISTINCT commune_id FROM cad.parcel")}
        assert communes == {first_commune}
        me = conn.execute("SELECT kinds, whole_province, idle_lock_minutes FROM sys.my_account()")
        assert me.fetchone() == (
            {"cadastral": ["editor", "viewer"], "planning": ["viewer"]},
            False,
            15,
        )

    admin.execute("SELECT admin.set_areas(%s, NULL, true)", (role,))
    admin.execute("SELECT admin.set_rights(%s, '{}')", (role,))
    assert group_roles(demo_db, role) == {"lr_person"}
    with psycopg.connect(demo_db) as conn:
        assert conn.execute(
            "SELECT whole_province, (SELECT count(*) FROM sys.account_area WHERE role_name = %s) "
            "FROM sys.account WHERE role_name = %s",
            (role, role),
        ).fetchone() == (True, 0)
    assert audit_actions(demo_db, role).count("RIGHTS_CHANGE") == 3


def test_lock_and_unlock_by_an_administrator_hold_for_psql(demo_db, admin, api_accounts):
    role, temp = create_account(admin, api_accounts, demo_db, {"cadastral": ["viewer"]})
    change_password(demo_db, role, temp, "Ben#Thanh-2026")
    live = psycopg.connect(dsn_as(demo_db, role, "Ben#Thanh-2026"), autocommit=True)

    admin.execute("SELECT admin.lock_account(%s, %s)", (role, "Theo văn bản số 12/VPĐK"))
    row = account_row(demo_db, role)
    assert row["state"] == "locked" and row["lock_kind"] == "administrator"
    assert "Theo văn bản số 12/VPĐK" in row["lock_reason"] and row["rolcanlogin"] is False
    assert group_roles(demo_db, role) == {"lr_person"}
    assert "not permitted to log in" in connect_refused(demo_db, role, "Ben#Thanh-2026")
    with pytest.raises(psycopg.OperationalError):  # the open session was ended
        live.execute("SELECT 1")
    live.close()

    with pytest.raises(psycopg.errors.InvalidParameterValue):  # a reason is required
        admin.execute("SELECT admin.lock_account(%s, NULL)", (role,))
    admin.execute("SELECT admin.unlock_account(%s)", (role,))
    row = account_row(demo_db, role)
    assert row["state"] == "active" and row["lock_reason"] is None and row["rolcanlogin"]
    psycopg.connect(dsn_as(demo_db, role, "Ben#Thanh-2026")).close()
    assert audit_actions(demo_db, role)[-2:] == ["LOCK", "UNLOCK"]


def test_reset_password_and_disable(demo_db, admin, api_accounts):
    role, temp = create_account(admin, api_accounts, demo_db, {"cadastral": ["viewer"]})
    change_password(demo_db, role, temp, "Cho#Lon-2026a")
    new_temp = admin.execute("SELECT admin.reset_password(%s)", (role,)).fetchone()[0]
    assert new_temp != temp
    assert account_row(demo_db, role)["must_change_password"] is True
    assert group_roles(demo_db, role) == {"lr_person"}
    connect_refused(demo_db, role, "Cho#Lon-2026a")
    change_password(demo_db, role, new_temp, "Cho#Lon-2026b")

    admin.execute("SELECT admin.disable_account(%s, 'Nghỉ hưu')", (role,))
    row = account_row(demo_db, role)
    assert row["state"] == "disabled" and row["disable_reason"] == "Nghỉ hưu"
    assert not row["rolcanlogin"]
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        admin.execute("SELECT admin.unlock_account(%s)", (role,))
    # A disabled account frees the person's ID number for a new account.
    with psycopg.connect(demo_db) as conn:
        id_number = conn.execute(
            "SELECT person_id_number FROM sys.account WHERE role_name = %s", (role,)
        ).fetchone()[0]
    create_account(admin, api_accounts, demo_db, {}, id_number=id_number)


def test_last_administrator_and_self_cannot_be_locked_out(demo_db, admin):
    me = admin.execute("SELECT session_user").fetchone()[0]
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        admin.execute("SELECT admin.lock_account(%s, 'thử')", (me,))
    assert "chính mình" in err.value.diag.message_primary
    with psycopg.connect(demo_db) as conn:
        others = conn.execute(
            "SELECT count(*) FROM sys.account a JOIN sys.account_right r USING (role_name) "
            "WHERE a.state = 'active' AND r.subsystem = 'admin' AND r.kind = 'administrator' "
            "AND a.role_name <> %s",
            (me,),
        ).fetchone()[0]
    if others == 0:
        with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
            admin.execute("SELECT admin.set_rights(%s, '{}')", (me,))
        assert "quản trị viên cuối cùng" in err.value.diag.message_primary


def test_contractor_accounts_locked_when_the_project_is_accepted(demo_db, admin, api_accounts):
    code = f"DA-{uuid.uuid4().hex[:6]}"
    admin.execute("SELECT admin.create_project(%s, %s, %s)", (code, "Đo đạc bổ sung", "Công ty X"))
    role, temp = create_account(
        admin,
        api_accounts,
        demo_db,
        {"cadastral": ["viewer", "editor"]},
        project=code,
        access_until=dt.date.today() + dt.timedelta(days=90),
    )
    change_password(demo_db, role, temp, "Nha#Thau-2026")
    live = psycopg.connect(dsn_as(demo_db, role, "Nha#Thau-2026"), autocommit=True)

    locked = admin.execute("SELECT admin.set_project_state(%s, 'nghiem_thu')", (code,)).fetchone()
    assert locked[0] == 1
    row = account_row(demo_db, role)
    assert row["state"] == "locked" and row["lock_kind"] == "contractor_accepted"
    assert code in row["lock_reason"] and "nghiệm thu" in row["lock_reason"]
    assert "not permitted to log in" in connect_refused(demo_db, role, "Nha#Thau-2026")
    with pytest.raises(psycopg.OperationalError):
        live.execute("SELECT 1")
    live.close()
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        admin.execute("SELECT admin.unlock_account(%s)", (role,))
    assert "nghiệm thu" in err.value.diag.message_primary
    with pytest.raises(psycopg.errors.InvalidParameterValue):  # no new accounts either
        create_account(admin, api_accounts, demo_db, {}, project=code)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        admin.execute("SELECT admin.set_project_state(%s, 'finished')", (code,))


# --- time rules (admin.enforce_policies, run by the agent every minute) -------------------
def enforce(db: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute("SELECT * FROM admin.enforce_policies()").fetchall()


def test_time_rules_lock_with_their_reasons(demo_db, admin, api_accounts):
    overdue, _ = create_account(admin, api_accounts, demo_db, {})
    unused, t2 = create_account(admin, api_accounts, demo_db, {})
    change_password(demo_db, unused, t2, "Ha#Long-2026")
    expired, t3 = create_account(admin, api_accounts, demo_db, {})
    change_password(demo_db, expired, t3, "Hoi#An-2026")
    fresh, _ = create_account(admin, api_accounts, demo_db, {})
    with psycopg.connect(demo_db) as conn:
        conn.execute(
            "UPDATE sys.account SET password_issued_at = now() - interval '8 days', "
            "issued_at = now() - interval '8 days' WHERE role_name = %s",
            (overdue,),
        )
        conn.execute(
            "UPDATE sys.account SET issued_at = now() - interval '40 days', "
            "password_changed_at = now() - interval '31 days', "
            "password_issued_at = now() - interval '40 days', "
            "last_login_at = now() - interval '31 days' WHERE role_name = %s",
            (unused,),
        )
        conn.execute(
            "UPDATE sys.account SET access_until = current_date - 2 WHERE role_name = %s",
            (expired,),
        )

    actions = {(r[0], r[1]) for r in enforce(demo_db)}
    assert {(overdue, "lock"), (unused, "lock"), (expired, "lock")} <= actions
    assert account_row(demo_db, fresh)["state"] == "active"
    expected = {
        overdue: ("first_change_overdue", "7 ngày"),
        unused: ("unused", "30 ngày"),
        expired: ("access_expired", "Hết thời hạn truy cập"),
    }
    for role, (kind, words) in expected.items():
        row = account_row(demo_db, role)
        assert row["state"] == "locked" and row["lock_kind"] == kind, role
        assert words in row["lock_reason"] and not row["rolcanlogin"]
        assert audit_actions(demo_db, role)[-1] == "LOCK"

    # An unlock restarts the clocks: the next run does not lock again at once.
    admin.execute("SELECT admin.unlock_account(%s)", (overdue,))
    assert all(r[0] != overdue for r in enforce(demo_db))
    assert account_row(demo_db, overdue)["state"] == "active"


def test_password_changed_outside_the_api_locks_the_account(demo_db, admin, api_accounts):
    role, temp = create_account(admin, api_accounts, demo_db, {"cadastral": ["viewer"]})
    change_password(demo_db, role, temp, "Phu#Quoc-2026")
    with psycopg.connect(dsn_as(demo_db, role, "Phu#Quoc-2026"), autocommit=True) as conn:
        conn.execute(f"ALTER ROLE \"{role}\" PASSWORD 'weak'")  # what psql's \password does
    assert (role, "lock", "password changed outside the API") in enforce(demo_db)
    row = account_row(demo_db, role)
    assert row["lock_kind"] == "password_outside_api" and "ALTER ROLE" in row["lock_reason"]
    connect_refused(demo_db, role, "weak")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        admin.execute("SELECT admin.unlock_account(%s)", (role,))
    assert "đặt lại mật khẩu" in err.value.diag.message_primary
    new_temp = admin.execute("SELECT admin.reset_password(%s)", (role,)).fetchone()[0]
    admin.execute("SELECT admin.unlock_account(%s)", (role,))
    change_password(demo_db, role, new_temp, "Phu#Quoc-2027")


def test_policies_may_be_tightened_never_loosened(demo_db, admin, api_accounts):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        admin.execute("SELECT admin.set_policy('policy.max_failed_logins', '10')")
    assert "từ 1 đến 5" in err.value.diag.message_primary
    for bad in ("'\"five\"'", "'4.5'", "NULL"):
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            admin.execute(f"SELECT admin.set_policy('policy.max_failed_logins', {bad})")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        admin.execute("SELECT admin.set_policy('policy.srid', '4326')")
    role, temp = create_account(admin, api_accounts, demo_db, {})
    admin.execute("SELECT admin.set_policy('policy.password_min_length', '14')")
    try:
        with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
            change_password(demo_db, role, temp, "Ca#Mau-2026")
        assert "ít nhất 14" in err.value.diag.message_primary
        change_password(demo_db, role, temp, "Ca#Mau-2026-Xanh")
    finally:
        admin.execute("SELECT admin.set_policy('policy.password_min_length', '9')")
    assert "SETTING_CHANGE" in audit_actions(demo_db, "policy.password_min_length")


# --- the first administrator and the demo accounts -----------------------------------------
def test_bootstrap_creates_the_first_administrator_once(fresh_db, api_accounts):
    from app.security.cli import register  # the lead wires it into app/cli.py
    from app.store.migrate import migrate

    migrate(fresh_db)
    role = api_accounts.track(fresh_db, api_accounts.new_role_name("boot"))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "admin",
            "bootstrap",
            "--dsn",
            fresh_db,
            "--role",
            role,
            "--full-name",
            "Nguyễn Văn Quản",
            "--id-number",
            "079123456789",
        ]
    )
    out = io.StringIO()
    with redirect_stdout(out):
        assert args.func(args) == 0
    text = out.getvalue()
    temp = text.split("Temporary password (shown once): ")[1].split()[0]
    uri = next(w for w in text.split() if w.startswith("otpauth://totp/LandRec:"))
    secret = totp.secret_from_uri(uri)

    from app.errors import UserFacingError

    args2 = parser.parse_args(
        [
            "admin",
            "bootstrap",
            "--dsn",
            fresh_db,
            "--role",
            "second_one",
            "--full-name",
            "B",
            "--id-number",
            "079123456780",
        ]
    )
    with pytest.raises(UserFacingError, match="đã có quản trị viên"):
        args2.func(args2)

    new = "Quan#Tri-2026"
    change_password(fresh_db, role, temp, new)
    with psycopg.connect(dsn_as(fresh_db, role, new), autocommit=True) as conn:
        me = conn.execute("SELECT is_administrator, idle_lock_minutes FROM sys.my_account()")
        assert me.fetchone() == (True, 5)
        assert conn.execute("SELECT sys.verify_totp(%s)", (totp.totp(secret),)).fetchone()[0]
        other = api_accounts.track(fresh_db, api_accounts.new_role_name())
        conn.execute(
            CREATE,
            (
                other,
                new_id_number(),
                "Lê Văn C",
                "VPĐK",
                None,
                None,
                None,
                '{"cadastral": ["viewer"]}',
                None,
                True,
                None,
                None,
            ),
        )


def test_demo_accounts_are_idempotent_and_only_for_the_local_store(
    demo_db, local_store, first_commune, tmp_path, api_accounts
):
    from app.errors import UserFacingError
    from app.security.accounts import (
        DEMO_ACCOUNTS,
        DEMO_ADMIN_TOTP_BASE32,
        check_local_store,
        provision_demo_accounts,
    )

    roles = [api_accounts.track(demo_db, a.role) for a in DEMO_ACCOUNTS]
    with psycopg.connect(demo_db) as conn:
        with pytest.raises(UserFacingError, match="local demo store"):
            check_local_store(conn, tmp_path)
        check_local_store(conn, local_store.directory)
        first = provision_demo_accounts(conn)
    history_sql = "SELECT count(*) FROM sys.password_history WHERE role_name = ANY(%s)"
    with psycopg.connect(demo_db) as conn:
        history = conn.execute(history_sql, (roles,)).fetchone()[0]
        second = provision_demo_accounts(conn)
        assert conn.execute(history_sql, (roles,)).fetchone()[0] == history  # no new password
    assert all(line.endswith("created") for line in first)
    assert all(line.endswith("kept") for line in second)

    by_role = {a.role: a for a in DEMO_ACCOUNTS}
    with psycopg.connect(dsn_as(demo_db, "demo_officer", by_role["demo_officer"].password)) as c:
        assert {r[0] for r in c.execute("SELECT DISTINCT commune_id FROM cad.parcel")} == {
            first_commune
        }
    with psycopg.connect(dsn_as(demo_db, "demo_clerk", by_role["demo_clerk"].password)) as c:
        assert c.execute("SELECT must_change_password FROM sys.my_account()").fetchone() == (False,)
        assert c.execute("SELECT count(DISTINCT commune_id) > 1 FROM cad.parcel").fetchone()[0]
    with psycopg.connect(
        dsn_as(demo_db, "demo_admin", by_role["demo_admin"].password), autocommit=True
    ) as c:
        code = totp.totp(totp.from_base32(DEMO_ADMIN_TOTP_BASE32))
        assert c.execute("SELECT sys.verify_totp(%s)", (code,)).fetchone()[0] is True
        assert len(c.execute("SELECT * FROM admin.list_accounts()").fetchall()) >= 4

    # A locked demo account comes back with the next run.
    with psycopg.connect(demo_db) as conn:
        conn.execute("SELECT sys.lock_internal('demo_clerk', 'administrator', 'thử')")
        conn.commit()
        provision_demo_accounts(conn)
    assert account_row(demo_db, "demo_clerk")["state"] == "active"


def test_hand_made_grants_and_logins_are_put_back_to_the_table(demo_db, person_factory):
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    locked = person_factory(demo_db)
    with psycopg.connect(demo_db, autocommit=True) as conn:
        # A superuser grants editing by hand, and "unlocks" a locked role by hand.
        conn.execute(f'GRANT lr_cadastral_editor TO "{viewer.role}"')
        conn.execute("SELECT sys.lock_internal(%s, 'administrator', 'thử')", (locked.role,))
        conn.execute(f'ALTER ROLE "{locked.role}" LOGIN')
    actions = {(r[0], r[1], r[2]) for r in enforce(demo_db)}
    assert (viewer.role, "repair", "group roles -lr_cadastral_editor") in actions
    assert (locked.role, "repair", "NOLOGIN set") in actions
    assert group_roles(demo_db, viewer.role) == {"lr_person", "lr_cadastral_viewer"}
    assert account_row(demo_db, locked.role)["rolcanlogin"] is False
    # Repaired once: the next run leaves them alone.
    assert all(r[0] not in (viewer.role, locked.role) for r in enforce(demo_db))


def test_bad_input_to_every_other_admin_function_changes_nothing(demo_db, admin, api_accounts):
    role, _ = create_account(admin, api_accounts, demo_db, {"cadastral": ["viewer"]})
    evil = "x'; DROP TABLE sys.account; --"
    calls = [
        ("SELECT admin.set_rights(%s, %s)", (None, "{}"), "Tên đăng nhập"),
        ("SELECT admin.set_rights(%s, %s)", ("y" * 10_000, "{}"), "Tên đăng nhập"),
        ("SELECT admin.set_rights(%s, %s)", (evil, "{}"), "Không có tài khoản"),
        ("SELECT admin.set_rights(%s, %s)", (role, None), "Quyền"),
        ("SELECT admin.set_rights(%s, %s)", (role, '{"admin": ["root"]}'), "Loại tài khoản"),
        ("SELECT admin.set_areas(%s, %s, %s)", (role, None, None), "toàn tỉnh"),
        ("SELECT admin.set_areas(%s, %s, %s)", (role, [10**15], False), "không tồn tại"),
        ("SELECT admin.lock_account(%s, %s)", (role, None), "Lý do khóa"),
        ("SELECT admin.lock_account(%s, %s)", (role, "z" * 10_000), "dài quá"),
        ("SELECT admin.lock_account(%s, %s)", (evil, "lý do"), "Không có tài khoản"),
        ("SELECT admin.unlock_account(%s)", (None,), "Tên đăng nhập"),
        ("SELECT admin.unlock_account(%s)", (role,), "không bị khóa"),
        ("SELECT admin.reset_password(%s)", (evil,), "Không có tài khoản"),
        ("SELECT admin.disable_account(%s, %s)", (role, "  "), "Lý do vô hiệu hóa"),
        ("SELECT admin.issue_totp(%s)", (None,), "Tên đăng nhập"),
        ("SELECT admin.create_project(%s, %s, %s)", (None, "a", "b"), "Mã dự án"),
        ("SELECT admin.create_project(%s, %s, %s)", (evil, "a", "b"), "Mã dự án"),
        ("SELECT admin.set_project_state(%s, %s)", ("nope", "nghiem_thu"), "Không có dự án"),
        ("SELECT admin.set_project_state(%s, %s)", ("nope", None), "Trạng thái dự án"),
        ("SELECT admin.set_policy(%s, %s)", (None, "5"), "Không có chính sách"),
        ("SELECT admin.set_policy(%s, %s)", (evil, "5"), "Không có chính sách"),
    ]
    snapshot_sql = (
        "SELECT (SELECT jsonb_agg(a ORDER BY role_name) FROM sys.account a), "
        "(SELECT jsonb_agg(r ORDER BY r) FROM sys.account_right r), "
        "(SELECT jsonb_agg(s ORDER BY key) FROM sys.setting s), "
        "(SELECT count(*) FROM sys.contractor_project)"
    )
    with psycopg.connect(demo_db) as conn:
        before = conn.execute(snapshot_sql).fetchone()
    for sql, params, words in calls:
        with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
            admin.execute(sql, params)
        assert words in err.value.diag.message_primary, (sql, params, err.value)
    with psycopg.connect(demo_db) as conn:
        assert conn.execute(snapshot_sql).fetchone() == before
    with (  # the agent's functions too
        pytest.raises(psycopg.errors.InvalidParameterValue),
        psycopg.connect(demo_db) as conn,
    ):
        conn.execute("SELECT admin.record_login_failure(NULL, now(), NULL)")


def test_a_hand_written_looser_policy_is_clamped_to_the_regulation(demo_db):
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sys.setting (key, value, description) "
            "VALUES ('policy.max_failed_logins', '50', 'by hand') "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
        try:
            assert conn.execute("SELECT sys.policy_int('policy.max_failed_logins')").fetchone() == (
                5,
            )
            conn.execute(
                "UPDATE sys.setting SET value = '\"x\"' WHERE key = 'policy.max_failed_logins'"
            )
            assert conn.execute("SELECT sys.policy_int('policy.max_failed_logins')").fetchone() == (
                5,
            )
        finally:
            conn.execute("DELETE FROM sys.setting WHERE key = 'policy.max_failed_logins'")


def test_0007_applies_to_a_store_already_at_the_other_heads(fresh_db):
    """A store upgraded from 0005/0006 (audit triggers in place) takes 0007: the migration
    writes no audited rows, which would break migrate()'s ownership pass."""
    from alembic import command

    from app.store.migrate import _engine, alembic_config, head_revision, migrate

    cfg = alembic_config()
    # The branches that were written beside this one; the merge revision 0008 follows.
    others = [b for b in ("0005", "0006", "0007") if b != "0007"]
    with _engine(fresh_db).connect() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["srid"] = 9212
        for head in others:
            command.upgrade(cfg, head)
        conn.commit()
    assert migrate(fresh_db).after == head_revision()
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM sys.common_password").fetchone()[0] > 500
        assert conn.execute("SELECT sys.policy_int('policy.lockout_minutes')").fetchone() == (15,)
