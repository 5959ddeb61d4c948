"""Canvas tools of the parcel editor (MapTool subclasses, see app/ui/map_canvas.py).

Every tool snaps to the vertices, then the edges, of the full-precision parcels held by
the :class:`~app.edit.session.EditSession` within a tolerance in pixels (shown by a
marker), and hands its result to a callback; the dock (app/ui/edit_panel.py) then talks
to the store off the UI thread. Keys: Enter (or a double-click) finishes, Esc cancels,
Backspace drops the last point, Ctrl+Z / Ctrl+Y undo and redo.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen
from shapely.geometry import MultiPolygon, Polygon

from app.edit import geometry as g
from app.edit.session import EditSession
from app.map.viewport import Viewport
from app.ui.i18n import format_float, translate
from app.ui.map_canvas import MapTool

XY = tuple[float, float]

SNAP_COLOUR = QColor("#d500f9")
BAND_COLOUR = QColor("#e53935")
EDIT_COLOUR = QColor("#1565c0")
DRAFT_COLOUR = QColor("#2e7d32")
PROBLEM_COLOUR = QColor("#ff1744")
DRAFT_FILL = QColor(46, 125, 50, 50)


def format_length(metres: float, lang: str) -> str:
    """12.345 → "12,35 m" (vi) / "12.35 m" (en)."""
    return f"{format_float(metres, lang, 2)} m"


def format_area(m2: float, lang: str) -> str:
    """1234.5 → "1.234,5 m²" (vi) / "1,234.5 m²" (en)."""
    return f"{format_float(m2, lang, 1)} m²"


def _pen(colour: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour)
    pen.setWidthF(width)  # P7: construct, then set the width
    pen.setStyle(style)
    return pen


def geometry_path(geom: Any, view: Viewport) -> QPainterPath:
    """A QPainterPath of a shapely polygon / multipolygon / line in pixels."""
    path = QPainterPath()
    polys = (
        [geom]
        if isinstance(geom, Polygon)
        else list(geom.geoms)
        if isinstance(geom, MultiPolygon)
        else []
    )
    for poly in polys:
        for ring in [poly.exterior, *poly.interiors]:
            _add_ring(path, list(ring.coords), view, close=True)
    if not polys and hasattr(geom, "coords"):
        _add_ring(path, list(geom.coords), view, close=False)
    elif not polys and hasattr(geom, "geoms"):
        for part in geom.geoms:
            path.addPath(geometry_path(part, view))
    return path


def _add_ring(path: QPainterPath, coords: Sequence[Any], view: Viewport, close: bool) -> None:
    if not coords:
        return
    x, y = view.to_pixel(*coords[0][:2])
    path.moveTo(x, y)
    for c in coords[1:]:
        path.lineTo(*view.to_pixel(*c[:2]))
    if close:
        path.closeSubpath()


def paint_marker(p: QPainter, view: Viewport, x: float, y: float, colour: QColor) -> None:
    """A ring with a cross (problem location, point geometry)."""
    px, py = view.to_pixel(x, y)
    p.setPen(_pen(colour, 2.5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(px, py), 9, 9)
    p.drawLine(QPointF(px - 13, py), QPointF(px + 13, py))
    p.drawLine(QPointF(px, py - 13), QPointF(px, py + 13))


class SessionOverlay:
    """Draws the drafted geometry of the open change set and the highlighted problem.

    Not a tool: the editor panel registers it in ``MapCanvas.overlays`` while it lives, so
    the drafts stay on the map whatever tool is active — the canvas's own pan, identify
    and select with their cursors when no editing tool is — and the editing tools draw
    only their own rubber bands over it."""

    def __init__(self, session: EditSession, lang: str = "vi") -> None:
        self.session = session
        self.lang = lang
        #: Geometry of the problem the clerk clicked (shapely), drawn in red.
        self.problem_location: Any = None
        #: Drafted new geometries of the change set, drawn in green.
        self.drafted: list[Any] = []

    def __call__(self, p: QPainter, view: Viewport) -> None:
        self.paint(p, view)

    def paint(self, p: QPainter, view: Viewport) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.drafted:
            p.setPen(_pen(DRAFT_COLOUR, 2.5))
            p.setBrush(QBrush(DRAFT_FILL))
            for geom in self.drafted:
                p.drawPath(geometry_path(geom, view))
        loc = self.problem_location
        if loc is not None and not loc.is_empty:
            if loc.geom_type == "Point":
                paint_marker(p, view, loc.x, loc.y, PROBLEM_COLOUR)
            else:
                p.setPen(_pen(PROBLEM_COLOUR, 3.0))
                p.setBrush(QBrush(QColor(255, 23, 68, 60)))
                p.drawPath(geometry_path(loc, view))
                c = loc.representative_point()
                paint_marker(p, view, c.x, c.y, PROBLEM_COLOUR)


class EditTool(MapTool):
    """Base of the active tools: snapping and its marker, undo keys, finish/cancel."""

    cursor = Qt.CursorShape.CrossCursor
    #: Snap tolerance on screen (pixels), configurable per tool.
    snap_px: float = g.DEFAULT_SNAP_PX

    def __init__(
        self,
        session: EditSession,
        on_finish: Callable[[Any], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        lang: str = "vi",
    ) -> None:
        self.session = session
        self.lang = lang
        self.canvas: Any = None
        self.on_finish = on_finish
        self.on_message = on_message
        self.on_cancel: Callable[[], None] | None = None
        self.hover: g.Snap | None = None
        #: The panel's overlay: where a refused edit's place is shown (drawn there).
        self.overlay: SessionOverlay | None = None

    def show_problem(self, location: Any) -> None:
        if self.overlay is not None:
            self.overlay.problem_location = location

    def tolerance(self) -> float:
        view = self.canvas.view
        return g.pixels_to_metres(self.snap_px, view.resolution) if view else 0.0

    def snap_event(self, event: QMouseEvent, exclude: Sequence[XY] = ()) -> g.Snap:
        pos = event.position()
        x, y = self.canvas.view.to_map(pos.x(), pos.y())
        return self.session.snapper.snap(x, y, self.tolerance(), exclude)

    def message(self, text: str) -> None:
        if self.on_message is not None:
            self.on_message(text)

    def key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
            return True
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return True
        if ctrl and key == Qt.Key.Key_Z and not mods & Qt.KeyboardModifier.ShiftModifier:
            self.undo()
            return True
        if ctrl and (key == Qt.Key.Key_Y or key == Qt.Key.Key_Z):
            self.redo()
            return True
        return False

    def finish(self) -> None: ...

    def cancel(self) -> None:
        if self.on_cancel is not None:
            self.on_cancel()

    def undo(self) -> None: ...

    def redo(self) -> None: ...

    def paint(self, p: QPainter, view: Viewport) -> None:
        self.paint_snap(p, view)

    def paint_snap(self, p: QPainter, view: Viewport) -> None:
        s = self.hover
        if s is None or not s.snapped:
            return
        px, py = view.to_pixel(s.x, s.y)
        p.setPen(_pen(SNAP_COLOUR, 2.0))
        p.setBrush(Qt.BrushStyle.NoBrush)
        if s.kind == "vertex":  # a square on a corner, a diamond on an edge
            p.drawRect(QRectF(px - 6, py - 6, 12, 12))
        else:
            path = QPainterPath()
            path.moveTo(px, py - 7)
            path.lineTo(px + 7, py)
            path.lineTo(px, py + 7)
            path.lineTo(px - 7, py)
            path.closeSubpath()
            p.drawPath(path)


class PolylineTool(EditTool):
    """Clicks add snapped points; ``closed`` draws a ring (new parcel, area)."""

    closed = False
    min_points = 2

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.points: list[XY] = []
        self._redo: list[XY] = []

    def add_point(self, xy: XY) -> None:
        """A point from a click or from typed VN-2000 coordinates."""
        self.points.append((float(xy[0]), float(xy[1])))
        self._redo.clear()
        if self.canvas is not None:
            self.canvas.update()

    def press(self, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self.canvas.view is None:
            return False
        s = self.snap_event(event)
        self.hover = s
        self.add_point((s.x, s.y))
        return True

    def move(self, event: QMouseEvent) -> bool:
        if self.canvas.view is None:
            return False
        self.hover = self.snap_event(event)
        return True

    def release(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.LeftButton

    def double_click(self, event: QMouseEvent) -> bool:
        # Usually the press before the double-click added the point already; where the
        # second press arrives only as the double-click, it is added here.
        if self.canvas.view is not None:
            s = self.snap_event(event)
            if not self.points or math.dist(self.points[-1], (s.x, s.y)) > 1e-9:
                self.points.append((s.x, s.y))
        self.finish()
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Backspace:
            self.undo()
            return True
        return super().key(event)

    def undo(self) -> None:
        if self.points:
            self._redo.append(self.points.pop())

    def redo(self) -> None:
        if self._redo:
            self.points.append(self._redo.pop())

    def reset(self) -> None:
        self.points, self._redo = [], []

    def cancel(self) -> None:
        self.reset()
        super().cancel()

    def finish(self) -> None:
        pts = list(self.points)
        # A double-click puts the last point twice.
        dedup = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
        if len(dedup) < self.min_points:
            self.message(
                translate("EditTools", "Click at least {n} points, then press Enter").format(
                    n=self.min_points
                )
            )
            return
        self.reset()
        if self.on_finish is not None:
            self.on_finish(dedup)

    def live_points(self) -> list[XY]:
        pts = list(self.points)
        if self.hover is not None and pts:
            pts.append((self.hover.x, self.hover.y))
        return pts

    def paint(self, p: QPainter, view: Viewport) -> None:
        pts = self.live_points()
        if pts:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            path = QPainterPath()
            _add_ring(path, pts, view, close=self.closed and len(pts) > 2)
            p.setPen(_pen(BAND_COLOUR, 2.0, Qt.PenStyle.DashLine))
            p.setBrush(QBrush(QColor(229, 57, 53, 40)) if self.closed else Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setPen(_pen(BAND_COLOUR, 1.5))
            p.setBrush(QBrush(QColor("#ffffff")))
            for x, y in self.points:
                px, py = view.to_pixel(x, y)
                p.drawRect(QRectF(px - 3, py - 3, 6, 6))
        self.paint_snap(p, view)


class SplitTool(PolylineTool):
    """Draw the split line across the parcel; Enter hands the points over."""


class NewParcelTool(PolylineTool):
    """Draw a new parcel's corners; Enter closes the ring."""

    closed = True
    min_points = 3


