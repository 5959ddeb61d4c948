"""Headless rendering: a map image of a box, with timings. Used by ``landrec render``,
``landrec bench map`` and tests.

Keep :func:`render_map`'s signature: the benchmark builds on it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg

from app.map.fetch import Fetcher
from app.map.layers import ADMIN, ALIASES, PARCELS, SHEETS, LayerModel, default_layers
from app.map.style import load_style
from app.map.viewport import BBox, Viewport

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

#: Layers drawn by default when none are named: the cadastral ones.
DEFAULT_LAYERS = (PARCELS, SHEETS, ADMIN)


def render_map(
    dsn: str,
    bbox: tuple[float, float, float, float],
    size: tuple[int, int],
    layers: list[str] | None = None,
) -> tuple[QImage, dict]:
    """Render ``bbox`` (province CRS) into an image of ``size`` pixels as the person of
    ``dsn`` sees it. Returns the image and timings in ms: fetch_ms (statements and rows),
    decode_ms (TWKB → arrays), paint_ms, total_ms, and ``features`` (parcels drawn)."""
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        style = load_style(conn)
        t_conn = time.perf_counter()
        image, timings = render_with(Fetcher(lambda: conn), style, bbox, size, layers)
    timings["connect_ms"] = round((t_conn - t0) * 1000, 1)
    timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return image, timings


def render_with(
    fetcher: Fetcher,
    style,
    bbox: BBox,
    size: tuple[int, int],
    layers: Sequence[str] | None = None,
    lang: str = "vi",
) -> tuple[QImage, dict]:
    """Like :func:`render_map` over an existing fetcher (connection and cache kept)."""
    from PySide6.QtGui import QPainter

    from app.map.qtpaint import MapPainter, ensure_app

    ensure_app()
    t0 = time.perf_counter()
    model = LayerModel(default_layers())
    model.only(layers if layers else DEFAULT_LAYERS)
    view = Viewport.fit(bbox, size)
    # Headless rendering draws what it was asked for at any scale (the canvas keeps the
    # declared scale ranges): benchmarks need the 200 000-parcel overview.
    wanted = [m for m in model.layers if m.visible and m.kind is not None]
    datas = fetcher.fetch(view, wanted)
    t1 = time.perf_counter()
    by_id = {d.layer_id: d for d in datas}
    shown = [(m, by_id[m.id]) for m in wanted if m.id in by_id]
    painter_obj = MapPainter(style, lang)
    image = painter_obj.new_image(view)
    painter = QPainter(image)
    try:
        painter_obj.paint(painter, view, shown)
    finally:
        painter.end()
    t2 = time.perf_counter()
    fetch_ms = sum(d.fetch_ms for d in datas)
    decode_ms = sum(d.decode_ms for d in datas)
    parcels = by_id.get(PARCELS)
    return image, {
        "fetch_ms": round(fetch_ms, 1),
        "decode_ms": round(decode_ms, 1),
        "paint_ms": round((t2 - t1) * 1000, 1),
        "total_ms": round((t2 - t0) * 1000, 1),
        "features": len(parcels) if parcels is not None else 0,
        "features_all": sum(len(d) for d in datas),
        "scale": round(view.scale),
        "bbox": [round(v, 3) for v in view.bbox],  # the box drawn (aspect of the image)
        "layers": [m.id for m, _ in shown],
    }


def parse_layers(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [ALIASES.get(t.strip(), t.strip()) for t in text.split(",") if t.strip()]
