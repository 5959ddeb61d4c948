"""The map canvas: navigation, identify and selection over the engine in app.map.

Fetching and painting run on a worker thread into a QImage; the UI thread only draws
finished images. Each view change bumps a generation counter and cancels the statement in
flight: a result of an older generation is dropped, never painted. While a new image is on
its way the last one is drawn shifted / scaled to the new view (pan and zoom feel
instant), and the small layers (boundaries, sheet frames) are shown as soon as they arrive.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import psycopg
from PySide6.QtCore import (
    QObject,
    QPointF,
    QRect,
    QRectF,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from app.map.fetch import Cancelled, Fetcher, LayerData, is_link_error
from app.map.layers import PARCELS, LayerModel, MapLayer
from app.map.qtpaint import MapPainter, highlight_path
from app.map.style import LandUseStyle
from app.map.viewport import BBox, ExtentHistory, Viewport
from app.session import SignInError
from app.ui.i18n import translate

#: Wheel: zoom factor per notch (120 units).
WHEEL_STEP = 1.25
#: A press that moved less than this (px) is a click.
CLICK_SLOP = 4
#: Delay before fetching after a view change (ms): a burst of wheel notches asks once.
DEBOUNCE_MS = 40
#: Retry after a lost connection: first delay and cap (ms), doubling in between.
RETRY_FIRST_MS, RETRY_MAX_MS = 1_000, 30_000

TOOLS = ("pan", "identify", "select", "zoom")
#: Build the identify index on the worker for views up to this many parcels.
TREE_AHEAD_MAX = 60_000


class _Signals(QObject):
    #: generation, view, image, {layer id: LayerData}, final, timings
    rendered = Signal(int, object, object, object, bool, object)
    failed = Signal(int, object)
    #: layer id, its extent (minx, miny, maxx, maxy) or None, or the exception
    extent = Signal(str, object)


class _ExtentJob(QRunnable):
    """The whole extent of one layer as the person sees it (zoom to layer), on the map's
    worker so it queues behind the fetch instead of sharing its connection."""

    def __init__(self, canvas: MapCanvas, layer: MapLayer) -> None:
        super().__init__()
        self.fetcher, self.signals, self.layer = canvas.fetcher, canvas._signals, layer

    def run(self) -> None:
        try:
            result: object = self.fetcher.layer_extent(self.layer)
        except BaseException as exc:  # delivered to the UI thread
            result = exc
        self.signals.extent.emit(self.layer.id, result)


class _RenderJob(QRunnable):
    """Fetch the layers of one view and paint them (worker thread)."""

    def __init__(self, canvas: MapCanvas, gen: int, view: Viewport, layers: list[MapLayer]):
        super().__init__()
        self.gen, self.view, self.layers = gen, view, layers
        self.fetcher = canvas.fetcher
        self.painter = canvas.map_painter
        self.signals = canvas._signals
        self.current = canvas.current_generation  # a callable: thread-safe int read

    def stale(self) -> bool:
        return self.current() != self.gen

    def paint(self, datas: dict[str, LayerData]) -> QImage:
        image = self.painter.new_image(self.view)
        p = QPainter(image)
        try:
            self.painter.paint(
                p, self.view, [(m, datas[m.id]) for m in self.layers if m.id in datas]
            )
        finally:
            p.end()
        return image

    def run(self) -> None:
        if self.stale():
            return
        t0 = time.perf_counter()
        datas: dict[str, LayerData] = {}

        def arrived(data: LayerData) -> None:
            datas[data.layer_id] = data
            # Partial result early: what arrived before the (large) parcel layer.
            waiting_parcels = any(m.id == PARCELS and m.id not in datas for m in self.layers)
            if data.kind != "parcels" and waiting_parcels and not self.stale():
                image = self.paint(dict(datas))
                self.signals.rendered.emit(self.gen, self.view, image, dict(datas), False, {})

        try:
            self.fetcher.fetch(self.view, self.layers, on_layer=arrived, is_stale=self.stale)
            t1 = time.perf_counter()
            if self.stale():
                return
            image = self.paint(datas)
            t2 = time.perf_counter()
        except Cancelled:
            return
        except BaseException as exc:  # delivered to the UI thread
            if not self.stale():
                self.signals.failed.emit(self.gen, exc)
            return
        timings = {
            "fetch_ms": sum(d.fetch_ms for d in datas.values()),
            "decode_ms": sum(d.decode_ms for d in datas.values()),
            "paint_ms": (t2 - t1) * 1000,
            "total_ms": (t2 - t0) * 1000,
            "features": len(datas[PARCELS]) if PARCELS in datas else 0,
        }
        self.signals.rendered.emit(self.gen, self.view, image, datas, True, timings)
        # Ready the identify index here rather than on the first click (UI thread).
        parcels = datas.get(PARCELS)
        if parcels is not None and len(parcels) <= TREE_AHEAD_MAX and not self.stale():
            parcels.tree  # noqa: B018 - built and cached on first access


class MapTool:
    """An interactive tool plugged into the canvas (editing, measuring, …).

    While installed with :meth:`MapCanvas.set_map_tool` it sees mouse and key events
    first; a handler returning True consumes the event (the canvas then does not pan or
    select). :meth:`paint` draws the tool's overlay on top of the map in pixel space.
    """

    cursor = Qt.CursorShape.CrossCursor

    def activate(self, canvas: MapCanvas) -> None:
        self.canvas = canvas

    def deactivate(self) -> None:
        """Called when another tool replaces this one."""

    def press(self, event: QMouseEvent) -> bool:
        return False

    def move(self, event: QMouseEvent) -> bool:
        return False

    def release(self, event: QMouseEvent) -> bool:
        return False

    def double_click(self, event: QMouseEvent) -> bool:
        return False

    def key(self, event: QKeyEvent) -> bool:
        return False

    def paint(self, p: QPainter, view: Viewport) -> None:
        """Draw the tool's overlay (rubber bands, vertices, snap marker)."""


