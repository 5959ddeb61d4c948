"""Regression tests for the Qt build itself (DESIGN P1, P7, P8).

P1: PySide6 6.12.0 on Python 3.11 aborts the interpreter ("Fatal Python error:
none_dealloc") after a few thousand QPainter calls that return void. These tests draw in
*this* process on purpose: if the bug comes back, the test run dies loudly.
P7: ``QPen(QColor, 0)`` also aborts on 6.12: pens are built first, then given a width.
P8: Vietnamese labels must render off-screen (a font with the glyphs must be loaded).
"""

from __future__ import annotations

import re
import time
import tomllib

import PySide6
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPen,
    QPolygonF,
)

from app.config import REPO_ROOT
from app.ui.fonts import VIETNAMESE_SAMPLE, covers_vietnamese, ensure_fonts, label_font

PRIMITIVES = 100_000
WHITE = QColor(255, 255, 255).rgb()
RED = QColor(200, 0, 0).rgb()
GREEN = QColor(0, 150, 0).rgb()
BLUE = QColor(0, 0, 200).rgb()


@pytest.fixture(scope="module")
def vi_font(qapp) -> QFont:
    ensure_fonts(qapp)
    return label_font(12)


def _pen(color: QColor, width: int) -> QPen:
    pen = QPen(color)  # P7: never QPen(color, width) — construct, then set the width
    pen.setWidth(width)
    return pen


def test_pyside_version_is_not_the_broken_one():
    major, minor, *_ = (int(x) for x in re.findall(r"\d+", PySide6.__version__)[:3])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__}: see DESIGN P1"
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    assert any(d.replace(" ", "").startswith("PySide6-Essentials") and "<6.12" in d for d in deps)


def test_hundred_thousand_painter_primitives_survive_and_draw(qapp, vi_font):
    image = QImage(600, 400, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    red, green, blue, black = QColor(RED), QColor(GREEN), QColor(BLUE), QColor(0, 0, 0)
    triangle = QPolygonF([QPointF(0, 0), QPointF(60, 0), QPointF(30, 50)])
    start = time.perf_counter()
    painter = QPainter(image)
    painter.setFont(vi_font)
    drawn = 0
    i = 0
    while drawn < PRIMITIVES:
        k = i % 100
        # Lines: horizontal red strokes in the band y = 10…109, x = 0…199.
        painter.setPen(_pen(red, 1 + i % 2))
        painter.drawLine(QPoint(0, 10 + k), QPoint(199, 10 + k))
        # Rectangles: green outlines, all starting at x = 220 (left edge drawn each time).
        painter.setPen(_pen(green, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRect(220, 10 + k % 20, 40 + k, 60))
        # Polygons: filled blue triangles, no outline, in the band y = 150…249.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(blue))
        painter.drawPolygon(triangle.translated(20 + k * 3, 150 + k % 50))
        # Text: Vietnamese labels in the band y = 300…399.
        painter.setPen(_pen(black, 1))
        painter.drawText(QPointF(10 + (k % 10) * 50, 330 + k % 40), "Thửa 15")
        drawn += 4
        i += 1
    painter.end()
    elapsed = time.perf_counter() - start

    assert drawn >= PRIMITIVES
    assert elapsed < 10, f"{PRIMITIVES} primitives took {elapsed:.1f} s"
    assert image.pixel(100, 50) == RED  # inside the line band
    assert image.pixel(100, 5) == WHITE  # above it: untouched
    assert image.pixel(220, 40) == GREEN  # left edge shared by every rectangle
    assert image.pixel(240, 40) == WHITE  # inside the outlines: no brush
    assert image.pixel(50, 160) == BLUE  # inside the first triangle
    assert image.pixel(590, 160) == WHITE  # right of every triangle
    ink = sum(1 for x in range(0, 600, 2) for y in range(300, 400, 2) if image.pixel(x, y) != WHITE)
    assert ink > 200, "the labels left no ink"


def _ink_box(text: str, font: QFont) -> tuple[QRect | None, QImage]:
    metrics = QFontMetrics(font)
    image = QImage(max(8, metrics.horizontalAdvance(text) + 20), 80, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(_pen(QColor(0, 0, 0), 1))
    painter.drawText(QPointF(10, 55), text)
    painter.end()
    xs, ys = [], []
    for y in range(image.height()):
        for x in range(image.width()):
            if image.pixel(x, y) != WHITE:
                xs.append(x)
                ys.append(y)
    if not xs:
        return None, image
    return QRect(QPoint(min(xs), min(ys)), QPoint(max(xs), max(ys))), image


def test_vietnamese_label_renders_with_diacritics(qapp, vi_font):
    label = "Thửa đất số 15 — Đất ở tại nông thôn"
    metrics = QFontMetrics(vi_font)
    assert covers_vietnamese(vi_font), f"{vi_font.family()} lacks Vietnamese glyphs"
    for ch in "ữđĐởôạ":
        assert metrics.inFontUcs4(ord(ch)), f"{vi_font.family()} has no glyph for {ch!r}"
    assert all(metrics.inFontUcs4(ord(ch)) for ch in VIETNAMESE_SAMPLE)
    assert metrics.horizontalAdvance("ữ") > 0

    box, _ = _ink_box(label, vi_font)
    assert box is not None and box.width() > metrics.horizontalAdvance("Thửa") * 4

    # Glyph-dependent: "ữ" carries a horn and a tilde above the x-height that "u" lacks,
    # so its ink starts higher and the two renderings differ.
    u_box, u_image = _ink_box("u", vi_font)
    uu_box, uu_image = _ink_box("ữ", vi_font)
    assert u_box is not None and uu_box is not None
    assert uu_box.top() < u_box.top() - 2, (u_box, uu_box)
    assert uu_box.right() > u_box.right(), "the horn of ư sticks out to the right"
    assert u_image != uu_image