class MeasureTool(PolylineTool):
    """Distance (a polyline) or area (a ring): the running total is drawn by the cursor
    and kept in :attr:`result` after Enter."""

    def __init__(self, *args: Any, area: bool = False, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.closed = area
        self.min_points = 3 if area else 2
        self.result: str | None = None
        self.value: float | None = None

    def measure(self, pts: Sequence[XY]) -> tuple[float, str]:
        if self.closed:
            a = g.area(pts)
            text = translate("EditTools", "Area {area} — perimeter {length}").format(
                area=format_area(a, self.lang),
                length=format_length(g.distance([*pts, pts[0]]) if pts else 0.0, self.lang),
            )
            return a, text
        d = g.distance(pts)
        return d, translate("EditTools", "Distance {length}").format(
            length=format_length(d, self.lang)
        )

    def finish(self) -> None:
        pts = [p for i, p in enumerate(self.points) if i == 0 or p != self.points[i - 1]]
        if len(pts) < self.min_points:
            return super().finish()
        self.value, self.result = self.measure(pts)
        self.message(self.result)
        self.reset()
        if self.on_finish is not None:
            self.on_finish(self.value)

    def paint(self, p: QPainter, view: Viewport) -> None:
        super().paint(p, view)
        pts = self.live_points()
        if len(pts) >= 2 and self.hover is not None:
            _, text = self.measure(pts)
            px, py = view.to_pixel(self.hover.x, self.hover.y)
            rect = QRectF(px + 14, py + 10, 300, 22)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(255, 255, 255, 220)))
            metrics = p.fontMetrics()
            rect.setWidth(metrics.horizontalAdvance(text) + 12)
            p.drawRect(rect)
            p.setPen(QColor("#000000"))
            p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)


