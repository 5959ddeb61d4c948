"""Quản trị hệ thống — accounts, rights by subsystem and area, audit log, backups."""

from app.plugin import NEEDS_STORE, Action, Menu, Plugin, Text, requires_right

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
            when=ADMIN,
            order=10,
        ),
        Action(
            "admin.rights",
            "admin",
            Text("Phân quyền theo phân hệ và địa bàn", "Rights by subsystem and area"),
            when=ADMIN,
            order=20,
        ),
        Action(
            "admin.audit_log",
            "admin",
            Text("Nhật ký hệ thống", "Audit log"),
            when=ADMIN,
            order=30,
        ),
        Action(
            "admin.backup",
            "admin",
            Text("Sao lưu, phục hồi dữ liệu", "Backup and restore"),
            when=ADMIN,
            order=40,
        ),
    ),
)