class MapCanvas(QWidget):
    """Signals for the panels: ``selectionChanged(list[int])`` (parcel ids),
    ``identified(int)`` (parcel id clicked with the identify tool); slots
    :meth:`zoom_to_bbox` and :meth:`highlight`."""

    selectionChanged = Signal(list)
    identified = Signal(int)
    viewChanged = Signal(object)
    cursorMoved = Signal(float, float)
    rendered = Signal(dict)  # timings of a finished image
    connectionChanged = Signal(bool)
    toolChanged = Signal(str)
    mapToolChanged = Signal(object)  # the MapTool installed, or None
    layerExtentShown = Signal(str)  # zoom to layer done

    def __init__(
        self,
        fetcher: Fetcher,
        layers: LayerModel,
        style: LandUseStyle | None = None,
        lang: str = "vi",
        parent: QWidget | None = None,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mapCanvas")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 150)
        self.fetcher = fetcher
        self.layers = layers
        self.lang = lang
        self.map_painter = MapPainter(style or LandUseStyle(), lang)
        self.view: Viewport | None = None
        self.history = ExtentHistory()
        self.tool = "pan"
        self.map_tool: MapTool | None = None
        #: Painters drawn over the map whatever tool is active (an editor's drafts and
        #: problem markers): each gets the painter and the view, in pixel space.
        self.overlays: list[Callable[[QPainter, Viewport], None]] = []
        #: Who handles a dropped link (the window's session: app.session.Session.
        #: report_link_error, True when it took over reconnecting and will say when the
        #: link is back, and the window then calls refresh()). None: retry here.
        self.link_reporter: Callable[[BaseException], bool] | None = None
        self.selection: list[int] = []
        self.highlighted: list[int] = []
        self.data: dict[str, LayerData] = {}
        self.online: bool | None = None
        #: The server's message when it refused the last view (shown on the map).
        self.error_message: str | None = None
        self.last_timings: dict[str, Any] = {}
        self.full_extent: BBox | None = None
        self._image: QImage | None = None
        self._image_view: Viewport | None = None
        self._final_view: Viewport | None = None
        self._gen = 0
        self._press: QPointF | None = None
        self._press_mods = Qt.KeyboardModifier.NoModifier
        self._drag: QPointF | None = None
        self._band: QRectF | None = None
        self._retry_ms = RETRY_FIRST_MS
        self._signals = _Signals()
        self._signals.rendered.connect(self._on_rendered, Qt.ConnectionType.QueuedConnection)
        self._signals.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._signals.extent.connect(self._on_extent, Qt.ConnectionType.QueuedConnection)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # one fetch at a time; stale ones are cancelled
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self._request)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self.refresh)

    # -- state -----------------------------------------------------------------------------
    def current_generation(self) -> int:
        return self._gen

    def set_style(self, style: LandUseStyle) -> None:
        self.map_painter.style = style
        self.refresh()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self.tool = tool
        if self.map_tool is not None:  # choosing pan, select … ends an editing tool
            previous, self.map_tool = self.map_tool, None
            previous.deactivate()
            self.mapToolChanged.emit(None)
            self.update()
        cursor = {
            "pan": Qt.CursorShape.OpenHandCursor,
            "identify": Qt.CursorShape.WhatsThisCursor,
            "select": Qt.CursorShape.ArrowCursor,
            "zoom": Qt.CursorShape.CrossCursor,
        }[tool]
        self.setCursor(cursor)
        self.toolChanged.emit(tool)

    def set_map_tool(self, tool: MapTool | None) -> None:
        """Install an interactive tool (None returns to the navigation tool in use)."""
        if self.map_tool is not None:
            self.map_tool.deactivate()
        self.map_tool = tool
        if tool is not None:
            tool.activate(self)
            self.setCursor(tool.cursor)
        else:
            self.set_tool(self.tool)
        self.mapToolChanged.emit(tool)
        self.update()

    def set_view(self, view: Viewport, record: bool = True) -> None:
        """Show ``view``; the old image is reused (shifted/scaled) until the new one comes."""
        view = view.resized(self.width(), self.height())
        if view == self.view:
            return
        self.view = view
        if record:
            self.history.push(view)
        self._gen += 1
        self.fetcher.cancel()
        self._debounce.start()
        self.viewChanged.emit(view)
        self.update()

    def refresh(self) -> None:
        """Fetch and paint the current view again (layers or style changed, reconnect)."""
        if self.view is None:
            return
        self._gen += 1
        self.fetcher.cancel()
        self._debounce.start()

    def set_layer_visible(self, layer_id: str, visible: bool) -> None:
        self.layers.set_visible(layer_id, visible)
        self.refresh()

    def _request(self) -> None:
        if self.view is None:
            return
        layers = self.layers.drawn_at(self.view.scale)
        self.pool.start(_RenderJob(self, self._gen, self.view, layers))

    @Slot(int, object, object, object, bool, object)
    def _on_rendered(
        self, gen: int, view: Viewport, image: QImage, datas: dict, final: bool, timings: dict
    ) -> None:
        if gen != self._gen:
            return  # a cancelled or superseded request never paints
        self._image, self._image_view = image, view
        if final:
            self.error_message = None
            self._final_view = view
            self.data = datas
            self.last_timings = timings
            self._set_online(True)
            self._retry_ms = RETRY_FIRST_MS
            self.rendered.emit(timings)
        self.update()

    @Slot(int, object)
    def _on_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._gen:
            return
        if getattr(exc, "auth_failed", False):
            # Refused credentials (or a locked session): retrying would count failed
            # logins toward the lockout (DESIGN P5). Wait for refresh().
            self._set_online(False)
            return
        if is_link_error(exc) or isinstance(exc, SignInError):
            # Link lost: keep the view and the selection, say so, and let the session
            # reconnect (one back-off for the whole window) or retry here without one.
            self._set_online(False)
            if self.link_reporter is not None and self.link_reporter(exc):
                return
            self._retry.start(self._retry_ms)
            self._retry_ms = min(RETRY_MAX_MS, self._retry_ms * 2)
        elif isinstance(exc, psycopg.Error):
            # The server refused (no right, no account, bad box): its own Vietnamese
            # message, on the map, until a view succeeds.
            self.error_message = (str(exc) or type(exc).__name__).splitlines()[0]
            self.update()
        else:
            traceback.print_exception(exc)

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.connectionChanged.emit(online)

    def settled(self) -> bool:
        """The finished image of the current view is shown (tests, screenshots)."""
        return (
            self.view is not None
            and self._final_view == self.view
            and not self._debounce.isActive()
        )

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Tests: wait for the pending fetch (the result still arrives through the loop)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._request()
        return self.pool.waitForDone(timeout_ms)

    # -- slots for other panels -----------------------------------------------------------
    @Slot(float, float, float, float)
    def zoom_to_bbox(self, minx: float, miny: float, maxx: float, maxy: float) -> None:
        base = self.view or Viewport.fit(
            (minx, miny, maxx, maxy), (max(1, self.width()), max(1, self.height()))
        )
        self.set_view(base.resized(self.width(), self.height()).zoomed_to((minx, miny, maxx, maxy)))

    @Slot(list)
    def highlight(self, parcel_ids: Sequence[int]) -> None:
        self.highlighted = [int(i) for i in parcel_ids]
        self.update()

    def set_selection(self, ids: Sequence[int]) -> None:
        ids = list(dict.fromkeys(int(i) for i in ids))
        if ids != self.selection:
            self.selection = ids
            self.selectionChanged.emit(list(ids))
            self.update()

    def zoom_to_scale(self, denominator: float) -> None:
        if self.view is not None and denominator > 0:
            self.set_view(self.view.with_scale(denominator))

    def zoom_to_full(self) -> None:
        if self.full_extent is not None:
            self.zoom_to_bbox(*self.full_extent)

    def zoom_to_layer(self, layer_id: str) -> None:
        """Zoom to everything of the layer the person may see (asked of the store, not
        just what the current view has loaded)."""
        try:
            layer = self.layers.get(layer_id)
        except KeyError:
            return
        if layer.kind is None:
            return
        self.pool.start(_ExtentJob(self, layer))

    @Slot(str, object)
    def _on_extent(self, layer_id: str, result: object) -> None:
        if isinstance(result, BaseException):
            if not (is_link_error(result) and self.link_reporter and self.link_reporter(result)):
                self.error_message = (str(result) or type(result).__name__).splitlines()[0]
                self.update()
            return
        if result is None:  # nothing of this layer in the person's area
            self.zoom_to_full()
            return
        self.zoom_to_bbox(*result)  # type: ignore[misc]
        self.layerExtentShown.emit(layer_id)

    def zoom_to_selection(self) -> None:
        data = self.data.get(PARCELS)
        if data is None or not self.selection:
            return
        which = np.isin(data.ids, np.asarray(self.selection, dtype=np.int64))
        if which.any():
            import shapely

            b = shapely.total_bounds(data.geoms[which])
            self.zoom_to_bbox(*(float(v) for v in b))

    def previous_extent(self) -> None:
        view = self.history.back()
        if view is not None:
            self.set_view(view, record=False)

    def next_extent(self) -> None:
        view = self.history.forward()
        if view is not None:
            self.set_view(view, record=False)

    # -- identify / select ---------------------------------------------------------------
    def parcel_at(self, px: float, py: float) -> int | None:
        data = self.data.get(PARCELS)
        if self.view is None or data is None:
            return None
        x, y = self.view.to_map(px, py)
        ids = data.hit(x, y)
        return int(ids[0]) if len(ids) else None

    def _click(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        pid = self.parcel_at(pos.x(), pos.y())
        if self.tool == "identify":
            if pid is not None:
                self.identified.emit(pid)
        elif self.tool == "select":
            adding = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            if pid is None:
                if not adding:
                    self.set_selection([])
            elif adding:
                self.set_selection([*self.selection, pid])
            else:
                self.set_selection([pid])

    def _box(self, rect: QRectF, mods: Qt.KeyboardModifier) -> None:
        if self.view is None:
            return
        bbox = self.view.pixel_rect_to_bbox(rect.left(), rect.top(), rect.right(), rect.bottom())
        if self.tool == "select":
            data = self.data.get(PARCELS)
            ids = [int(i) for i in data.in_box(bbox)] if data is not None else []
            adding = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            self.set_selection((self.selection + ids) if adding else ids)
        else:  # zoom tool, or shift-drag with the pan tool
            self.set_view(self.view.zoomed_to(bbox, margin=0.0))

    # -- events --------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.view is not None:
            self.set_view(self.view.resized(self.width(), self.height()), record=False)
        super().resizeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.map_tool is not None and self.map_tool.press(event):
            self.update()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._press_mods = event.modifiers()
            self._drag = None
            self._band = None
        event.accept()

    def _banding(self) -> bool:
        return self.tool in ("zoom", "select") or bool(
            self._press_mods & Qt.KeyboardModifier.ShiftModifier
        )

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self.view is not None:
            self.cursorMoved.emit(*self.view.to_map(pos.x(), pos.y()))
        if self.map_tool is not None and self.map_tool.move(event):
            self.update()
            event.accept()
            return
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            delta = pos - self._press
            if abs(delta.x()) + abs(delta.y()) >= CLICK_SLOP:
                if self._banding():
                    self._band = QRectF(self._press, pos).normalized()
                elif self.tool in ("pan", "identify"):
                    self._drag = delta
                self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.map_tool is not None and self.map_tool.release(event):
            self._press = None
            self.update()
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        pos = event.position()
        delta = pos - self._press
        mods = self._press_mods
        moved = abs(delta.x()) + abs(delta.y()) >= CLICK_SLOP
        press, self._press = self._press, None
        self._drag, self._band = None, None
        if not moved:
            self._click(pos, event.modifiers() | mods)
        elif self._banding():
            self._box(QRectF(press, pos).normalized(), mods)
        elif self.view is not None:
            self.set_view(self.view.panned(delta.x(), delta.y()))
        self.update()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.map_tool is not None and self.map_tool.double_click(event):
            self.update()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if self.view is not None and steps:
            pos = event.position()
            self.set_view(self.view.zoomed_at(WHEEL_STEP**steps, pos.x(), pos.y()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.map_tool is not None and self.map_tool.key(event):
            self.update()
            event.accept()
            return None
        if self.view is None:
            return super().keyPressEvent(event)
        w, h = self.width() / 4, self.height() / 4
        moves = {
            Qt.Key.Key_Left: (w, 0),
            Qt.Key.Key_Right: (-w, 0),
            Qt.Key.Key_Up: (0, h),
            Qt.Key.Key_Down: (0, -h),
        }
        key = Qt.Key(event.key())
        if key in moves:
            self.set_view(self.view.panned(*moves[key]))
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_view(self.view.zoomed_at(2.0, self.width() / 2, self.height() / 2))
        elif key == Qt.Key.Key_Minus:
            self.set_view(self.view.zoomed_at(0.5, self.width() / 2, self.height() / 2))
        elif key == Qt.Key.Key_Escape:
            self.set_selection([])
        else:
            return super().keyPressEvent(event)
        event.accept()
        return None

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fbfbf8"))
        view = self.view
        if view is not None and self._image is not None and self._image_view is not None:
            # The last image, placed where its box falls in the current view.
            iv = self._image_view
            x0, y0 = view.to_pixel(iv.bbox[0], iv.bbox[3])
            x1, y1 = view.to_pixel(iv.bbox[2], iv.bbox[1])
            target = QRectF(x0, y0, x1 - x0, y1 - y0)
            if self._drag is not None:
                target.translate(self._drag)
            p.drawImage(target, self._image, QRectF(self._image.rect()))
        if view is not None and self._drag is None:
            self._paint_overlay(p, view)
            for overlay in self.overlays:
                p.save()
                overlay(p, view)
                p.restore()
            if self.map_tool is not None:
                p.save()
                self.map_tool.paint(p, view)
                p.restore()
        if self._band is not None:
            pen = QPen(QColor("#1565c0"))
            pen.setWidth(1)  # P7: construct, then set the width
            pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(QBrush(QColor(21, 101, 192, 40)))
            p.drawRect(self._band)
        note = None
        if self.online is False:
            note = translate("MapCanvas", "Offline — retrying…")
        elif self.error_message:
            note = self.error_message
        if note:
            p.setPen(QColor("#c62828"))
            p.drawText(
                QRect(8, 8, self.width() - 16, 48),
                int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap),
                note,
            )
        p.end()

    def _paint_overlay(self, p: QPainter, view: Viewport) -> None:
        data = self.data.get(PARCELS)
        if data is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for ids, colour, fill in (
            (self.highlighted, "#ff6f00", QColor(255, 111, 0, 60)),
            (self.selection, "#00e5ff", QColor(0, 229, 255, 70)),
        ):
            if not ids:
                continue
            path = highlight_path(data, ids, view)
            pen = QPen(QColor(colour))
            pen.setWidthF(2.5)
            p.setPen(pen)
            p.setBrush(QBrush(fill))
            p.drawPath(path)


def make_fetcher(connect: Callable[[], psycopg.Connection] | str) -> Fetcher:
    return Fetcher(connect)
