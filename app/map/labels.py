"""Label placement without overlaps: greedy, most important first, on a grid of buckets.

Qt-free: the caller gives each label's anchor (pixels) and box size (measured by the
painter's font metrics, or estimated). A label is placed centred on its anchor, else at
one of a few nearby offsets; a label that fits nowhere is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Offsets tried, in units of the label's own padded width/height: centre, above, below,
#: right, left (a full step, so a label can sit right next to one at the same anchor).
_CANDIDATES = ((0.0, 0.0), (0.0, -1.0), (0.0, 1.0), (1.0, 0.0), (-1.0, 0.0))


@dataclass(frozen=True)
class PlacedLabel:
    index: int  # into the input sequences
    x: float  # left, pixels
    y: float  # top, pixels
    w: float
    h: float


def place_labels(
    anchors: np.ndarray,
    sizes: np.ndarray,
    priority: Sequence[float] | np.ndarray | None = None,
    bounds: tuple[float, float] | None = None,
    padding: float = 2.0,
    max_offset: np.ndarray | None = None,
) -> list[PlacedLabel]:
    """Choose label boxes that never overlap (padding included).

    ``anchors``: (n, 2) pixel points; ``sizes``: (n, 2) widths and heights; ``priority``:
    higher first (e.g. parcel area); ``bounds``: (width, height) of the image — boxes
    must lie inside; ``max_offset``: per label, how far (pixels) it may move from its
    anchor (e.g. the parcel's half size) — 0 allows the centre position only.
    """
    n = len(anchors)
    if n == 0:
        return []
    order = (
        np.argsort(-np.asarray(priority, dtype=float), kind="stable")
        if priority is not None
        else range(n)
    )
    cell = float(max(16.0, np.median(sizes[:, 0]) if n else 16.0))
    grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
    placed: list[PlacedLabel] = []
    for i in order:
        i = int(i)
        w, h = float(sizes[i, 0]), float(sizes[i, 1])
        ax, ay = float(anchors[i, 0]), float(anchors[i, 1])
        limit = float(max_offset[i]) if max_offset is not None else float("inf")
        for fx, fy in _CANDIDATES:
            dx, dy = fx * (w + 2 * padding), fy * (h + 2 * padding)
            if (dx * dx + dy * dy) ** 0.5 > limit:
                continue
            x0, y0 = ax + dx - w / 2, ay + dy - h / 2
            x1, y1 = x0 + w, y0 + h
            if bounds is not None and (x0 < 0 or y0 < 0 or x1 > bounds[0] or y1 > bounds[1]):
                continue
            box = (x0 - padding, y0 - padding, x1 + padding, y1 + padding)
            cells = [
                (gx, gy)
                for gx in range(int(box[0] // cell), int(box[2] // cell) + 1)
                for gy in range(int(box[1] // cell), int(box[3] // cell) + 1)
            ]
            if any(_hits(box, other) for c in cells for other in grid.get(c, ())):
                continue
            for c in cells:
                grid.setdefault(c, []).append(box)
            placed.append(PlacedLabel(i, x0, y0, w, h))
            break
    return placed


def _hits(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def estimate_sizes(texts: Sequence[str], char_w: float = 6.5, line_h: float = 13.0) -> np.ndarray:
    """Rough label boxes when no font metrics are at hand (tests, headless planning)."""
    out = np.empty((len(texts), 2), dtype=float)
    for i, t in enumerate(texts):
        lines = t.split("\n")
        out[i] = (max(len(s) for s in lines) * char_w, len(lines) * line_h)
    return out


def format_percent(share: float, lang: str = "vi") -> str:
    """0.4567 → '45,7 %' (vi) or '45.7 %' (en)."""
    s = f"{share * 100:.1f}"
    return f"{s.replace('.', ',') if lang == 'vi' else s} %"


def format_area(m2: float, lang: str = "vi") -> str:
    """'1.234,5 m²' (vi) or '1,234.5 m²' (en)."""
    s = f"{m2:,.1f}"
    if lang == "vi":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{s} m²"
