"""The editor's dock: open a change set (biến động), run the canvas tools, list its items
and the store's validation problems (a click shows the place on the map), the corner
table of the edited parcel, and submit it for approval.

Everything that talks to the store runs on a worker thread through the person's own
connection (``ctx.session.run``); the panel only shows results.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import shapely
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shapely.geometry import LineString

from app.edit import changeset as csapi
from app.edit import geometry as g
from app.edit.changeset import ChangeSetError, ValidationFailed
from app.edit.session import (
    KINDS,
    EditSession,
    ParcelGeom,
    fetch_parcels,
    neighbourhood,
    parcel_label,
)
from app.map.layers import PARCELS
from app.ui.edit_tools import (
    EditTool,
    MeasureTool,
    MergeTool,
    NewParcelTool,
    PolylineTool,
    SessionOverlay,
    SplitTool,
    VertexTool,
    format_area,
    format_length,
)
from app.ui.i18n import format_float, translate
from app.ui.record_forms import FORMS_BY_KIND, KEEPS_TOOLS, RecordForms, op_name
from app.ui.tables import read_only_table

#: Neighbours for snapping are fetched for views up to this many m² (≈ 1.5 × 1.5 km).
SNAP_FETCH_MAX_M2 = 2.5e6

_ERROR_STYLE = "color: #b00020;"
_OK_STYLE = "color: #1b5e20;"


def error_text(exc: BaseException, lang: str) -> str:
    """A short message for the clerk: our own Vietnamese/English text, or the store's
    Vietnamese message (its first line)."""
    if isinstance(exc, g.GeometryError):
        return exc.text(lang)
    if isinstance(exc, ChangeSetError):
        return exc.message
    if isinstance(exc, psycopg.Error):
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag else None
        return primary or (str(exc).splitlines() or [type(exc).__name__])[0]
    return str(exc) or type(exc).__name__


class NewParcelDialog(QDialog):
    """The attributes a new parcel needs besides its outline."""

    def __init__(
        self,
        area_m2: float,
        lang: str,
        parent: QWidget | None = None,
        title: str | None = None,
        legal_area: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("newParcelDialog")
        self.setWindowTitle(title or translate("EditPanel", "New parcel"))
        form = QFormLayout(self)
        form.addRow(translate("EditPanel", "Computed area"), QLabel(format_area(area_m2, lang)))
        self.legal_area: QLineEdit | None = None
        if legal_area:
            self.legal_area = QLineEdit()
            self.legal_area.setObjectName("attributesLegalArea")
            form.addRow(translate("EditPanel", "Legal area (m²)"), self.legal_area)
        self.land_use = QLineEdit()
        self.land_use.setObjectName("newParcelLandUse")
        self.land_use.setPlaceholderText("ONT, LUC, CLN…")
        form.addRow(translate("EditPanel", "Land-use code"), self.land_use)
        self.address = QLineEdit()
        form.addRow(translate("EditPanel", "Address"), self.address)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.land_use.text().strip():
            out["land_use_code"] = self.land_use.text().strip().upper()
        if self.address.text().strip():
            out["address"] = self.address.text().strip()
        text = self.legal_area.text().strip() if self.legal_area is not None else ""
        if text:
            # "1.234,5" (vi) or "1234.5": the last separator is the decimal one.
            t = text.replace(" ", "")
            if "," in t:
                t = t.replace(".", "").replace(",", ".")
            try:
                out["area_legal"] = float(t)
            except ValueError:
                out["area_legal"] = text  # the store refuses it with its own message
        return out


class EditPanel(QWidget):
    """The dock's widget. ``ctx`` is the application context (app.ui.context.UiContext):
    ``ctx.session.run(fn)`` runs ``fn(conn)`` on the person's connection and
    ``ctx.run_in_background`` keeps it off the UI thread."""

    # Emitted after every store reply (tests wait on it): "ok" or "error".
    finished = Signal(str)
    changeSetChanged = Signal(object)
    # The record forms got the selected parcel's details (tests wait on it).
    detailsLoaded = Signal(int)

    def __init__(self, ctx: Any, canvas: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editPanel")
        self.ctx, self.canvas = ctx, canvas
        self.lang: str = getattr(ctx, "lang", "vi")
        self.session = EditSession()
        self.session.stack.on_change = self._stack_changed
        # Drafts and problem markers are a canvas overlay, not a tool: the canvas keeps
        # its own navigation tools (and cursors) while no editing tool is active.
        self.overlay = SessionOverlay(self.session, self.lang)
        self.attach_overlay()
        overlay = self.overlay
        self.destroyed.connect(lambda *_: EditPanel._drop_overlay(canvas, overlay))
        self.tool: EditTool | None = None
        self.busy = 0
        self.fetching = False
        self.last_message = ""
        self._fetched: list[tuple[float, float, float, float]] = []
        self._build()
        self.show_problems([])
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(150)
        self._fetch_timer.timeout.connect(self._fetch_view_parcels)
        canvas.rendered.connect(lambda _t: self._fetch_timer.start())
        canvas.selectionChanged.connect(self._selection_changed)
        canvas.mapToolChanged.connect(self._canvas_tool_changed)
        self._update_enabled()
        if getattr(ctx, "session", None) is not None:
            self.load_drafts()

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        box = QGroupBox(translate("EditPanel", "Change set"))
        form = QFormLayout(box)
        self.kind_box = QComboBox()
        self.kind_box.setObjectName("changeSetKind")
        for code, (vi, en) in KINDS.items():
            self.kind_box.addItem(en if self.lang == "en" else vi, code)
        form.addRow(translate("EditPanel", "Kind"), self.kind_box)
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("changeSetReason")
        form.addRow(translate("EditPanel", "Reason"), self.reason_edit)
        self.dossier_edit = QLineEdit()
        self.dossier_edit.setObjectName("changeSetDossier")
        self.dossier_edit.setPlaceholderText("HS-2026/0001")
        form.addRow(translate("EditPanel", "Dossier number"), self.dossier_edit)
        self.open_button = QPushButton(translate("EditPanel", "Open change set"))
        self.open_button.setObjectName("openChangeSet")
        self.open_button.clicked.connect(self.open_change_set)
        form.addRow(self.open_button)
        drafts = QHBoxLayout()
        self.drafts_box = QComboBox()
        self.drafts_box.setObjectName("myDrafts")
        self.drafts_box.setToolTip(translate("EditPanel", "My change sets still in draft"))
        drafts.addWidget(self.drafts_box, 1)
        self.resume_button = QPushButton(translate("EditPanel", "Continue"))
        self.resume_button.setObjectName("resumeChangeSet")
        self.resume_button.clicked.connect(self.resume_change_set)
        drafts.addWidget(self.resume_button)
        # Label above, list full width: "#88 Tách thửa 25/11/2026 — HS-2026/0042" fits.
        form.addRow(QLabel(translate("EditPanel", "My drafts")))
        form.addRow(drafts)
        self.header = QLabel(translate("EditPanel", "No change set is open"))
        self.header.setObjectName("changeSetHeader")
        self.header.setWordWrap(True)
        form.addRow(self.header)
        layout.addWidget(box)

        tools = QGroupBox(translate("EditPanel", "Tools"))
        grid = QGridLayout(tools)
        self.tool_buttons: dict[str, QPushButton] = {}
        for i, (name, text, slot) in enumerate(
            (
                ("split", translate("EditPanel", "Split"), self.start_split),
                ("merge", translate("EditPanel", "Merge"), self.start_merge),
                ("reshape", translate("EditPanel", "Edit boundary"), self.start_reshape),
                ("new", translate("EditPanel", "New parcel"), self.start_new_parcel),
                ("attributes", translate("EditPanel", "Attributes…"), self.edit_attributes),
                (
                    "distance",
                    translate("EditPanel", "Measure distance"),
                    lambda: self.start_measure(False),
                ),
                ("area", translate("EditPanel", "Measure area"), lambda: self.start_measure(True)),
            )
        ):
            b = QPushButton(text)
            b.setObjectName(f"tool_{name}")
            b.clicked.connect(slot)
            grid.addWidget(b, i // 2, i % 2)
            self.tool_buttons[name] = b
        grid.setColumnStretch(0, 1)  # two even columns of buttons
        grid.setColumnStretch(1, 1)
        self.coord_edit = QLineEdit()
        self.coord_edit.setObjectName("typedCoordinates")
        self.coord_edit.setPlaceholderText(translate("EditPanel", "X (north); Y (east) in VN-2000"))
        self.coord_edit.returnPressed.connect(self.add_typed_point)
        # The field spans the row (its VN-2000 hint fits); its button fills the gap
        # beside the last tool button.
        grid.addWidget(self.coord_edit, 4, 0, 1, 2)
        add = QPushButton(translate("EditPanel", "Add point"))
        add.setObjectName("addTypedPoint")
        add.clicked.connect(self.add_typed_point)
        grid.addWidget(add, 3, 1)
        self.snap_spin = QSpinBox()
        self.snap_spin.setObjectName("snapPixels")
        self.snap_spin.setRange(0, 50)
        self.snap_spin.setValue(int(g.DEFAULT_SNAP_PX))
        self.snap_spin.setSuffix(" px")
        self.snap_spin.valueChanged.connect(self._snap_changed)
        grid.addWidget(QLabel(translate("EditPanel", "Snap tolerance")), 5, 0)
        grid.addWidget(self.snap_spin, 5, 1)
        layout.addWidget(tools)
        self.tools_box = tools
        # Transfer, mortgage, release, certificate: the tabs of the open set's kind.
        self.record_forms = RecordForms(self)
        self.record_forms.setVisible(False)
        layout.addWidget(self.record_forms)
        self.record_details: dict[str, Any] | None = None

        self.message_label = QLabel("")
        self.message_label.setObjectName("editMessage")
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)

        layout.addWidget(QLabel(translate("EditPanel", "Items of the change set")))
        self.items_list = QListWidget()
        self.items_list.setObjectName("changeSetItems")
        self.items_list.setMaximumHeight(90)
        layout.addWidget(self.items_list)
        self.remove_button = QPushButton(translate("EditPanel", "Remove item"))
        self.remove_button.setObjectName("removeItem")
        self.remove_button.clicked.connect(self.remove_selected_item)
        layout.addWidget(self.remove_button)

        self.problems_title = QLabel(
            translate("EditPanel", "Validation problems (click to show on the map)")
        )
        layout.addWidget(self.problems_title)
        self.problems_list = QListWidget()
        self.problems_list.setObjectName("validationProblems")
        self.problems_list.setMaximumHeight(110)
        self.problems_list.itemClicked.connect(self._problem_clicked)
        layout.addWidget(self.problems_list)

        self.corner_title = QLabel(translate("EditPanel", "Corner coordinates"))
        layout.addWidget(self.corner_title)
        self.corner_table = read_only_table(
            [
                translate("EditPanel", "Point"),
                translate("EditPanel", "X (m)"),
                translate("EditPanel", "Y (m)"),
                translate("EditPanel", "Edge (m)"),
            ],
            "cornerTable",
        )
        header = self.corner_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.corner_table.verticalHeader().setDefaultSectionSize(22)

        layout.addWidget(self.corner_table, 1)
        self.corner_summary = QLabel("")
        self.corner_summary.setObjectName("cornerSummary")
        layout.addWidget(self.corner_summary)

        row = QHBoxLayout()
        self.validate_button = QPushButton(translate("EditPanel", "Validate"))
        self.validate_button.setObjectName("validateChangeSet")
        self.validate_button.clicked.connect(self.validate)
        self.submit_button = QPushButton(translate("EditPanel", "Submit for approval"))
        self.submit_button.setObjectName("submitChangeSet")
        self.submit_button.clicked.connect(self.submit)
        row.addWidget(self.validate_button)
        row.addWidget(self.submit_button)
        layout.addLayout(row)

    # -- plumbing -----------------------------------------------------------------------
    def say(self, text: str, error: bool = False) -> None:
        self.last_message = text
        self.message_label.setText(text)
        self.message_label.setStyleSheet(_ERROR_STYLE if error else _OK_STYLE)

    def _run(
        self,
        fn: Callable[[psycopg.Connection], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """``fn(conn)`` on a worker with the person's connection; results on the UI
        thread. One job at a time: the buttons are disabled meanwhile."""
        self.busy += 1
        self._update_enabled()
        session = self.ctx.session

        def work() -> Any:
            return session.run(fn)

        def ok(result: Any) -> None:
            self.busy -= 1
            try:
                done(result)
            finally:
                self._update_enabled()
                self.finished.emit("ok")

        def bad(exc: BaseException) -> None:
            self.busy -= 1
            try:
                if failed is not None:
                    failed(exc)
                else:
                    self.say(error_text(exc, self.lang), error=True)
                if isinstance(exc, ValidationFailed) and exc.problems:
                    self.session.problems = list(exc.problems)
                    self.show_problems(exc.problems)
                if not isinstance(exc, g.GeometryError | psycopg.Error | ChangeSetError):
                    traceback.print_exception(exc)
            finally:
                self._update_enabled()
                self.finished.emit("error")

        self.ctx.run_in_background(work, ok, bad)

    def _update_enabled(self) -> None:
        idle = self.busy == 0
        open_ = self.session.change_set_id is not None and self.session.status == "nhap"
        self.open_button.setEnabled(idle)
        for name, b in self.tool_buttons.items():
            b.setEnabled(idle and (open_ or name in ("distance", "area")))
        self.remove_button.setEnabled(idle and open_)
        self.resume_button.setEnabled(idle and self.drafts_box.count() > 0)
        self.validate_button.setEnabled(idle and open_)
        self.submit_button.setEnabled(idle and open_ and self.items_list.count() > 0)
        self.record_forms.setEnabled(idle and open_)

    # -- the overlay's life follows the dock's (edit_actions.editor) --------------------
    def attach_overlay(self) -> None:
        if self.overlay not in self.canvas.overlays:
            self.canvas.overlays.append(self.overlay)
            self.canvas.update()

    def detach_overlay(self) -> None:
        """The editor was closed: its drafts leave the map, its tool the canvas."""
        if isinstance(self.canvas.map_tool, EditTool):
            self._install(None)
        self._drop_overlay(self.canvas, self.overlay)

    @staticmethod
    def _drop_overlay(canvas: Any, overlay: SessionOverlay) -> None:
        try:
            if overlay in canvas.overlays:
                canvas.overlays.remove(overlay)
                canvas.update()
        except RuntimeError:  # the canvas went first (window closing)
            pass

    def _install(self, tool: EditTool | None) -> None:
        previous, self.tool = self.tool, tool
        if tool is None:
            # Back to the canvas's own navigation tool — only if ours was installed.
            if previous is not None and self.canvas.map_tool is previous:
                self.canvas.set_map_tool(None)
        else:
            tool.snap_px = float(self.snap_spin.value())
            tool.overlay = self.overlay
            tool.on_cancel = lambda: self._install(None)
            self.canvas.set_map_tool(tool)
            self.canvas.setFocus()
            self._fetch_view_parcels()

    def _canvas_tool_changed(self, tool: object) -> None:
        # Pan, select … chosen on the map toolbar ended our tool: follow.
        if tool is None and self.tool is not None:
            self._install(None)
            self._update_enabled()

    def _snap_changed(self, value: int) -> None:
        if self.tool is not None:
            self.tool.snap_px = float(value)

    # -- change set ---------------------------------------------------------------------
    def open_change_set(self) -> None:
        kind = self.kind_box.currentData()
        reason = self.reason_edit.text().strip()
        dossier = self.dossier_edit.text().strip()
        if not reason:
            self.say(translate("EditPanel", "Give the reason of the change set"), error=True)
            return

        def work(conn: psycopg.Connection) -> Any:
            self.session.open(conn, kind, reason, dossier)  # opened and loaded: one statement
            return self.session.change_set

        self._run(work, self._loaded)

    def load_drafts(self) -> None:
        """One's own draft change sets, to continue one after a restart."""
        from app.edit import changeset

        def done(sets: list[Any]) -> None:
            self.drafts_box.clear()
            for cs in sets:
                kind = KINDS.get(cs.kind, (cs.kind, cs.kind))
                when = cs.created_at.strftime("%d/%m/%Y") if cs.created_at else ""
                label = f"#{cs.id} {kind[1] if self.lang == 'en' else kind[0]} {when}"
                if cs.dossier_number:
                    label += f" — {cs.dossier_number}"
                self.drafts_box.addItem(label, cs.id)
            self._update_enabled()

        me = self.ctx.session.user

        def mine(conn: psycopg.Connection) -> list[Any]:
            return [c for c in changeset.list_change_sets(conn, "nhap") if c.created_by == me]

        # Quietly, like the neighbour reads: it neither blocks the buttons nor signals.
        session = self.ctx.session
        self.ctx.run_in_background(lambda: session.run(mine), done, lambda _e: None)

    def resume_change_set(self) -> None:
        cs_id = self.drafts_box.currentData()
        if cs_id is None:
            return
        self._run(lambda conn: self.session.resume(conn, int(cs_id)), self._loaded)

    def _need_change_set(self) -> bool:
        if self.session.change_set_id is None or self.session.status != "nhap":
            self.say(
                translate("EditPanel", "Open a change set first (kind, reason, dossier number)"),
                error=True,
            )
            return False
        return True

    def _loaded(self, cs: Any) -> None:
        """Show the change set as the store has it now (items, drafted geometry)."""
        s = self.session
        kind = KINDS.get(s.kind or "", ("", ""))
        status = {
            "nhap": translate("EditPanel", "draft"),
            "da_nop": translate("EditPanel", "submitted"),
            "da_duyet": translate("EditPanel", "approved"),
            "tu_choi": translate("EditPanel", "rejected"),
        }.get(s.status or "", s.status or "")
        self.header.setText(
            translate("EditPanel", "Change set no. {id} — {kind} — {status}").format(
                id=s.change_set_id, kind=kind[1] if self.lang == "en" else kind[0], status=status
            )
        )
        self._show_record_forms()
        self.items_list.clear()
        drafted = []
        for item in getattr(cs, "items", None) or []:
            parents = ", ".join(self._label(p, self.lang) for p in item.parcel_ids or [])
            geoms = list(item.new_geometries or [])
            drafted.extend(geoms)
            areas = "; ".join(format_area(geom.area, self.lang) for geom in geoms)
            text = f"#{item.id} {self._op_name(item.op)}"
            detail = _record_detail(item)
            if detail:
                text += f" ({detail})"
            if parents:
                text += " — " + translate("EditPanel", "parcels {ids}").format(ids=parents)
            if areas:
                text += f" → {areas}"
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, item.id)
            self.items_list.addItem(it)
        self.overlay.drafted[:] = drafted
        self.show_problems(self.session.problems)
        self.changeSetChanged.emit(cs)
        self.canvas.update()

    def _label(self, pid: int | None, lang: str | None = None) -> str:
        """ "45 tờ 1": from the parcels held at full precision, else from the map's
        parcel layer (it carries the numbers), else the id."""
        if pid is None:
            return ""
        held = self.session.parcels.get(pid)
        if held is None or held.parcel_number is None:
            data = self.canvas.data.get(PARCELS)
            numbers = data.attrs if data is not None else {}
            if "parcel_number" in numbers and "sheet_number" in numbers:
                hit = [i for i, v in enumerate(data.ids) if int(v) == pid]
                if hit:
                    held = ParcelGeom(
                        pid,
                        0,
                        None,  # type: ignore[arg-type] - only the numbers are used
                        int(numbers["parcel_number"][hit[0]]),
                        int(numbers["sheet_number"][hit[0]]),
                    )
        return parcel_label(held, pid, lang or self.lang)

    def _op_name(self, op: str) -> str:
        return op_name(op)

    def show_problems(self, problems: Sequence[Any]) -> None:
        self.problems_list.clear()
        # Shown only when there is something to show: the corner table gets the room.
        self.problems_title.setVisible(bool(problems))
        self.problems_list.setVisible(bool(problems))
        for p in problems:
            where = (
                translate("EditPanel", "parcel {id}: ").format(
                    id=self._label(p.parcel_id, self.lang)
                )
                if getattr(p, "parcel_id", None)
                else ""
            )
            it = QListWidgetItem(f"{where}{p.message}")
            it.setData(Qt.ItemDataRole.UserRole, p)
            self.problems_list.addItem(it)

    def _problem_clicked(self, item: QListWidgetItem) -> None:
        self.highlight_problem(item.data(Qt.ItemDataRole.UserRole))

    def highlight_problem(self, problem: Any) -> None:
        """Show the problem's place: marked in red, the map moved there if needed."""
        loc = getattr(problem, "location", None)
        if loc is None and getattr(problem, "parcel_id", None):
            self.canvas.highlight([problem.parcel_id])
            return
        self.overlay.problem_location = loc
        if loc is not None and not loc.is_empty and self.canvas.view is not None:
            minx, miny, maxx, maxy = loc.bounds
            vx0, vy0, vx1, vy1 = self.canvas.view.bbox
            if not (vx0 <= minx and vy0 <= miny and vx1 >= maxx and vy1 >= maxy):
                pad = max(10.0, maxx - minx, maxy - miny)
                self.canvas.zoom_to_bbox(minx - pad, miny - pad, maxx + pad, maxy + pad)
        self.canvas.update()

    def remove_selected_item(self) -> None:
        item = self.items_list.currentItem()
        if item is None or not self._need_change_set():
            return
        item_id = int(item.data(Qt.ItemDataRole.UserRole))

        def work(conn: psycopg.Connection) -> Any:
            self.session.problems = []
            return self.session.remove_item(conn, item_id)  # one round trip

        self._run(work, self._loaded)

    def validate(self) -> None:
        if not self._need_change_set():
            return

        def work(conn: psycopg.Connection) -> Any:
            self.session.validate(conn)
            return self.session.change_set  # validating changes nothing: no reload

        def done(cs: Any) -> None:
            self._loaded(cs)
            n = len(self.session.problems)
            if n:
                self.say(translate("EditPanel", "{n} problem(s) found").format(n=n), True)
            else:
                self.say(translate("EditPanel", "No problems found"))

        self._run(work, done)

    def submit(self) -> None:
        if not self._need_change_set():
            return

        def work(conn: psycopg.Connection) -> Any:
            problems = self.session.validate(conn)
            if not problems:
                self.session.submit(conn)
            return self.session.change_set

        def done(cs: Any) -> None:
            self._loaded(cs)
            if self.session.problems:
                self.say(
                    translate(
                        "EditPanel", "Not submitted: fix the {n} problem(s) listed first"
                    ).format(n=len(self.session.problems)),
                    True,
                )
                return
            self._install(None)
            self.say(
                translate("EditPanel", "Change set no. {id} submitted for approval").format(
                    id=self.session.change_set_id
                )
            )

        self._run(work, done)

    # -- tools --------------------------------------------------------------------------
    def _tool_message(self, text: str) -> None:
        self.say(text, error=not isinstance(self.tool, MeasureTool))

    def start_split(self) -> SplitTool | None:
        if not self._need_change_set():
            return None
        tool = SplitTool(self.session, self._split_done, self._tool_message, self.lang)
        self._install(tool)
        self.say(
            translate(
                "EditPanel",
                "Draw the split line across the parcel; Enter or a double-click finishes",
            )
        )
        return tool

    def _split_target(self, line: LineString) -> int | None:
        sel = list(self.canvas.selection)
        if len(sel) == 1:
            return sel[0]
        data = self.canvas.data.get(PARCELS)
        if data is None or not len(data):
            return None
        idx = data.tree.query(line, predicate="intersects")
        if not len(idx):
            return None
        lengths = shapely.length(shapely.intersection(data.geoms[idx], line))
        return int(data.ids[idx[int(lengths.argmax())]])

    def _split_done(self, points: list[tuple[float, float]]) -> None:
        line = LineString(points)
        pid = self._split_target(line)
        if pid is None:
            self.say(
                g.GeometryError(
                    "no_crossing",
                    "Đường cắt không cắt qua thửa đất nào",
                    "The split line crosses no parcel",
                ).text(self.lang),
                True,
            )
            return

        def work(conn: psycopg.Connection) -> Any:
            if pid not in self.session.parcels:  # a plain dict update: the snapper is
                self.session.parcels.update(fetch_parcels(conn, ids=[pid]))  # UI-owned
            self.session.split(conn, pid, points)
            return self.session.change_set  # came with the draft's reply

        def done(cs: Any) -> None:
            self._loaded(cs)
            if self._report_draft(
                translate("EditPanel", "Split of parcel {id} drafted").format(
                    id=self._label(pid, self.lang)
                )
            ):
                self._install(None)

        self._run(work, done, self._draft_failed)

    def _draft_failed(self, exc: BaseException) -> None:
        self.say(error_text(exc, self.lang), error=True)
        loc = getattr(exc, "location", None)
        if loc is not None:
            self.highlight_problem(exc)

    def _report_draft(self, text: str) -> bool:
        """The store keeps a draft only when it found no problem; else they are listed
        (click one to see it on the map) and nothing was stored."""
        n = len(self.session.problems)
        if n:
            self.say(
                translate("EditPanel", "Not stored: the store found {n} problem(s)").format(n=n),
                True,
            )
            self.highlight_problem(self.session.problems[0])
            return False
        self.say(text)
        return True

    def start_merge(self) -> MergeTool | None:
        if not self._need_change_set():
            return None
        tool = MergeTool(self.session, self._merge_done, self._tool_message, self.lang)
        self._install(tool)
        self.say(
            translate("EditPanel", "Click the parcels to merge (Shift+click adds), then Enter")
        )
        return tool

    def _merge_done(self, ids: list[int]) -> None:
        def work(conn: psycopg.Connection) -> Any:
            self.session.merge(conn, ids)
            return self.session.change_set  # came with the draft's reply

        def done(cs: Any) -> None:
            self._loaded(cs)
            if self._report_draft(
                translate("EditPanel", "Merge of parcels {ids} drafted").format(
                    ids=", ".join(self._label(i, self.lang) for i in ids)
                )
            ):
                self._install(None)

        self._run(work, done, self._draft_failed)

    def start_reshape(self) -> VertexTool | None:
        if not self._need_change_set():
            return None
        sel = list(self.canvas.selection)
        if len(sel) != 1:
            self.say(translate("EditPanel", "Select the one parcel to edit first"), True)
            return None
        pid = sel[0]
        tool = VertexTool(
            self.session, self._reshape_done, self._tool_message, self.lang, target=pid
        )

        def work(conn: psycopg.Connection) -> Any:
            return neighbourhood(conn, [pid])

        def done(parcels: Any) -> None:
            self.session.set_parcels(parcels, [pid])
            self._install(tool)
            self.show_corners(self.session.geometry(pid))
            self.say(
                translate(
                    "EditPanel",
                    "Drag a vertex to move it, double-click an edge to add one, "
                    "Ctrl+click or Delete removes one; Enter saves",
                )
            )

        self._run(work, done)
        return tool

    def _reshape_done(self, changes: dict) -> None:
        def work(conn: psycopg.Connection) -> Any:
            self.session.save_reshape(conn)
            return self.session.change_set  # came with the draft's reply

        def done(cs: Any) -> None:
            self._loaded(cs)
            if self._report_draft(
                translate("EditPanel", "Boundary change of {n} parcel(s) drafted").format(
                    n=len(changes)
                )
            ):
                self._install(None)

        self._run(work, done, self._draft_failed)

    def start_new_parcel(self) -> NewParcelTool | None:
        if not self._need_change_set():
            return None
        tool = NewParcelTool(self.session, self._new_done, self._tool_message, self.lang)
        self._install(tool)
        self.say(translate("EditPanel", "Click the corners of the new parcel, then Enter"))
        return tool

    def _new_done(self, points: list[tuple[float, float]]) -> None:
        try:
            poly = g.polygon_from_points(points)
        except g.GeometryError as exc:
            self._draft_failed(exc)
            return
        dialog = NewParcelDialog(poly.area, self.lang, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        attrs = dialog.attributes()

        def work(conn: psycopg.Connection) -> Any:
            self.session.new_parcel(conn, points, attrs)
            return self.session.change_set  # came with the draft's reply

        def done(cs: Any) -> None:
            self._loaded(cs)
            if self._report_draft(translate("EditPanel", "New parcel drafted")):
                self._install(None)

        self._run(work, done, self._draft_failed)

    def edit_attributes(self) -> NewParcelDialog | None:
        """Land-use code, address or legal area of the selected parcel (land-use change,
        attribute change): one draft item, checked by the store like the others."""
        if not self._need_change_set():
            return None
        sel = list(self.canvas.selection)
        if len(sel) != 1:
            self.say(translate("EditPanel", "Select the one parcel to edit first"), True)
            return None
        pid = sel[0]
        data = self.canvas.data.get(PARCELS)
        held = self.session.parcels.get(pid)
        geom = held.geom if held else None
        if geom is None and data is not None:
            hit = [i for i, v in enumerate(data.ids) if int(v) == pid]
            geom = data.geoms[hit[0]] if hit else None
        dialog = NewParcelDialog(
            geom.area if geom is not None else 0.0,
            self.lang,
            self,
            title=translate("EditPanel", "Attributes of parcel {id}").format(
                id=self._label(pid, self.lang)
            ),
            legal_area=True,
        )
        self.attributes_dialog = dialog
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return dialog
        attrs = dialog.attributes()
        if not attrs:
            self.say(translate("EditPanel", "Nothing to change"), True)
            return dialog

        def work(conn: psycopg.Connection) -> Any:
            # Against the version the editor holds, as the geometry tools do: a change
            # approved since then is reported by the store, not taken as the base.
            if pid not in self.session.parcels:
                self.session.parcels.update(fetch_parcels(conn, ids=[pid]))
            self.session.attributes(conn, pid, attrs)
            return self.session.change_set  # came with the draft's reply

        def done(cs: Any) -> None:
            self._loaded(cs)
            self._report_draft(
                translate("EditPanel", "Attribute change of parcel {id} drafted").format(
                    id=self._label(pid, self.lang)
                )
            )

        def failed(exc: BaseException) -> None:
            self._draft_failed(exc)  # says who changed what, and the versions
            if isinstance(exc, csapi.ConflictError):
                self.session.parcels.pop(pid, None)  # the next try reads it as it is now

        self._run(work, done, failed)
        return dialog

    def start_measure(self, area: bool) -> MeasureTool:
        tool = MeasureTool(self.session, None, self._tool_message, self.lang, area=area)
        self._install(tool)
        self.say(translate("EditPanel", "Click the points to measure; Enter shows the result"))
        return tool

    def add_typed_point(self) -> None:
        try:
            xy = g.parse_vn2000(self.coord_edit.text())
        except g.GeometryError as exc:
            self.say(exc.text(self.lang), True)
            return
        if not isinstance(self.tool, PolylineTool | VertexTool):
            self.say(translate("EditPanel", "Start a drawing tool first"), True)
            return
        self.tool.add_point(xy)
        self.coord_edit.clear()
        self.canvas.update()

    # -- neighbours for snapping --------------------------------------------------------
    def _fetch_view_parcels(self) -> None:
        view = self.canvas.view
        if self.tool is None or view is None or self.fetching:
            return
        minx, miny, maxx, maxy = view.bbox
        if (maxx - minx) * (maxy - miny) > SNAP_FETCH_MAX_M2:
            return
        if any(
            f[0] <= minx and f[1] <= miny and f[2] >= maxx and f[3] >= maxy for f in self._fetched
        ):
            return
        box = (minx, miny, maxx, maxy)

        def done(parcels: Any) -> None:
            self.fetching = False
            self._fetched.append(box)
            self.session.add_parcels(parcels)  # on the UI thread: the snapper is UI-owned

        def failed(_exc: BaseException) -> None:
            self.fetching = False  # snapping then works on what is already held

        # Quietly, beside the clerk's work: the buttons stay as they are.
        self.fetching = True
        session = self.ctx.session
        self.ctx.run_in_background(
            lambda: session.run(lambda conn: fetch_parcels(conn, bbox=box)), done, failed
        )

    # -- corner table -------------------------------------------------------------------
    def _selection_changed(self, ids: list) -> None:
        self._record_selection(ids)
        if len(ids) == 1 and not isinstance(self.tool, VertexTool):
            pid = int(ids[0])
            if pid in self.session.parcels:
                self.show_corners(self.session.parcels[pid].geom)
                return
            data = self.canvas.data.get(PARCELS)
            if data is not None and data.simplify == 0:
                hit = [i for i, v in enumerate(data.ids) if int(v) == pid]
                if hit:
                    self.show_corners(data.geoms[hit[0]])
            self._fetch_corners(pid)

    def _fetch_corners(self, pid: int) -> None:
        """The map sends centimetre coordinates; the table promises millimetres: the
        parcel at full precision is read quietly (one round trip) and replaces them."""
        session = getattr(self.ctx, "session", None)
        if session is None:
            return

        def done(parcels: Any) -> None:
            if pid in parcels:
                self.session.add_parcels({pid: parcels[pid]})  # UI thread: snapper is ours
                if list(self.canvas.selection) == [pid] and not isinstance(self.tool, VertexTool):
                    self.show_corners(parcels[pid].geom)

        self.ctx.run_in_background(
            lambda: session.run(lambda conn: fetch_parcels(conn, ids=[pid])), done, lambda _e: None
        )

    def _stack_changed(self) -> None:
        if isinstance(self.tool, VertexTool) and self.tool.target in self.session.stack.state:
            self.show_corners(self.session.geometry(self.tool.target))
        if self.canvas is not None:
            self.canvas.update()

    def show_corners(self, geom: Any) -> None:
        rows = g.corner_table(geom)
        self.corner_table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            values = (
                str(r.number),
                format_float(r.x_north, self.lang, 3),
                format_float(r.y_east, self.lang, 3),
                format_float(r.edge_to_next, self.lang, 2),
            )
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.corner_table.setItem(i, c, item)
        self.corner_summary.setText(
            translate("EditPanel", "Area {area}, perimeter {length}").format(
                area=format_area(geom.area, self.lang), length=format_length(geom.length, self.lang)
            )
        )

    # -- record items: transfer, mortgage, release, certificate -------------------------
    def _show_record_forms(self) -> None:
        """The forms of the open set's kind; the geometry tools and the corner table give
        way to them for a transfer or a mortgage (no shape changes there)."""
        s = self.session
        kind = s.kind if s.change_set_id is not None and s.status == "nhap" else None
        self.record_forms.show_kind(kind)
        geometric = kind not in FORMS_BY_KIND or kind in KEEPS_TOOLS
        for w in (self.tools_box, self.corner_title, self.corner_table, self.corner_summary):
            w.setVisible(geometric)
        self.record_details = None  # a set was approved meanwhile: read the parcel again
        self._record_selection(list(self.canvas.selection))

    def _record_selection(self, ids: list) -> None:
        """The selected parcels named on the certificate form; the one selected parcel's
        holders and mortgages read quietly (api.parcel_details, one round trip)."""
        forms = self.record_forms
        if not forms.shown:
            return
        pids = [int(i) for i in ids]
        forms.certificate.set_parcels([self._label(p, self.lang) for p in pids])
        if len(pids) != 1:
            self.record_details = None
            forms.set_parcel(None)
            return
        if self.record_details and self.record_details["parcel"]["id"] == pids[0]:
            return
        session = getattr(self.ctx, "session", None)
        if session is None:
            return
        self.fetch_record_details(pids[0])

    def fetch_record_details(self, pid: int) -> None:
        from app.store.parcel_details import fetch_details

        session = self.ctx.session

        def done(details: Any) -> None:
            if list(self.canvas.selection) == [pid]:  # not an older click's late reply
                self.record_details = details
                self.record_forms.set_parcel(details)
                self.detailsLoaded.emit(pid)

        self.ctx.run_in_background(
            lambda: session.run(lambda conn: fetch_details(conn, pid)), done, lambda _e: None
        )

    def _one_selected(self) -> int | None:
        sel = list(self.canvas.selection)
        if len(sel) != 1:
            self.say(translate("EditPanel", "Select the one parcel on the map first"), True)
            return None
        return int(sel[0])

    def _draft_record(self, pids: list[int], call: Callable[..., Any], text: str) -> None:
        """``call(conn, cs_id, {pid: version})`` drafts the item against the versions the
        clerk saw: the selected parcel's details the form shows (read on selection). The
        store refuses the draft if the parcel changed since, and compares again at submit
        and approval. Only a parcel whose details were not read (several selected for a
        certificate) is read here, in the draft's round trip."""
        if not self._need_change_set():
            return
        cs_id = self.session.change_set_id
        shown = self.record_details["parcel"] if self.record_details else None
        seen = {p: int(shown["version"]) for p in pids if shown and shown["id"] == p}

        def work(conn: psycopg.Connection) -> Any:
            unread = [p for p in pids if p not in seen]
            if unread:
                self.session.parcels.update(fetch_parcels(conn, ids=unread))
            versions = seen | {p: self.session._parcel(p).version for p in unread}
            self.session._took(call(conn, cs_id, versions))
            return self.session.change_set

        def done(result: Any) -> None:
            self._loaded(result)
            if self._report_draft(text):
                form = self.record_forms.currentWidget()
                if form is not None and hasattr(form, "clear"):
                    form.clear()

        def failed(exc: BaseException) -> None:
            self._draft_failed(exc)  # says who changed what, and the versions
            if shown is not None and isinstance(exc, csapi.ConflictError):
                # Show the parcel as it is now; the next save is against what was shown.
                self.record_details = None
                self.fetch_record_details(int(shown["id"]))

        self._run(work, done, failed)

    def draft_transfer(self, holders: list[csapi.Holder], right_kind: str) -> None:
        pid = self._one_selected()
        if pid is None:
            return
        self._draft_record(
            [pid],
            lambda conn, c, v: csapi.draft_rights(conn, c, pid, v[pid], holders, right_kind),
            translate("EditPanel", "Transfer of parcel {id} drafted").format(id=self._label(pid)),
        )

    def draft_mortgage(self, mortgage: csapi.Mortgage) -> None:
        pid = self._one_selected()
        if pid is None:
            return
        self._draft_record(
            [pid],
            lambda conn, c, v: csapi.draft_mortgage(conn, c, pid, v[pid], mortgage),
            translate("EditPanel", "Mortgage of parcel {id} drafted").format(id=self._label(pid)),
        )

    def draft_release(self, mortgage_id: int, released_on: Any) -> None:
        pid = self._one_selected()
        if pid is None:
            return
        self._draft_record(
            [pid],
            lambda conn, c, v: csapi.draft_mortgage_release(
                conn, c, pid, v[pid], mortgage_id, released_on
            ),
            translate("EditPanel", "Release of the mortgage of parcel {id} drafted").format(
                id=self._label(pid)
            ),
        )

    def draft_certificate(self, certificate: csapi.Certificate) -> None:
        pids = [int(i) for i in self.canvas.selection]
        if not pids:
            self.say(translate("EditPanel", "Select the parcels of the certificate first"), True)
            return
        self._draft_record(
            pids,
            lambda conn, c, v: csapi.draft_certificate(conn, c, v, certificate),
            translate("EditPanel", "Certificate {serial} drafted").format(
                serial=certificate.serial
            ),
        )

    def find_parties(self, text: str, show: Callable[[list[Any]], None] | None = None) -> None:
        """The database's party search (api.search_parties) off the UI thread; the hits go
        to ``show`` (default: the transfer form's list)."""
        from app.edit.parties import find_parties

        if len(text.strip()) < 2:
            self.say(translate("EditPanel", "Type at least two characters"), True)
            return
        self._run(
            lambda conn: find_parties(conn, text, 20), show or self.record_forms.transfer.show_found
        )

    # -- a person's details and a household's members (0027, 0029) -----------------------
    def _draft_party_item(self, call: Callable[..., Any], text: str) -> None:
        """``call(conn, cs_id)`` drafts a party item (no parcel: the token is the party's
        own version, given by the form from the search)."""
        if not self._need_change_set():
            return
        cs_id = self.session.change_set_id

        def work(conn: psycopg.Connection) -> Any:
            self.session._took(call(conn, cs_id))
            return self.session.change_set

        def done(result: Any) -> None:
            self._loaded(result)
            if self._report_draft(text):
                self.record_forms.party.clear()

        self._run(work, done, self._draft_failed)

    def draft_party_update(self, party_id: int, version: int, update: csapi.PartyUpdate) -> None:
        self._draft_party_item(
            lambda conn, c: csapi.draft_party_update(conn, c, party_id, version, update),
            translate("EditPanel", "Correction of {name} drafted").format(
                name=self._party_name(party_id)
            ),
        )

    def draft_party_members(self, party_id: int, version: int, members: list[Any]) -> None:
        self._draft_party_item(
            lambda conn, c: csapi.draft_party_members(conn, c, party_id, version, members),
            translate("EditPanel", "Members of {name} drafted").format(
                name=self._party_name(party_id)
            ),
        )

    def _party_name(self, party_id: int) -> str:
        hit = self.record_forms.party.hit
        return hit.full_name if hit is not None and hit.party_id == party_id else f"#{party_id}"


def _record_detail(item: Any) -> str:
    """A few words on a record item for the items list: the serial, the contract, the
    new holders' count."""
    a = item.attributes or {}
    if item.op == "certificate":
        return str(a.get("serial") or "")
    if item.op == "mortgage":
        return translate("EditPanel", "contract {n}").format(n=a.get("contract_number"))
    if item.op == "rights":
        return translate("EditPanel", "{n} new holder(s)").format(n=len(a.get("holders") or []))
    if item.op == "party":
        return str(a.get("full_name") or "")
    if item.op == "party_members":
        return translate("EditPanel", "{name}: {n} member(s)").format(
            name=a.get("full_name") or "", n=len(a.get("members") or [])
        )
    return ""
