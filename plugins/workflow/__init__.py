"""Quy trình xử lý hồ sơ — the dossier workflow: intake, checks, approval of mutations."""

from app.plugin import NEEDS_STORE, Action, Menu, Plugin, Text, requires_right

PLUGIN = Plugin(
    id="workflow",
    title=Text("Quy trình xử lý hồ sơ", "Dossier workflow"),
    order=60,
    right="flow",
    menus=(Menu("workflow", Text("Xử lý hồ sơ", "Workflow"), order=60),),
    actions=(
        Action(
            "workflow.inbox",
            "workflow",
            Text("Hồ sơ đang xử lý", "Dossiers in progress"),
            when=(NEEDS_STORE, requires_right("flow.read")),
            order=10,
        ),
        Action(
            "workflow.intake",
            "workflow",
            Text("Tiếp nhận hồ sơ…", "Receive a dossier…"),
            when=(NEEDS_STORE, requires_right("flow.write")),
            order=20,
        ),
        Action(
            "workflow.approve",
            "workflow",
            Text("Duyệt biến động", "Approve mutations"),
            when=(NEEDS_STORE, requires_right("flow.approve")),
            order=30,
        ),
    ),
)
