"""Rights editor: subsystems × (view / edit / approve / administer), the area tree
(province → communes in force) and a preview of what the account will see, counted by
the server (admin.rights_preview). The account is found by a server-side search as the
administrator types (admin.account_page's accent-insensitive text filter, one short page),
never by loading every account."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
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
T_FIND = Text(
    "Gõ họ tên, tên đăng nhập, số định danh hoặc đơn vị (không cần dấu)…",
    "Type a name, user name, ID number or unit (accents optional)…",
)
T_MATCHES = Text("{n} tài khoản khớp.", "{n} matching accounts.")
T_MATCHES_MORE = Text(
    "{n} tài khoản khớp; hiện {shown} đầu tiên — gõ thêm để thu hẹp.",
    "{n} matching accounts; the first {shown} shown — type more to narrow.",
)
T_NO_MATCH = Text("Không có tài khoản nào khớp.", "No account matches.")
T_SEARCHING = Text("Đang tìm…", "Searching…")
T_CHOSEN = Text("Đang phân quyền cho: {name} ({role}) — {unit}",
                "Editing the rights of: {name} ({role}) — {unit}")  # fmt: skip
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
#: The account search: wait this long after the last key, show at most this many.
SEARCH_DELAY_MS = 250
SEARCH_LIMIT = 20


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
        self.accounts: dict[str, api.AccountRow] = {}  # the matches shown
        self.chosen: api.AccountRow | None = None
        self.busy = False
        self.pages_fetched = 0  # account_page calls (one per search)
        self._asked = 0
        self.setObjectName("rightsDialog")
        self.setWindowTitle(ctx.text(T_TITLE))
        self.resize(900, 680)
        self.account_search = QLineEdit()
        self.account_search.setObjectName("accountSearch")
        self.account_search.setPlaceholderText(ctx.text(T_FIND))
        self.account_search.setClearButtonEnabled(True)
        self.account_list = QListWidget()
        self.account_list.setObjectName("accountMatches")
        self.account_list.setMaximumHeight(120)
        self.account_list.currentItemChanged.connect(lambda item, _p: self._account_chosen(item))
        self.account_hint = QLabel()
        self.account_hint.setObjectName("accountHint")
        self.chosen_label = QLabel()
        self.chosen_label.setObjectName("chosenAccount")
        self.chosen_label.setStyleSheet("font-weight: bold;")
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.search)
        self.account_search.textEdited.connect(lambda _t: self.search_timer.start())
        self.account_search.returnPressed.connect(self.search)
        self.editor = RightsEditor(ctx, self)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(
            ctx.text(T_SAVE), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setObjectName("save")
        self.save_button.setAutoDefault(False)  # Enter in the search field searches
        self.buttons.addButton(ctx.text(T_CLOSE), QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        head = QHBoxLayout()
        head.addWidget(QLabel(ctx.text(T_ACCOUNT)))
        head.addWidget(self.account_search, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.account_list)
        layout.addWidget(self.account_hint)
        layout.addWidget(self.chosen_label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._wanted = role

    def load(self) -> None:
        self.editor.load_tree()
        if self._wanted:
            self.account_search.setText(self._wanted)
        self.search()

    # -- the account search --------------------------------------------------------------------
    def search(self) -> None:
        """One page of the accounts matching the typed text, from the server."""
        self.search_timer.stop()
        text = self.account_search.text().strip()
        self._asked += 1
        asked = self._asked
        self.pages_fetched += 1
        show_status(self.account_hint, self.ctx.text(T_SEARCHING), INFO_STYLE)
        # One more than shown: the disabled accounts are left out here (their rights are
        # not edited), and the page's total says how many more there are.
        f = api.AccountFilter(text=text or None, limit=SEARCH_LIMIT + 1)

        def done(page: api.AccountPage) -> None:
            if asked == self._asked:  # a later key asked again: show only the newest
                self._matches(page)

        def failed(err: api.AdminError) -> None:
            if asked == self._asked:
                show_status(self.account_hint, err.message, ERROR_STYLE)

        call(self.ctx, lambda c: api.account_page(c, f), done, failed)

    def _matches(self, page: api.AccountPage) -> None:
        rows = [r for r in page.rows if r.state != "disabled"][:SEARCH_LIMIT]
        self.accounts = {r.role_name: r for r in rows}
        self.account_list.blockSignals(True)
        self.account_list.clear()
        for r in rows:
            kind = forms.ACCOUNT_KIND_NAMES.get(r.account_kind)
            kind_text = self.ctx.text(kind) if kind else r.account_kind
            item = QListWidgetItem(f"{r.full_name} — {r.role_name} · {kind_text} ({r.unit})")
            item.setData(Qt.ItemDataRole.UserRole, r.role_name)
            self.account_list.addItem(item)
        self.account_list.blockSignals(False)
        if not rows:
            show_status(self.account_hint, self.ctx.text(T_NO_MATCH), ERROR_STYLE)
        elif page.total > len(rows):
            n = forms.format_count(page.total, self.ctx.lang)
            text = self.ctx.text(T_MATCHES_MORE).format(n=n, shown=len(rows))
            show_status(self.account_hint, text, INFO_STYLE)
        else:
            show_status(self.account_hint, self.ctx.text(T_MATCHES).format(n=len(rows)))
        if self._wanted in self.accounts:  # opened for this account: choose it
            self._select(self._wanted)
            self._wanted = None
        elif self.chosen is not None and self.chosen.role_name in self.accounts:
            # Still listed: highlight it without reloading it (keeps unsaved ticks).
            self.account_list.blockSignals(True)
            self._select(self.chosen.role_name)
            self.account_list.blockSignals(False)
        elif len(rows) == 1 and self.account_search.hasFocus() and self.chosen is None:
            self.account_list.setCurrentRow(0)  # the only match: take it

    def _select(self, role: str) -> bool:
        for i in range(self.account_list.count()):
            if self.account_list.item(i).data(Qt.ItemDataRole.UserRole) == role:
                self.account_list.setCurrentRow(i)
                return True
        return False

    def choose(self, role: str) -> bool:
        """Choose a listed match (what a click does); False if it is not listed."""
        return self._select(role)

    def role(self) -> str | None:
        return self.chosen.role_name if self.chosen else None

    def _account_chosen(self, item: QListWidgetItem | None) -> None:
        row = None if item is None else self.accounts.get(item.data(Qt.ItemDataRole.UserRole))
        if row is None:
            return
        self.chosen = row
        text = self.ctx.text(T_CHOSEN)
        self.chosen_label.setText(
            text.format(name=row.full_name, role=row.role_name, unit=row.unit)
        )
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
