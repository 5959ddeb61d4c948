"""Rights editor: subsystems × (view / edit / approve / administer), the area tree
(province → communes in force) and a preview of what the account will see, counted by
the server (admin.rights_preview)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.admin import api, forms
from app.plugin import AppContext, Text
from plugins.admin.views_common import (
    ERROR_STYLE,
    INFO_STYLE,
    OK_STYLE,
    call,
    open_gated,
    show_status,
)

T_RIGHTS = Text("Quyền theo phân hệ", "Rights by subsystem")
T_AREAS = Text("Địa bàn", "Area")
T_WHOLE = Text("Toàn tỉnh", "Whole province")
T_PREVIEW = Text("Tài khoản sẽ được", "The account will")
T_COUNTING = Text("Đang tính…", "Counting…")
T_TITLE = Text("Phân quyền theo phân hệ và địa bàn", "Rights by subsystem and area")
T_ACCOUNT = Text("Tài khoản:", "Account:")
T_CHOOSE = Text("— chọn tài khoản —", "— choose an account —")
T_SAVED = Text("Đã lưu quyền và địa bàn của {role}.", "Rights and area of {role} saved.")
T_SAVING = Text("Đang lưu…", "Saving…")
T_NO_ROLE = Text("Hãy chọn một tài khoản.", "Choose an account.")
T_NO_AREA = Text(
    "Hãy chọn địa bàn: toàn tỉnh hoặc ít nhất một xã.",
    "Choose the area: the whole province or at least one commune.",
)
T_SAVE = Text("Lưu", "Save")
T_CLOSE = Text("Đóng", "Close")

#: Delay before the preview is asked again after a click (ms): one query per burst.
PREVIEW_DELAY_MS = 300


class RightsEditor(QWidget):
    """The matrix, the area tree and the preview. ``value()`` → (rights, communes, whole)."""

    changed = Signal()
    previewed = Signal(object)  # api.Preview, or None after an error

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.boxes: dict[tuple[str, str], QCheckBox] = {}
        self.commune_items: dict[int, QTreeWidgetItem] = {}
        self.province_item: QTreeWidgetItem | None = None
        self.preview: api.Preview | None = None
        self._filling = False
        self._asked = 0
        self._areas: tuple[list[int], bool] | None = None  # last set_areas, for set_tree

        matrix = QGroupBox(ctx.text(T_RIGHTS))
        grid = QGridLayout(matrix)
        for col, kind in enumerate(api.KINDS, start=1):
            head = QLabel(ctx.text(forms.KIND_NAMES[kind]))
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, col)
        for row, sub in enumerate(api.SUBSYSTEMS, start=1):
            grid.addWidget(QLabel(ctx.text(forms.SUBSYSTEM_NAMES[sub])), row, 0)
            for col, kind in enumerate(api.KINDS, start=1):
                box = QCheckBox()
                box.setObjectName(f"right:{sub}:{kind}")
                box.setToolTip(
                    f"{ctx.text(forms.SUBSYSTEM_NAMES[sub])} — {ctx.text(forms.KIND_NAMES[kind])}"
                )
                box.toggled.connect(lambda on, s=sub, k=kind: self._right_toggled(s, k, on))
                grid.addWidget(box, row, col, Qt.AlignmentFlag.AlignCenter)
                self.boxes[(sub, kind)] = box

        areas = QGroupBox(ctx.text(T_AREAS))
        area_layout = QVBoxLayout(areas)
        self.whole = QCheckBox(ctx.text(T_WHOLE))
        self.whole.setObjectName("wholeProvince")
        self.whole.toggled.connect(self._whole_toggled)
        self.tree = QTreeWidget()
        self.tree.setObjectName("areaTree")
        self.tree.setHeaderHidden(True)
        self.tree.setMinimumHeight(160)
        self.tree.itemChanged.connect(self._item_changed)
        area_layout.addWidget(self.whole)
        area_layout.addWidget(self.tree)

        top = QHBoxLayout()
        top.addWidget(matrix, 3)
        top.addWidget(areas, 2)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("preview")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        preview_box = QGroupBox(ctx.text(T_PREVIEW))
        QVBoxLayout(preview_box).addWidget(self.preview_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(preview_box)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(PREVIEW_DELAY_MS)
        self.timer.timeout.connect(self.ask_preview)
        self.changed.connect(self.timer.start)

    # -- the area tree -----------------------------------------------------------------------
    def load_tree(self) -> None:
        call(self.ctx, api.area_tree, self.set_tree, self._failed)

    def set_tree(self, tree: api.AreaTree) -> None:
        chosen, whole = self.communes(), self.whole.isChecked()
        if not self.commune_items and self._areas is not None:
            # The account's areas came before the tree (two queries racing): keep them.
            chosen, whole = self._areas
        self._filling = True
        self.tree.clear()
        self.commune_items.clear()
        root = QTreeWidgetItem([forms.unit_label(tree.province.kind, tree.province.name)
                                if tree.province else self.ctx.text(T_WHOLE)])  # fmt: skip
        root.setFlags(
            root.flags() | Qt.ItemFlag.ItemIsAutoTristate | Qt.ItemFlag.ItemIsUserCheckable
        )
        self.tree.addTopLevelItem(root)
        for unit in tree.communes:
            item = QTreeWidgetItem([f"{forms.unit_label(unit.kind, unit.name)} ({unit.code})"])
            item.setData(0, Qt.ItemDataRole.UserRole, unit.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Unchecked)
            root.addChild(item)
            self.commune_items[unit.id] = item
        root.setCheckState(0, Qt.CheckState.Unchecked)  # checking it checks every commune
        root.setExpanded(True)
        self.province_item = root
        self._filling = False
        self.set_areas(chosen, whole)

    def communes(self) -> list[int]:
        return sorted(
            cid
            for cid, item in self.commune_items.items()
            if item.checkState(0) == Qt.CheckState.Checked
        )

    def set_areas(self, communes: list[int], whole: bool) -> None:
        self._areas = (list(communes), whole)
        self._filling = True
        for cid, item in self.commune_items.items():
            item.setCheckState(
                0, Qt.CheckState.Checked if cid in communes else Qt.CheckState.Unchecked
            )
        self.whole.setChecked(whole)
        self.tree.setEnabled(not whole)
        self._filling = False
        self.changed.emit()

    def check_commune(self, commune_id: int, on: bool = True) -> None:
        self.commune_items[commune_id].setCheckState(
            0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        )

    # -- rights ------------------------------------------------------------------------------
    def rights(self) -> dict[str, list[str]]:
        return forms.rights_from_matrix({key for key, box in self.boxes.items() if box.isChecked()})

    def set_rights(self, rights: dict[str, list[str]] | None) -> None:
        self._filling = True
        wanted = forms.matrix_from_rights(rights)
        for key, box in self.boxes.items():
            box.setChecked(key in wanted)
        self._filling = False
        self.changed.emit()

    def value(self) -> tuple[dict[str, list[str]], list[int], bool]:
        whole = self.whole.isChecked()
        return self.rights(), [] if whole else self.communes(), whole

    def _right_toggled(self, sub: str, kind: str, on: bool) -> None:
        if self._filling:
            return
        # Every kind reads its subsystem: editing, approving or administering without
        # viewing is not a thing, so the View box follows.
        if on and kind != "viewer":
            self.boxes[(sub, "viewer")].setChecked(True)
        elif not on and kind == "viewer":
            for k in api.KINDS[1:]:
                self.boxes[(sub, k)].setChecked(False)
        self.changed.emit()

    def _whole_toggled(self, on: bool) -> None:
        self.tree.setEnabled(not on)
        if not self._filling:
            self.changed.emit()

    def _item_changed(self, item: QTreeWidgetItem, _column: int) -> None:
        if not self._filling:
            self.changed.emit()

    # -- preview -----------------------------------------------------------------------------
    def ask_preview(self) -> None:
        rights, communes, whole = self.value()
        self._asked += 1
        asked = self._asked
        show_status(self.preview_label, self.ctx.text(T_COUNTING), INFO_STYLE)

        def done(p: api.Preview) -> None:
            if asked != self._asked:  # a later click asked again: show only the newest
                return
            self.preview = p
            # "No area chosen" / "no rights" in the refusal colour, not the green of "saved".
            style = ERROR_STYLE if forms.preview_warns(p) else OK_STYLE
            show_status(self.preview_label, forms.preview_text(p, self.ctx.lang), style)
            self.previewed.emit(p)

        def failed(err: api.AdminError) -> None:
            if asked == self._asked:
                self._failed(err)
                self.previewed.emit(None)

        call(self.ctx, lambda c: api.rights_preview(c, rights, communes, whole), done, failed)

    def _failed(self, err: api.AdminError) -> None:
        show_status(self.preview_label, err.message, ERROR_STYLE)


class RightsDialog(QDialog):
    """Change the rights and area of an existing account (admin.set_rights + set_areas in
    one transaction)."""

    saved = Signal(str)

    def __init__(self, ctx: AppContext, role: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.accounts: dict[str, api.AccountRow] = {}
        self.busy = False
        self.setObjectName("rightsDialog")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(900, 620)
        self.account_box = QComboBox()
        self.account_box.setObjectName("account")
        self.account_box.currentIndexChanged.connect(self._account_chosen)
        self.editor = RightsEditor(ctx, self)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(
            ctx.text(T_SAVE), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setObjectName("save")
        self.buttons.addButton(ctx.text(T_CLOSE), QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        head = QHBoxLayout()
        head.addWidget(QLabel(ctx.text(T_ACCOUNT)))
        head.addWidget(self.account_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._wanted = role

    def load(self) -> None:
        self.editor.load_tree()
        call(self.ctx, api.list_accounts, self._accounts_loaded, self._error)

    def _accounts_loaded(self, rows: list[api.AccountRow]) -> None:
        self.accounts = {r.role_name: r for r in rows if r.state != "disabled"}
        self.account_box.blockSignals(True)
        self.account_box.clear()
        self.account_box.addItem(self.ctx.text(T_CHOOSE), None)
        for r in self.accounts.values():
            self.account_box.addItem(f"{r.role_name} — {r.full_name} ({r.unit})", r.role_name)
        self.account_box.blockSignals(False)
        if self._wanted in self.accounts:
            self.account_box.setCurrentIndex(self.account_box.findData(self._wanted))

    def role(self) -> str | None:
        return self.account_box.currentData()

    def _account_chosen(self, _index: int) -> None:
        row = self.accounts.get(self.role() or "")
        if row is None:
            return
        self.editor.set_rights(row.kinds)
        self.editor.set_areas(row.communes, row.whole_province)
        self.message.clear()

    def save(self) -> None:
        if self.busy:
            return
        role = self.role()
        if not role:
            show_status(self.message, self.ctx.text(T_NO_ROLE), ERROR_STYLE)
            return
        rights, communes, whole = self.editor.value()
        if rights and not whole and not communes:
            show_status(self.message, self.ctx.text(T_NO_AREA), ERROR_STYLE)
            return
        self.busy = True
        self.save_button.setEnabled(False)
        show_status(self.message, self.ctx.text(T_SAVING))
        call(
            self.ctx,
            lambda c: api.save_rights_and_areas(c, role, rights, communes, whole),
            lambda _: self._saved(role),
            self._error,
        )

    def _saved(self, role: str) -> None:
        self.busy = False
        self.save_button.setEnabled(True)
        show_status(self.message, self.ctx.text(T_SAVED).format(role=role), OK_STYLE)
        self.saved.emit(role)

    def _error(self, err: api.AdminError) -> None:
        self.busy = False
        self.save_button.setEnabled(True)
        show_status(self.message, err.message, ERROR_STYLE)


def show_rights_editor(ctx: AppContext, role: str | None = None) -> QDialog | None:
    """Menu handler: Quản trị → Phân quyền theo phân hệ và địa bàn."""
    return open_gated(ctx, lambda: RightsDialog(ctx, role, ctx.window), RightsDialog.load)
