"""Fonts that can draw Vietnamese, also off-screen and on a bare server (DESIGN P8).

DejaVu Sans is taken from the system when installed (Debian: fonts-dejavu-core), else
from resources/fonts (shipped with its licence, resources/fonts/LICENSE-DejaVu.txt). The
application font is switched to it only when the platform's default font lacks
Vietnamese glyphs: desktop fonts such as Segoe UI or Noto Sans are kept.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics, QGuiApplication

from app.config import RESOURCES_DIR

FAMILY = "DejaVu Sans"
FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
SYSTEM_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu"),  # Fedora, Arch
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path("C:/Windows/Fonts"),
    Path("/Library/Fonts"),
)
BUNDLED_DIR = RESOURCES_DIR / "fonts"

#: Letters a Vietnamese font must have: stacked diacritics and the horned vowels.
VIETNAMESE_SAMPLE = "ĂăÂâĐđÊêÔôƠơƯưẠạẢảẤấẦầẨẩẪẫẬậẶặỆệỊịỌọỘộỚớỜờỞởỠỡỢợỤụỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"


def covers_vietnamese(font: QFont) -> bool:
    metrics = QFontMetrics(font)
    return all(metrics.inFontUcs4(ord(ch)) for ch in VIETNAMESE_SAMPLE)


def font_files() -> list[Path]:
    """DejaVu Sans files to register: the system's when present, else the bundled ones."""
    for directory in (*SYSTEM_DIRS, BUNDLED_DIR):
        found = [directory / name for name in FILES if (directory / name).is_file()]
        if found and found[0].name == FILES[0]:
            return found
    return []


def ensure_fonts(app: QGuiApplication | None = None) -> QFont:
    """Register DejaVu Sans and make sure the application font draws Vietnamese.

    Returns the font in use for the interface. Idempotent.
    """
    app = app or QGuiApplication.instance()
    if getattr(app, "_landrec_font", None) is not None:
        return app._landrec_font
    for path in font_files():
        QFontDatabase.addApplicationFont(str(path))
    font = QGuiApplication.font()
    if not covers_vietnamese(font):
        size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        font = QFont(FAMILY)
        font.setPointSizeF(size)
        QGuiApplication.setFont(font)
    app._landrec_font = font
    return font


def label_font(point_size: float | None = None, bold: bool = False) -> QFont:
    """A font guaranteed to draw Vietnamese (for map labels, reports, tests)."""
    font = QFont(QGuiApplication.font())
    if not covers_vietnamese(font):
        font = QFont(FAMILY)
    if point_size:
        font.setPointSizeF(point_size)
    font.setBold(bold)
    return font
