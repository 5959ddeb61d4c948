"""Handlers of the cadastral editing commands (loaded only when one is used): the
editor dock on the right of the main window, its canvas tools, the approver's review."""

from __future__ import annotations

from typing import Any

from app.plugin import AppContext, Text

T_DOCK = Text("Biên tập biến động", "Change-set editor")
EDITOR_WIDTH = 380  # px: Vietnamese labels and the corner table without truncation


def _follow_dock(dock: Any, panel: Any) -> Any:
    """The drafts are drawn on the map while the editor dock is open: closing the dock
    (its ×) takes them and the editing tool off the canvas, showing it again puts the
    drafts back. Tabbing another dock in front of it is not closing it."""
    from PySide6.QtCore import QEvent, QObject

    class Follower(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Close:
                panel.detach_overlay()
            elif event.type() == QEvent.Type.Show:
                panel.attach_overlay()
            return False

    follower = Follower(dock)
    dock.installEventFilter(follower)
    return follower


def editor(ctx: AppContext) -> Any:
    """The editor dock's panel (created on first use, then shown and raised)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget, QScrollArea

    from app.ui.edit_panel import EditPanel

    win = ctx.window
    panel = getattr(win, "edit_panel", None)
    if panel is None:
        panel = EditPanel(ctx, win.canvas)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(panel)
        dock = QDockWidget(ctx.text(T_DOCK), win)
        dock.setObjectName("dock.cadastral.editor")
        dock.setWidget(scroll)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        # Beside the parcel dock as a tab, not squeezed under it: the editor needs the
        # column's full height (corner table, items, problems) and ~380 px of width.
        others = [
            d
            for d in win.findChildren(QDockWidget)
            if d is not dock
            and win.dockWidgetArea(d) == right
            and d.isVisible()
            and not d.isFloating()
        ]
        win.addDockWidget(right, dock)
        if others:
            win.tabifyDockWidget(others[0], dock)
        win.resizeDocks([dock], [EDITOR_WIDTH], Qt.Orientation.Horizontal)
        dock.overlay_follower = _follow_dock(dock, panel)
        win.edit_panel, win.edit_dock = panel, dock
    win.edit_dock.show()
    win.edit_dock.raise_()
    return panel


def open_change_set(ctx: AppContext) -> Any:
    panel = editor(ctx)
    panel.reason_edit.setFocus()
    return panel


def split(ctx: AppContext) -> Any:
    return editor(ctx).start_split()


def merge(ctx: AppContext) -> Any:
    return editor(ctx).start_merge()


def reshape(ctx: AppContext) -> Any:
    return editor(ctx).start_reshape()


def new_parcel(ctx: AppContext) -> Any:
    return editor(ctx).start_new_parcel()


def measure_distance(ctx: AppContext) -> Any:
    return editor(ctx).start_measure(False)


def measure_area(ctx: AppContext) -> Any:
    return editor(ctx).start_measure(True)


def review(ctx: AppContext) -> Any:
    from app.ui.review_dialog import show_review

    return show_review(ctx)
