"""Viewport math: map (province CRS, metres, y up) ↔ pixel (y down) and the scale 1:N."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

BBox = tuple[float, float, float, float]

#: Screen resolution assumed for the scale 1:N (QGIS and most GIS use 96 dpi).
DPI = 96.0
METRES_PER_INCH = 0.0254
MIN_RESOLUTION = 0.005  # m/px: about 1:19 — closer is useless for cadastre
MAX_RESOLUTION = 2_000.0  # m/px: a whole country


@dataclass(frozen=True)
class Viewport:
    """What the canvas shows: centre (map units), metres per pixel and size in pixels."""

    cx: float
    cy: float
    resolution: float  # metres per pixel
    width: int
    height: int

    @classmethod
    def fit(cls, bbox: BBox, size: tuple[int, int], margin: float = 0.0) -> Viewport:
        """The view of ``size`` pixels showing all of ``bbox`` (aspect kept, centred)."""
        minx, miny, maxx, maxy = bbox
        w, h = max(1, int(size[0])), max(1, int(size[1]))
        res = max((maxx - minx) / w, (maxy - miny) / h) * (1.0 + 2 * margin)
        return cls((minx + maxx) / 2, (miny + maxy) / 2, _clamp_res(res), w, h)

    # -- geometry --------------------------------------------------------------------------
    @property
    def bbox(self) -> BBox:
        hw, hh = self.width * self.resolution / 2, self.height * self.resolution / 2
        return (self.cx - hw, self.cy - hh, self.cx + hw, self.cy + hh)

    @property
    def scale(self) -> float:
        """Denominator N of the scale 1:N at :data:`DPI`."""
        return self.resolution * DPI / METRES_PER_INCH

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        return (
            (x - self.cx) / self.resolution + self.width / 2,
            self.height / 2 - (y - self.cy) / self.resolution,
        )

    def to_map(self, px: float, py: float) -> tuple[float, float]:
        return (
            self.cx + (px - self.width / 2) * self.resolution,
            self.cy + (self.height / 2 - py) * self.resolution,
        )

    def to_pixels(self, coords: np.ndarray) -> np.ndarray:
        """(n, 2) map coordinates → (n, 2) float64 pixel coordinates, vectorised."""
        out = np.empty((len(coords), 2), dtype=np.float64)
        inv = 1.0 / self.resolution
        out[:, 0] = (coords[:, 0] - self.cx) * inv + self.width / 2
        out[:, 1] = self.height / 2 - (coords[:, 1] - self.cy) * inv
        return out

    def pixel_rect_to_bbox(self, x0: float, y0: float, x1: float, y1: float) -> BBox:
        ax, ay = self.to_map(min(x0, x1), max(y0, y1))
        bx, by = self.to_map(max(x0, x1), min(y0, y1))
        return (ax, ay, bx, by)

    # -- navigation (each returns a new viewport) ------------------------------------------
    def resized(self, width: int, height: int) -> Viewport:
        return replace(self, width=max(1, width), height=max(1, height))

    def panned(self, dx_px: float, dy_px: float) -> Viewport:
        """Move the content by (dx, dy) pixels (a drag to the right shows what is west)."""
        return replace(
            self, cx=self.cx - dx_px * self.resolution, cy=self.cy + dy_px * self.resolution
        )

    def zoomed_at(self, factor: float, px: float, py: float) -> Viewport:
        """Zoom in by ``factor`` (>1 in) keeping the map point under pixel (px, py) fixed."""
        mx, my = self.to_map(px, py)
        res = _clamp_res(self.resolution / factor)
        # Solve for the centre that puts (mx, my) back under (px, py).
        cx = mx - (px - self.width / 2) * res
        cy = my - (self.height / 2 - py) * res
        return replace(self, cx=cx, cy=cy, resolution=res)

    def with_scale(self, denominator: float) -> Viewport:
        return replace(self, resolution=_clamp_res(denominator * METRES_PER_INCH / DPI))

    def zoomed_to(self, bbox: BBox, margin: float = 0.05) -> Viewport:
        minx, miny, maxx, maxy = bbox
        if maxx - minx <= 0 and maxy - miny <= 0:  # a point: keep the scale, centre on it
            return replace(self, cx=minx, cy=miny)
        return Viewport.fit(bbox, (self.width, self.height), margin)


def _clamp_res(res: float) -> float:
    if not math.isfinite(res) or res <= 0:
        return 1.0
    return min(MAX_RESOLUTION, max(MIN_RESOLUTION, res))


def parse_scale(text: str) -> float | None:
    """'1:2 000', '1:2.000', '2000', '1 : 2,000' → 2000.0; None when it is not a scale."""
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if ":" in t:
        head, _, t = t.partition(":")
        if head not in ("1", ""):
            return None
    t = t.replace(".", "").replace(",", "")
    try:
        value = float(t)
    except ValueError:
        return None
    return value if value >= 1 else None


def format_scale(denominator: float, lang: str = "vi") -> str:
    """1:N with thousands grouped the local way: '1:2.000' (vi) or '1:2,000' (en)."""
    n = f"{round(denominator):,}"
    return "1:" + (n.replace(",", ".") if lang == "vi" else n)


class ExtentHistory:
    """Previous / next extent, like a browser's back and forward."""

    def __init__(self, limit: int = 100) -> None:
        self._items: list[Viewport] = []
        self._pos = -1
        self._limit = limit

    def push(self, view: Viewport) -> None:
        if self._pos >= 0 and self._items[self._pos] == view:
            return
        del self._items[self._pos + 1 :]
        self._items.append(view)
        if len(self._items) > self._limit:
            del self._items[0]
        self._pos = len(self._items) - 1

    def can_back(self) -> bool:
        return self._pos > 0

    def can_forward(self) -> bool:
        return self._pos < len(self._items) - 1

    def back(self) -> Viewport | None:
        if not self.can_back():
            return None
        self._pos -= 1
        return self._items[self._pos]

    def forward(self) -> Viewport | None:
        if not self.can_forward():
            return None
        self._pos += 1
        return self._items[self._pos]
