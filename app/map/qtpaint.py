"""Painting the engine's layers with QPainter — the only Qt module of app.map.

Speed (DESIGN §4: one QPointF per vertex in Python was most of the naive paint time):
coordinates go from the decoded numpy arrays to pixels in one vectorised step, and each
land-use class becomes *one* QPainterPath built from a byte buffer in QDataStream's path
format (element type, x, y as big-endian int32/float64) — no Python call per vertex or
per parcel. A class is then one fillPath; all outlines one strokePath.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
)

from app.map.fetch import LayerData
from app.map.geometry import Rings
from app.map.labels import format_area, format_percent, place_labels
from app.map.layers import MapLayer, hex_or
from app.map.style import LandUseStyle
from app.map.viewport import Viewport

#: Parcel labels from this scale and larger (style hint 'label_max_scale' overrides).
LABEL_MAX_SCALE = 2_500
#: Sheet numbers from this scale and larger (further out they only clutter).
SHEET_LABEL_MAX_SCALE = 25_000
#: Outlines are drawn while a pixel is smaller than this (m): further out they would
#: cover the fills.
OUTLINE_MAX_RES = 1.5
#: Antialias only views with fewer features than this: on overviews AA costs ×5 and
#: parcels are a few pixels wide anyway.
AA_MAX_FEATURES = 8_000
#: Features per fill path (see MapPainter._parcels).
PATH_CHUNK = 2_000

_VERTEX = np.dtype([("t", ">i4"), ("x", ">f8"), ("y", ">f8")])
_DASH = {
    "dash": Qt.PenStyle.DashLine,
    "dash-dot": Qt.PenStyle.DashDotLine,
    "dot": Qt.PenStyle.DotLine,
}


#: Five classes of a share, light to dark (ColorBrewer Purples).
CHOROPLETH = ("#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f")


def ensure_app() -> QGuiApplication:
    """A QGuiApplication (off-screen when there is no display) and Vietnamese fonts (P8)."""
    app = QGuiApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication([])
    from app.ui.fonts import ensure_fonts

    ensure_fonts(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


# -- arrays → paths -------------------------------------------------------------------------
def _stream_path(types: np.ndarray, px: np.ndarray, fill_rule: int = 0) -> QPainterPath:
    """QPainterPath from element types (0 moveTo, 1 lineTo) and (n, 2) pixel coordinates,
    via QDataStream (format: int32 count, count × (int32 type, f64 x, f64 y), int32 fill
    rule). One C++ call however many vertices."""
    n = len(types)
    path = QPainterPath()
    if n == 0:
        return path
    arr = np.empty(n, dtype=_VERTEX)
    arr["t"] = types
    arr["x"] = px[:, 0]
    arr["y"] = px[:, 1]
    buf = QByteArray(struct.pack(">i", n) + arr.tobytes() + struct.pack(">i", fill_rule))
    stream = QDataStream(buf, QIODevice.OpenModeFlag.ReadOnly)
    stream >> path
    return path


def ring_types(lengths: np.ndarray, total: int) -> np.ndarray:
    types = np.ones(total, dtype=np.int32)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
    types[starts[lengths > 0]] = 0
    return types


def path_of(rings: Rings, view: Viewport, which: np.ndarray | None = None) -> QPainterPath:
    """One path holding the rings of the features flagged in ``which`` (all if None)."""
    if which is None:
        coords, lengths = rings.coords, rings.lengths
    else:
        sel = which[rings.feature]
        lengths = rings.lengths[sel]
        starts = rings.offsets[:-1][sel]
        total = int(lengths.sum())
        idx = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        coords = rings.coords[idx + np.arange(total)]
    return _stream_path(ring_types(lengths, len(coords)), view.to_pixels(coords))


def class_paths(rings: Rings, classes: np.ndarray, view: Viewport) -> dict[int, QPainterPath]:
    """One path per class value (``classes[feature]``), vertices grouped by one sort."""
    if not len(rings.feature):
        return {}
    ring_class = classes[rings.feature]
    order = np.argsort(ring_class, kind="stable")
    lengths = rings.lengths[order]
    starts = rings.offsets[:-1][order]
    total = int(lengths.sum())
    before = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    idx = np.repeat(starts - before, lengths) + np.arange(total)
    px = view.to_pixels(rings.coords[idx])
    types = ring_types(lengths, total)
    sorted_class = ring_class[order]
    cuts = np.flatnonzero(np.diff(sorted_class)) + 1
    ring_bounds = np.concatenate(([0], cuts, [len(order)]))
    vert_bounds = np.concatenate((before, [total]))[ring_bounds]
    out = {}
    for k in range(len(ring_bounds) - 1):
        a, b = int(vert_bounds[k]), int(vert_bounds[k + 1])
        out[int(sorted_class[ring_bounds[k]])] = _stream_path(types[a:b], px[a:b])
    return out


# -- painting ------------------------------------------------------------------------------
def _pen(colour: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(colour))  # P7: never QPen(QColor, 0); set the width afterwards
    pen.setWidthF(float(width))
    pen.setStyle(style)
    pen.setCosmetic(True)
    return pen


class MapPainter:
    """Paints LayerData for a view into a QImage (or any QPainter)."""

    def __init__(self, style: LandUseStyle, lang: str = "vi") -> None:
        from app.ui.fonts import label_font

        self.style = style
        self.lang = lang
        self.font = label_font(8.0)
        self.bold = label_font(9.0, bold=True)

    def new_image(self, view: Viewport) -> QImage:
        img = QImage(view.width, view.height, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QColor("#fbfbf8"))
        return img

    def paint(
        self, painter: QPainter, view: Viewport, layers: Sequence[tuple[MapLayer, LayerData]]
    ) -> int:
        """Draw ``layers`` in order, then every label at once; returns features drawn."""
        total = sum(len(d) for _, d in layers)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, total < AA_MAX_FEATURES)
        drawn = 0
        for m, data in layers:
            if not len(data):
                continue
            if data.kind == "parcels":
                self._parcels(painter, view, m, data)
            elif data.kind == "inventory":
                self._choropleth(painter, view, m, data)
            else:
                self._outlined(painter, view, m, data)
            drawn += len(data)
        self.draw_labels(painter, self.labels(view, layers))
        return drawn

    def _parcels(self, painter: QPainter, view: Viewport, m: MapLayer, data: LayerData) -> None:
        codes = data.attrs["land_use_code"]
        names = sorted({c for c in codes if c is not None})
        index = {c: i + 1 for i, c in enumerate(names)}
        n_cls = len(names) + 1
        classes = np.fromiter((index.get(c, 0) for c in codes), dtype=np.int64, count=len(codes))  # type: ignore[arg-type]
        # Split each class into runs of PATH_CHUNK features (the server returns them
        # spatially clustered): the antialiasing rasterizer is ~5x faster on many small
        # paths than on one path spanning the whole image.
        keys = classes + n_cls * (np.arange(len(codes)) // PATH_CHUNK)
        rings = data.rings
        painter.setPen(Qt.PenStyle.NoPen)
        for key, path in class_paths(rings, keys, view).items():
            cls = key % n_cls
            colour = self.style.colour(names[cls - 1] if cls else None)
            painter.fillPath(path, QBrush(QColor(colour)))
        if view.resolution < OUTLINE_MAX_RES:
            st = m.decl.style
            stroke = hex_or(st.get("stroke"), "#222222") or "#222222"
            painter.strokePath(
                path_of(rings, view), _pen(stroke, float(st.get("stroke_width_px", 0.5)))
            )

    def _choropleth(self, painter: QPainter, view: Viewport, m: MapLayer, data: LayerData) -> None:
        """Units filled by their share (0–1) in five equal classes, light to dark."""
        share = np.asarray(data.attrs.get("share", np.full(len(data), np.nan)), dtype=float)
        classes = np.where(np.isnan(share), -1, np.clip((share * 5).astype(int), 0, 4))
        for k in range(5):
            which = classes == k
            if which.any():
                colour = QColor(CHOROPLETH[k])
                colour.setAlphaF(0.55)
                painter.fillPath(path_of(data.rings, view, which), QBrush(colour))
        stroke = hex_or(m.decl.style.get("stroke"), "#444444") or "#444444"
        painter.strokePath(path_of(data.rings, view), _pen(stroke, 1.0))

    def _outlined(self, painter: QPainter, view: Viewport, m: MapLayer, data: LayerData) -> None:
        st = m.decl.style
        path = path_of(data.rings, view)
        fill = hex_or(st.get("fill"), None)
        if fill is None and data.kind == "relation" and m.decl.geometry.endswith("polygon"):
            fill = hex_or(st.get("stroke"), "#888888")
        if fill is not None:
            colour = QColor(fill)
            colour.setAlphaF(float(st.get("opacity", 0.35)))
            painter.fillPath(path, QBrush(colour))
        stroke = hex_or(st.get("stroke"), "#444444") or "#444444"
        dash = _DASH.get(str(st.get("dash")), Qt.PenStyle.SolidLine)
        painter.strokePath(path, _pen(stroke, float(st.get("stroke_width_px", 1)), dash))

    # -- labels ----------------------------------------------------------------------------
    def parcel_label_texts(self, data: LayerData, which: np.ndarray) -> list[str]:
        nums = data.attrs["parcel_number"]
        codes = data.attrs["land_use_code"]
        areas = data.attrs["area"]
        # Number, land-use code, area (m², comma decimals; the unit is implied on maps).
        return [
            f"{int(nums[i])}\n{codes[i] or '?'}\n{format_area(float(areas[i]), self.lang)[:-3]}"
            for i in which
        ]

    def labels(self, view: Viewport, layers: Sequence[tuple[MapLayer, LayerData]]) -> list[Label]:
        """Every label of the view, placed together so that none overlaps another:
        boundaries first, then sheet numbers, then parcels (largest first)."""
        cands: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[str], str, bool, str]] = []
        fm, fmb = QFontMetricsF(self.font), QFontMetricsF(self.bold)
        for m, data in sorted(layers, key=lambda md: _LABEL_RANK.get(md[1].kind, 9)):
            if not len(data):
                continue
            if data.kind == "parcels":
                too_far = view.scale > float(m.decl.style.get("label_max_scale", LABEL_MAX_SCALE))
                if too_far or "parcel_number" not in data.attrs:  # overviews leave them out
                    continue
                bounds = shapely.bounds(data.geoms)
                vb = view.bbox
                inside = np.flatnonzero(
                    (bounds[:, 0] >= vb[0]) & (bounds[:, 1] >= vb[1])
                    & (bounds[:, 2] <= vb[2]) & (bounds[:, 3] <= vb[3])
                )  # fmt: skip
                if not len(inside):
                    continue
                texts = self.parcel_label_texts(data, inside)
                sizes = np.array([[fm.size(0, t).width(), fm.size(0, t).height()] for t in texts])
                span = (bounds[inside, 2:] - bounds[inside, :2]) / view.resolution
                fits = (sizes[:, 0] <= span[:, 0] * 1.1) & (sizes[:, 1] <= span[:, 1] * 1.1)
                sel = inside[fits]
                pts = shapely.point_on_surface(data.geoms[sel])
                prio = data.attrs["area"][sel]
                texts = [t for t, f in zip(texts, fits, strict=True) if f]
                cands.append(
                    (view.to_pixels(shapely.get_coordinates(pts)), sizes[fits], prio,
                     texts, "#000000", False, "parcels")
                )  # fmt: skip
                continue
            if data.kind == "sheets":
                if view.scale > SHEET_LABEL_MAX_SCALE:
                    continue
                word = "Tờ " if self.lang == "vi" else "Sheet "
                texts = [word + str(int(n)) for n in data.attrs["sheet_number"]]
                colour = "#1f78b4"
            elif data.kind == "inventory":
                shares = np.asarray(data.attrs.get("share", []), dtype=float)
                names = data.attrs.get("label", [""] * len(data))
                texts = [
                    f"{n}: {format_percent(v, self.lang)}" if not np.isnan(v) else str(n or "")
                    for n, v in zip(names, shares, strict=True)  # type: ignore[arg-type]
                ]
                colour = hex_or(m.decl.style.get("stroke"), "#444444") or "#444444"
            elif data.kind == "admin" or m.decl.style.get("label"):
                texts = [str(t or "") for t in data.attrs.get("label", [""] * len(data))]
                colour = hex_or(m.decl.style.get("stroke"), "#444444") or "#444444"
            else:
                continue
            # Anchor inside the visible part, so a big frame keeps its label on screen.
            clipped = shapely.intersection(data.geoms, shapely.box(*view.bbox))
            sel = np.flatnonzero(~shapely.is_empty(clipped) & np.array([bool(t) for t in texts]))
            if not len(sel):
                continue
            pts = shapely.point_on_surface(clipped[sel])
            texts = [texts[i] for i in sel]
            sizes = np.array([[fmb.horizontalAdvance(t) + 4, fmb.height()] for t in texts])
            prio = shapely.area(clipped[sel])
            cands.append(
                (view.to_pixels(shapely.get_coordinates(pts)), sizes, prio, texts, colour,
                 True, data.kind)
            )  # fmt: skip
        if not cands:
            return []
        # One placement for all: a rank offset keeps boundaries before sheets before parcels.
        anchors = np.concatenate([c[0] for c in cands])
        sizes = np.concatenate([c[1] for c in cands])
        ranks = np.concatenate(
            [np.full(len(c[0]), float(len(cands) - k)) for k, c in enumerate(cands)]
        )
        prio_in = np.concatenate([np.argsort(np.argsort(c[2])) / max(1, len(c[2])) for c in cands])
        meta = [(t, c[4], c[5], c[6]) for c in cands for t in c[3]]
        placed = place_labels(
            anchors, sizes, priority=ranks + prio_in * 0.999, bounds=(view.width, view.height)
        )
        return [Label(QRectF(p.x, p.y, p.w, p.h), *meta[p.index]) for p in placed]

    def draw_labels(self, painter: QPainter, labels: Sequence[Label]) -> None:
        fmb = QFontMetricsF(self.bold)
        halo = _pen("#ffffff", 3)
        painter.setFont(self.font)
        painter.setPen(_pen("#000000", 1))
        for lab in labels:
            if not lab.bold:
                painter.drawText(lab.rect, int(Qt.AlignmentFlag.AlignCenter), lab.text)
        for lab in labels:
            if lab.bold:
                path = QPainterPath()
                path.addText(
                    QPointF(lab.rect.x() + 2, lab.rect.y() + fmb.ascent()), self.bold, lab.text
                )
                painter.strokePath(path, halo)
                painter.fillPath(path, QBrush(QColor(lab.colour)))


@dataclass(frozen=True)
class Label:
    rect: QRectF
    text: str
    colour: str
    bold: bool
    kind: str


_LABEL_RANK = {"admin": 0, "sheets": 1, "relation": 2, "parcels": 3}


def highlight_path(data: LayerData, ids: Sequence[int], view: Viewport) -> QPainterPath:
    which = np.isin(data.ids, np.asarray(list(ids), dtype=np.int64))
    if not which.any():
        return QPainterPath()
    return path_of(data.rings, view, which)


def image_to_array(img: QImage) -> np.ndarray:
    """(h, w, 4) uint8 BGRA view copy of an ARGB32 image (tests, pixel checks)."""
    img = img.convertToFormat(QImage.Format.Format_ARGB32)
    ptr = img.constBits()
    return (
        np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes())
        .reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width()]
        .copy()
    )
