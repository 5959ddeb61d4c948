"""Quản trị hệ thống — accounts, rights by subsystem and area, policies, audit log, reports.

Everything goes through the administrators' database API (db/sql/0007, 0013) on the
person's own TOTP-verified connection; the views live in ``views_*.py``.
"""

from app.plugin import NEEDS_STORE, Action, Menu, Plugin, Text, requires_right

# sys.admin is granted by the client only after this session's second factor
# (app.session.client_rights); the database refuses admin.* without it anyway.
ADMIN = (NEEDS_STORE, requires_right("sys.admin"))

PLUGIN = Plugin(
    id="admin",
    title=Text("Quản trị hệ thống", "System administration"),
    order=80,
    right="sys",
    menus=(Menu("admin", Text("Quản trị", "Administration"), order=80),),
    actions=(
        Action(
            "admin.accounts",
            "admin",
            Text("Tài khoản người dùng", "User accounts"),
            handler="plugins.admin.views_accounts:show_accounts",
            when=ADMIN,
            order=10,
        ),
        Action(
            "admin.rights",
            "admin",
            Text("Phân quyền theo phân hệ và địa bàn", "Rights by subsystem and area"),
            handler="plugins.admin.views_rights:show_rights_editor",
            when=ADMIN,
            order=20,
        ),
        Action(
            "admin.policies",
            "admin",
            Text("Chính sách mật khẩu và khóa tài khoản", "Password and lockout policies"),
            handler="plugins.admin.views_policies:show_policies",
            when=ADMIN,
            order=25,
        ),
        Action(
            "admin.audit_log",
            "admin",
            Text("Nhật ký hệ thống", "Audit log"),
            handler="plugins.admin.views_audit:show_audit_viewer",
            when=ADMIN,
            order=30,
            separator_before=True,
        ),
        Action(
            "admin.reports",
            "admin",
            Text("Báo cáo tài khoản và truy cập", "Account and access reports"),
            handler="plugins.admin.views_reports:show_reports",
            when=ADMIN,
            order=35,
        ),
        Action(
            "admin.backup",
            "admin",
            Text("Sao lưu, phục hồi dữ liệu", "Backup and restore"),
            when=ADMIN,
            order=40,
            separator_before=True,
        ),
    ),
)