class MergeTool(EditTool):
    """Click picks a parcel, Shift+click adds or removes one; Enter merges the selection."""

    cursor = Qt.CursorShape.PointingHandCursor

    def press(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.LeftButton

    def release(self, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self.canvas.view is None:
            return False
        pos = event.position()
        pid = self.canvas.parcel_at(pos.x(), pos.y())
        adding = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        sel = list(self.canvas.selection)
        if pid is None:
            if not adding:
                sel = []
        elif adding:
            sel = [i for i in sel if i != pid] if pid in sel else [*sel, pid]
        else:
            sel = [pid]
        self.canvas.set_selection(sel)
        return True

    def finish(self) -> None:
        sel = list(self.canvas.selection)
        if len(sel) < 2:
            self.message(
                translate("EditTools", "Select at least two parcels (Shift+click), then Enter")
            )
            return
        if self.on_finish is not None:
            self.on_finish(sel)


class VertexTool(EditTool):
    """Move (drag), add (double-click on an edge) and delete (Ctrl+click or Delete) the
    vertices of the edited parcel; shared vertices move in every neighbour. Enter saves
    the changed parcels into the change set."""

    def __init__(self, *args: Any, target: int | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.target = target
        self.dragging: g.VertexRef | None = None
        self.drag_from: XY | None = None
        self.hover_vertex: g.VertexRef | None = None

    def _geom(self) -> Any:
        if self.target is None or self.target not in self.session.stack.state:
            return None
        return self.session.geometry(self.target)

    def _vertex_at(self, event: QMouseEvent) -> g.VertexRef | None:
        geom = self._geom()
        if geom is None or self.canvas.view is None:
            return None
        pos = event.position()
        x, y = self.canvas.view.to_map(pos.x(), pos.y())
        ref, d = g.nearest_vertex(geom, x, y)
        return ref if d <= self.tolerance() else None

    def _apply(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except g.GeometryError as exc:
            self.message(exc.text(self.lang))
            self.show_problem(exc.location)

    def press(self, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self._geom() is None:
            return False
        ref = self._vertex_at(event)
        if ref is None:
            return False  # let the canvas pan
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._apply(lambda: self.session.delete_vertex(self.target, ref))
            return True
        self.dragging = ref
        self.drag_from = g.vertex_refs(self._geom())[self._index(ref)][1]
        return True

    def _index(self, ref: g.VertexRef) -> int:
        return [r for r, _ in g.vertex_refs(self._geom())].index(ref)

    def move(self, event: QMouseEvent) -> bool:
        if self.canvas.view is None:
            return False
        exclude = [self.drag_from] if self.drag_from else []
        self.hover = self.snap_event(event, exclude)
        if self.dragging is None:
            self.hover_vertex = self._vertex_at(event)
        return True

    def release(self, event: QMouseEvent) -> bool:
        if self.dragging is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        ref, self.dragging = self.dragging, None
        s = self.snap_event(event, [self.drag_from] if self.drag_from else [])
        self.drag_from = None
        self._apply(lambda: self.session.move_vertex(self.target, ref, (s.x, s.y)))
        return True

    def double_click(self, event: QMouseEvent) -> bool:
        geom = self._geom()
        if geom is None:
            return False
        pos = event.position()
        x, y = self.canvas.view.to_map(pos.x(), pos.y())
        ref, q, d = g.nearest_edge(geom, x, y)
        if d > self.tolerance():
            return False
        self._apply(lambda: self.session.insert_vertex(self.target, ref, q))
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Delete and self.hover_vertex is not None:
            ref = self.hover_vertex
            self._apply(lambda: self.session.delete_vertex(self.target, ref))
            self.hover_vertex = None
            return True
        return super().key(event)

    def add_point(self, xy: XY) -> None:
        """Typed coordinates move the hovered (else the last dragged) vertex there."""
        if self.hover_vertex is None:
            self.message(translate("EditTools", "Point at the vertex to move first"))
            return
        ref = self.hover_vertex
        self._apply(lambda: self.session.move_vertex(self.target, ref, xy))

    def undo(self) -> None:
        self.session.undo()

    def redo(self) -> None:
        self.session.redo()

    def finish(self) -> None:
        if self.on_finish is not None:
            self.on_finish(self.session.changed())

    def paint(self, p: QPainter, view: Viewport) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        changed = self.session.changed()
        for k, (_, geom) in changed.items():
            if k != self.target:
                p.setPen(_pen(EDIT_COLOUR, 1.5, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(geometry_path(geom, view))
        geom = self._geom()
        if geom is not None:
            p.setPen(_pen(EDIT_COLOUR, 2.5))
            p.setBrush(QBrush(QColor(21, 101, 192, 40)))
            p.drawPath(geometry_path(geom, view))
            p.setPen(_pen(EDIT_COLOUR, 1.5))
            for ref, (x, y) in g.vertex_refs(geom):
                px, py = view.to_pixel(x, y)
                hot = ref == self.hover_vertex or ref == self.dragging
                p.setBrush(QBrush(QColor("#ffeb3b") if hot else QColor("#ffffff")))
                p.drawRect(QRectF(px - 4, py - 4, 8, 8))
            if self.dragging is not None and self.hover is not None and self.drag_from:
                p.setPen(_pen(BAND_COLOUR, 1.5, Qt.PenStyle.DashLine))
                a = view.to_pixel(*self.drag_from)
                b = view.to_pixel(self.hover.x, self.hover.y)
                p.drawLine(QPointF(*a), QPointF(*b))
        self.paint_snap(p, view)
