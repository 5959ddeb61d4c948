"""The main window: menus from the subsystem plugins, the map canvas, connection state.

Nothing here talks to the store on the UI thread: the summary and the periodic
connection check run on the window's :class:`~app.ui.tasks.TaskRunner`.

The window works for one :class:`~app.session.Session`: the signed-in person's own
connection (their role, so rights and row-level security apply to every count shown),
or a DSN given as is (``landrec demo --dsn``; no account, no idle lock). A signed-in
account gets the idle lock and the password change; administrators' menu entries
unlock after the TOTP second factor.
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QToolBar,
    QWidget,
)

from app.map.fetch import Fetcher
from app.map.layers import LayerModel
from app.map.viewport import Viewport
from app.plugin import (
    NEEDS_STORE,
    NOT_IMPLEMENTED_TIP,
    NOT_IMPLEMENTED_TIP_EN,
    Action,
    EnableState,
    PluginRegistry,
    resolve,
)
from app.session import LinkState, Session, StateChange, client_rights
from app.store.summary import StoreSummary, StoreUnavailable
from app.ui.about import AboutDialog
from app.ui.context import UiContext
from app.ui.i18n import translate
from app.ui.layer_panel import LayerPanel
from app.ui.map_canvas import MapCanvas
from app.ui.status import MapStatus
from app.ui.summary_panel import SummaryPanel
from app.ui.tasks import TaskRunner

#: How often the connection is re-checked (ms).
RECHECK_MS = 15_000

_DOCK_AREAS = {
    "left": Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": Qt.DockWidgetArea.RightDockWidgetArea,
    "top": Qt.DockWidgetArea.TopDockWidgetArea,
    "bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
}

_OK_STYLE = "color: #1b7f3b; padding: 0 6px;"
_LOST_STYLE = "color: #ffffff; background: #c62828; font-weight: bold; padding: 0 6px;"
_WAIT_STYLE = "color: #5d7384; padding: 0 6px;"


class MainWindow(QMainWindow):
    #: Emitted on the UI thread after each successful summary read.
    summary_loaded = Signal(object)
    #: Emitted when reading the summary failed (message).
    summary_failed = Signal(str)
    #: Emitted when the connection state flips (True: connected).
    connection_changed = Signal(bool)
    link_changed = Signal(object)  # app.session.StateChange, from any thread (queued)

    def __init__(
        self,
        source: str | Session,
        registry: PluginRegistry | None = None,
        lang: str = "vi",
        recheck_ms: int = RECHECK_MS,
        parent: QWidget | None = None,
        *,
        idle_ms: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = source if isinstance(source, Session) else Session.from_dsn(source)
        self.lang = lang
        self.registry = (
            registry if registry is not None else PluginRegistry().discover(strict=False)
        )
        self.runner = TaskRunner(self)
        self.context = UiContext(self.session, lang, self.registry, self, self.runner)
        self.summary: StoreSummary | None = None
        self.summary_error: str | None = None
        self.connected: bool | None = None  # None: not known yet
        self.auth_refused = False
        self.plugin_actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.plugin_errors: list[str] = [msg for _, msg in self.registry.errors]
        self._summary_busy = False
        self._ping_busy = False
        self._generation = self.session.generation
        self.idle_lock = None

        self.setObjectName("mainWindow")
        self.setWindowTitle(translate("MainWindow", "LandRec — Land information system"))
        self.resize(1280, 800)
        self.panel = SummaryPanel(lang)
        self._build_map()
        self._build_status_bar()
        self._build_menus()
        self._build_docks()
        self._apply_enable_state()
        for message in self.plugin_errors:
            print(f"landrec: plugin not loaded: {message}", file=sys.stderr)

        self.timer = QTimer(self)
        self.timer.setInterval(recheck_ms)
        self.timer.timeout.connect(self.check_connection)
        self.timer.start()
        self._show_account()
        self._start_idle_lock(idle_ms)
        self.refresh()
        self._load_map_setup()

    @property
    def dsn(self) -> str:
        """Conninfo of the person's connection (holds the password while it is kept)."""
        return self.session.dsn

    @dsn.setter
    def dsn(self, dsn: str) -> None:
        self.session.dsn = dsn

    # -- building -----------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.connection_label = QLabel(translate("MainWindow", "Connecting…"))
        self.connection_label.setObjectName("connectionState")
        self.connection_label.setStyleSheet(_WAIT_STYLE)
        self.user_label = QLabel("")
        self.user_label.setObjectName("signedInUser")
        bar.addWidget(self.connection_label)
        self.map_status = MapStatus(self.canvas, self.lang)
        for widget in self.map_status.widgets():
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.user_label)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self._new_menu(bar.addMenu(translate("MainWindow", "&File")), "file")
        refresh = QAction(translate("MainWindow", "&Refresh"), self)
        refresh.setObjectName("app.refresh")
        refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        refresh.setStatusTip(translate("MainWindow", "Read the store summary again"))
        refresh.triggered.connect(self.refresh)
        file_menu.addAction(refresh)
        self._fill("file", file_menu)
        self._add_account_actions(file_menu)
        file_menu.addSeparator()
        quit_action = QAction(translate("MainWindow", "&Quit"), self)
        quit_action.setObjectName("app.quit")
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        for menu in self.registry.menus():
            if menu.parent is None:
                self._fill(menu.id, self._new_menu(bar.addMenu(menu.title.get(self.lang)), menu.id))

        if self.registry.docks():
            self.view_menu = self._new_menu(bar.addMenu(translate("MainWindow", "&View")), "view")

        help_menu = self._new_menu(bar.addMenu(translate("MainWindow", "&Help")), "help")
        self._fill("help", help_menu)
        summary = self.summary_dock.toggleViewAction()
        summary.setObjectName("app.summary")
        summary.setText(translate("MainWindow", "Store summary"))
        help_menu.addAction(summary)
        about = QAction(translate("MainWindow", "About"), self)
        about.setObjectName("app.about")
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _add_account_actions(self, menu: QMenu) -> None:
        account = self.session.account
        self.account_actions: dict[str, QAction] = {}
        if account is None:
            return
        menu.addSeparator()
        change = QAction(translate("MainWindow", "Change &password…"), self)
        change.setObjectName("app.change_password")
        change.triggered.connect(self.change_password)
        lock = QAction(translate("MainWindow", "&Lock the session"), self)
        lock.setObjectName("app.lock")
        lock.setShortcut(QKeySequence("Ctrl+L"))
        lock.triggered.connect(self.lock_now)
        actions = [change, lock]
        if account.is_administrator:
            totp = QAction(translate("MainWindow", "Two-factor authentication…"), self)
            totp.setObjectName("app.verify_totp")
            totp.triggered.connect(self.verify_totp)
            actions.append(totp)
        for qa in actions:
            menu.addAction(qa)
            self.account_actions[qa.objectName()] = qa

    def _new_menu(self, menu: QMenu, menu_id: str) -> QMenu:
        menu.setObjectName(f"menu:{menu_id}")
        menu.setToolTipsVisible(True)
        self.menus[menu_id] = menu
        return menu

    def _fill(self, menu_id: str, qmenu: QMenu) -> None:
        """Add the declared actions and sub-menus of ``menu_id``, by their ``order``."""
        items: list[tuple[int, int, object]] = [
            (a.order, 0, a) for a in self.registry.actions(menu_id)
        ]
        items += [(m.order, 1, m) for m in self.registry.menus() if m.parent == menu_id]
        for _, kind, item in sorted(items, key=lambda t: (t[0], t[1])):
            if kind == 1:
                sub = self._new_menu(qmenu.addMenu(item.title.get(self.lang)), item.id)
                self._fill(item.id, sub)
                continue
            decl: Action = item
            if decl.separator_before:
                qmenu.addSeparator()
            qa = QAction(decl.text.get(self.lang), self)
            qa.setObjectName(decl.id)
            if decl.shortcut:
                qa.setShortcut(QKeySequence(decl.shortcut))
            if decl.implemented:
                qa.triggered.connect(lambda _=False, d=decl: self.run_action(d))
            qmenu.addAction(qa)
            self.plugin_actions[decl.id] = qa

    def _build_docks(self) -> None:
        for decl in self.registry.docks():
            try:
                widget = resolve(decl.factory)(self.context)
            except Exception as exc:  # a broken plugin must not stop the client
                self.plugin_errors.append(f"dock {decl.id}: {exc}")
                traceback.print_exc()
                continue
            dock = QDockWidget(decl.title.get(self.lang), self)
            dock.setObjectName(decl.id)
            dock.setWidget(widget)
            self.addDockWidget(_DOCK_AREAS[decl.area], dock)
            dock.setVisible(decl.visible)
            self.view_menu.addAction(dock.toggleViewAction())
            self.docks[decl.id] = dock

    # -- the map ----------------------------------------------------------------------------
    def _build_map(self) -> None:
        """The canvas in the centre, layers and the store summary docked on the left, the
        navigation tools in a toolbar."""
        # The map reads on a connection of its own (the person's role, so the area rule
        # applies), so a long fetch never queues behind the window's other queries.
        self.fetcher = Fetcher(self.session.connect)
        self.layer_model = LayerModel(self.registry.layers())
        self.canvas = MapCanvas(self.fetcher, self.layer_model, lang=self.lang)
        self.setCentralWidget(self.canvas)
        self.canvas.connectionChanged.connect(self._map_connection)
        self.canvas.link_reporter = self.session.report_link_error
        # The session tells when the person's link drops and comes back (any query, any
        # thread): shown in the status bar, and the map re-requests its view on return.
        self.link_changed.connect(self._show_link_state)
        self._unlisten_link = self.session.add_state_listener(self.link_changed.emit)

        from app.ui.record_docks import install_record_docks

        self.search_panel, self.parcel_panel = install_record_docks(self)
        self.layer_panel = LayerPanel(self.layer_model, self.lang)
        self.layer_panel.layersChanged.connect(self.canvas.refresh)
        self.layer_panel.zoomToLayer.connect(self.canvas.zoom_to_layer)
        self.layer_dock = self._side_dock(
            "app.layers", translate("MainWindow", "Layers"), self.layer_panel
        )
        # The summary was the placeholder of the map; its "map will be shown here" lines
        # are obsolete now that the map is the central widget.
        for name in ("placeholderTitle", "placeholderNote"):
            label = self.panel.findChild(QLabel, name)
            if label is not None:
                label.hide()
        # In a scroll area: the summary card is wide, the map should get the room.
        scroll = QScrollArea()
        scroll.setObjectName("summaryScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.panel)
        self.summary_dock = self._side_dock(
            "app.summary_dock", translate("MainWindow", "Store summary"), scroll
        )
        # The summary is looked at now and then, the layers all day: it waits in a tab
        # behind them, so the layer list and legend get the height under the search.
        self.tabifyDockWidget(self.layer_dock, self.summary_dock)
        self.layer_dock.raise_()
        self.resizeDocks([self.layer_dock], [320], Qt.Orientation.Horizontal)

        bar = QToolBar(translate("MainWindow", "Map"), self)
        bar.setObjectName("mapToolbar")
        self.addToolBar(bar)
        self.map_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        # None checked while an editing tool (a plugin's MapTool) has the canvas.
        group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        tools = (
            ("pan", translate("MainWindow", "Pan"), "P"),
            ("identify", translate("MainWindow", "Identify"), "I"),
            ("select", translate("MainWindow", "Select"), "S"),
            ("zoom", translate("MainWindow", "Zoom to box"), "Z"),
        )
        for tool, text, key in tools:
            qa = self._map_action(
                bar, f"map.{tool}", text, key, lambda _=False, t=tool: self.canvas.set_tool(t)
            )
            qa.setCheckable(True)
            qa.setChecked(tool == "pan")
            group.addAction(qa)
        self.canvas.mapToolChanged.connect(self._show_navigation_tool)
        bar.addSeparator()
        self._map_action(
            bar,
            "map.full",
            translate("MainWindow", "Whole province"),
            "Home",
            self.canvas.zoom_to_full,
        )
        self._map_action(
            bar,
            "map.selection",
            translate("MainWindow", "Zoom to selection"),
            "Ctrl+J",
            self.canvas.zoom_to_selection,
        )
        self._map_action(
            bar,
            "map.previous",
            translate("MainWindow", "Previous extent"),
            "Alt+Left",
            self.canvas.previous_extent,
        )
        self._map_action(
            bar,
            "map.next",
            translate("MainWindow", "Next extent"),
            "Alt+Right",
            self.canvas.next_extent,
        )
        self.commune_box = QComboBox()
        self.commune_box.setObjectName("zoomToCommune")
        self.commune_box.setToolTip(translate("MainWindow", "Zoom to commune"))
        self.commune_box.setMinimumContentsLength(16)
        self.commune_box.activated.connect(self._zoom_to_commune)
        bar.addWidget(self.commune_box)

    def _side_dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        return dock

    def _map_action(self, bar: QToolBar, name: str, text: str, key: str, slot) -> QAction:
        qa = QAction(text, self)
        qa.setObjectName(name)
        qa.setShortcut(QKeySequence(key))
        qa.setToolTip(f"{text} ({key})")
        qa.triggered.connect(slot)
        bar.addAction(qa)
        self.map_actions[name] = qa
        return qa

    def _load_map_setup(self) -> None:
        """Land-use colours, the deployment CRS and the communes, off the UI thread."""
        from app.map.style import load_style

        account = self.session.account
        own_area = account is not None and not account.whole_province

        def read(conn):
            (srid,) = conn.execute("SELECT value FROM sys.setting WHERE key = 'srid'").fetchone()
            home = None
            if own_area:  # a commune officer starts on their own communes
                home = conn.execute(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom)::geometry e FROM ref.admin_unit "
                    "WHERE id = ANY (sys.my_units())) s"
                ).fetchone()
            return load_style(conn), int(srid), home

        def work():
            style, srid, home = self.fetcher.run(read)
            return style, srid, self.fetcher.communes(), home

        self.runner.submit(work, self._map_setup_done, self._map_setup_failed)

    def _map_setup_done(self, result) -> None:
        style, srid, communes, home = result
        self.map_srid = srid
        self.canvas.map_painter.style = style
        self.layer_panel.set_style(style)
        self.map_status.set_srid(srid)
        self.communes = communes
        self.commune_box.clear()
        self.commune_box.addItem(translate("MainWindow", "Zoom to commune…"), None)
        for commune_id, name, bbox in communes:
            self.commune_box.addItem(name, (commune_id, bbox))
        if communes:
            xs = [b for _, _, b in communes]
            self.canvas.full_extent = (
                min(b[0] for b in xs), min(b[1] for b in xs),
                max(b[2] for b in xs), max(b[3] for b in xs),
            )  # fmt: skip
        start = tuple(home) if home and home[0] is not None else self.canvas.full_extent
        if self.canvas.view is None and start is not None:
            size = (max(1, self.canvas.width()), max(1, self.canvas.height()))
            self.canvas.set_view(Viewport.fit(start, size, margin=0.02))

    def _map_setup_failed(self, exc: BaseException) -> None:
        # The summary and the periodic check report the connection; retry with them.
        self.map_setup_error = str(exc)
        QTimer.singleShot(5_000, self._load_map_setup)

    def _zoom_to_commune(self, index: int) -> None:
        data = self.commune_box.itemData(index)
        if data:
            self.canvas.zoom_to_bbox(*data[1])

    def _show_link_state(self, change: StateChange) -> None:
        if change.state == LinkState.CONNECTED:
            self.canvas.refresh()
            self.check_connection()
            return
        if change.state == LinkState.RECONNECTING:
            detail = translate("MainWindow", "Reconnecting (attempt {n})…").format(n=change.attempt)
        else:
            detail = change.error or translate("MainWindow", "The link to the server dropped")
        self._set_connected(False, detail)

    def _show_navigation_tool(self, map_tool: object) -> None:
        for name in ("pan", "identify", "select", "zoom"):
            self.map_actions[f"map.{name}"].setChecked(
                map_tool is None and self.canvas.tool == name
            )

    def _map_connection(self, online: bool) -> None:
        if not online:
            self._set_connected(False, translate("MainWindow", "The map lost the connection"))
        elif self.connected is not True:
            self.check_connection()

    def map_ready(self) -> bool:
        """True once the canvas shows a finished image of its current view."""
        return self.canvas.settled()

    # -- enabled state ------------------------------------------------------------------
    def enable_state(self) -> EnableState:
        # Without an account (a DSN given as is) the database alone decides (rights=None).
        # With one, entries the account's kinds do not cover are greyed out; the database
        # still checks every call, and administration needs this session's TOTP.
        account = self.session.account
        if account is None:
            return EnableState(connected=bool(self.connected), rights=None)
        prefixes = {p.id: p.right for p in self.registry.plugins() if p.right}
        return EnableState(connected=bool(self.connected), rights=client_rights(account, prefixes))

    def _apply_enable_state(self) -> None:
        state = self.enable_state()
        not_yet = NOT_IMPLEMENTED_TIP_EN if self.lang == "en" else NOT_IMPLEMENTED_TIP
        for decl in self.registry.actions():
            qa = self.plugin_actions.get(decl.id)
            if qa is None:
                continue
            if not decl.implemented:
                qa.setEnabled(False)
                qa.setToolTip(not_yet)
                qa.setStatusTip(not_yet)
                continue
            enabled = state.allows(decl.when)
            qa.setEnabled(enabled)
            if enabled:
                tip = decl.tooltip.get(self.lang) if decl.tooltip else decl.text.get(self.lang)
            elif NEEDS_STORE in decl.when and not state.connected:
                tip = translate("MainWindow", "Needs a connection to the store")
            else:
                tip = translate("MainWindow", "Your account does not have this right")
            qa.setToolTip(tip)
            qa.setStatusTip(tip)
        for decl in self.registry.docks():
            dock = self.docks.get(decl.id)
            if dock is not None and dock.widget() is not None:
                dock.widget().setEnabled(state.allows(decl.when))

    # -- actions ------------------------------------------------------------------------
    def run_action(self, decl: Action) -> None:
        try:
            resolve(decl.handler)(self.context)
        except Exception as exc:
            traceback.print_exc()
            QMessageBox.critical(
                self,
                decl.text.get(self.lang),
                translate("MainWindow", "This command failed: {error}").format(error=exc),
            )

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.summary, self.summary_error, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def menu_titles(self) -> list[str]:
        """Top-level menu titles as shown (mnemonic '&' removed)."""
        return [a.text().replace("&", "") for a in self.menuBar().actions()]

    # -- store summary and connection state ---------------------------------------------
    def refresh(self) -> None:
        """Read the store summary in the background (F5)."""
        if self._summary_busy:
            return
        self._summary_busy = True
        self.runner.submit(self.session.fetch_summary, self._summary_done, self._summary_error)

    def _summary_done(self, summary: StoreSummary) -> None:
        self._summary_busy = False
        self.summary = summary
        self.summary_error = None
        self.auth_refused = False
        self.panel.show_summary(summary)
        if self.session.account is None:
            self.user_label.setText(
                translate("MainWindow", "User: {user}").format(user=summary.user)
            )
        self._set_connected(True, summary.address)
        self.summary_loaded.emit(summary)

    def _summary_error(self, exc: BaseException) -> None:
        self._summary_busy = False
        message = str(exc) or type(exc).__name__
        self.summary_error = message
        self.panel.show_error(message)
        self._set_connected(False, message)
        self._stop_if_refused(exc)
        self.summary_failed.emit(message)

    def check_connection(self) -> None:
        """Periodic check: a cheap ``SELECT 1``; a full summary after a reconnect."""
        if self._ping_busy or self._summary_busy or self.auth_refused or self.locked:
            return
        self._ping_busy = True
        self.runner.submit(self.session.ping, self._ping_done, self._ping_error)

    def _ping_done(self, address: str) -> None:
        self._ping_busy = False
        if self.session.generation != self._generation:
            # Reconnected: a new connection has lost the TOTP verification.
            self._generation = self.session.generation
            self._show_account()
            self._apply_enable_state()
        if self.connected is not True or self.summary is None:
            self.refresh()  # came back: read counts and versions again
        else:
            self._set_connected(True, address)

    def _ping_error(self, exc: BaseException) -> None:
        self._ping_busy = False
        self._set_connected(False, str(exc))
        self._stop_if_refused(exc)

    def _stop_if_refused(self, exc: BaseException) -> None:
        # Re-trying a refused login every few seconds would lock the account after five
        # failures (DESIGN P5): stop the timer, let the person fix it and press F5.
        if isinstance(exc, StoreUnavailable) and exc.auth_failed:
            self.auth_refused = True
            self.timer.stop()
            self.statusBar().showMessage(
                translate(
                    "MainWindow",
                    "Login refused: automatic re-connection stopped so that the account "
                    "is not locked. Check the account, then press F5.",
                )
            )

    def _set_connected(self, connected: bool, detail: str) -> None:
        changed = connected != self.connected
        self.connected = connected
        if connected:
            self.connection_label.setText(
                translate("MainWindow", "Connected: {address}").format(address=detail)
            )
            self.connection_label.setStyleSheet(_OK_STYLE)
            self.connection_label.setToolTip(self.dsn_for_display())
            if not self.auth_refused and not self.timer.isActive():
                self.timer.start()
        else:
            self.connection_label.setText(translate("MainWindow", "Disconnected"))
            self.connection_label.setStyleSheet(_LOST_STYLE)
            self.connection_label.setToolTip(detail)
        if changed:
            self._apply_enable_state()
            self.connection_changed.emit(connected)

    def dsn_for_display(self) -> str:
        """The DSN without its password (for tooltips and logs)."""
        return self.session.display_dsn

    # -- the signed-in person ----------------------------------------------------------------
    def _show_account(self) -> None:
        account = self.session.account
        if account is None:
            return
        text = translate("MainWindow", "User: {name} — {unit}").format(
            name=account.full_name, unit=account.unit
        )
        if account.is_administrator and not account.mfa_verified:
            text += " " + translate("MainWindow", "(administration locked: no second factor)")
        self.user_label.setText(text)
        self.user_label.setToolTip(account.role_name)

    def _start_idle_lock(self, idle_ms: int | None) -> None:
        account = self.session.account
        if account is None:
            return  # a DSN given as is: no password to ask for again
        from app.ui.idle_lock import IdleLock

        interval = idle_ms if idle_ms is not None else account.idle_lock_minutes * 60_000
        self.idle_lock = IdleLock(
            self, self.session, interval, on_lock=self._locked, on_unlock=self._unlocked
        )

    @property
    def locked(self) -> bool:
        return self.idle_lock is not None and self.idle_lock.locked

    def lock_now(self) -> None:
        if self.idle_lock is not None:
            self.idle_lock.lock(manual=True)

    def _locked(self) -> None:
        self.timer.stop()  # no store checks without the password

    def _unlocked(self) -> None:
        if not self.auth_refused:
            self.timer.start()
            self.check_connection()

    def change_password(self):
        from app.ui.password_dialog import PasswordDialog

        dialog = PasswordDialog(self.session, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.statusBar().showMessage(
                translate("MainWindow", "The password was changed."), 10_000
            )
        )
        dialog.open()
        return dialog

    def verify_totp(self):
        from app.ui.totp_dialog import TotpDialog

        dialog = TotpDialog(self.session, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._show_account)
        dialog.accepted.connect(self._apply_enable_state)
        dialog.open()
        return dialog

    def closeEvent(self, event: QCloseEvent) -> None:
        self._unlisten_link()
        self.timer.stop()
        if self.idle_lock is not None:
            self.idle_lock.stop()
        self.fetcher.cancel()
        self.canvas.pool.clear()
        self.canvas.pool.waitForDone(10_000)
        self.fetcher.close()
        self.runner.shutdown(wait_ms=10_000)
        self.session.close()
        # Signing out: restricted scans read in this session leave the local cache.
        from app.dossier.store import wipe_on_sign_out

        wipe_on_sign_out()
        super().closeEvent(event)
