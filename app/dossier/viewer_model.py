"""The viewer's state and image math, without Qt: page, zoom, rotation, pan and
brightness/contrast. The Qt widget (plugins/dossier/views.py) only draws what this says."""

from __future__ import annotations

from dataclasses import dataclass

FIT_WIDTH, FIT_PAGE, CUSTOM = "fit_width", "fit_page", "custom"
ZOOM_MIN, ZOOM_MAX = 0.05, 8.0
WHEEL_STEP = 1.25


@dataclass
class ViewerModel:
    page_count: int = 0
    page: int = 0  # 0-based
    mode: str = FIT_WIDTH
    scale: float = 1.0  # screen pixels per image pixel when mode == CUSTOM
    rotation: int = 0  # degrees clockwise: 0, 90, 180, 270
    brightness: int = 0  # -100 … 100
    contrast: int = 0  # -100 … 100
    pan_x: float = 0.0  # top-left of the view in displayed-image pixels
    pan_y: float = 0.0

    # -- navigation --------------------------------------------------------------------
    def go(self, page: int) -> bool:
        page = max(0, min(self.page_count - 1, page))
        changed = page != self.page
        self.page = page
        if changed:
            self.pan_x = self.pan_y = 0.0
        return changed

    def next(self) -> bool:
        return self.go(self.page + 1)

    def previous(self) -> bool:
        return self.go(self.page - 1)

    # -- zoom --------------------------------------------------------------------------
    def rotated_size(self, w: int, h: int) -> tuple[int, int]:
        return (h, w) if self.rotation in (90, 270) else (w, h)

    def effective_scale(self, img_w: int, img_h: int, view_w: int, view_h: int) -> float:
        w, h = self.rotated_size(img_w, img_h)
        if self.mode == FIT_WIDTH:
            s = view_w / max(1, w)
        elif self.mode == FIT_PAGE:
            s = min(view_w / max(1, w), view_h / max(1, h))
        else:
            s = self.scale
        return max(ZOOM_MIN, min(ZOOM_MAX, s))

    def zoom_wheel(self, steps: float, current: float) -> None:
        """Wheel zoom from whatever scale is shown now (a fit mode becomes custom)."""
        self.mode = CUSTOM
        self.scale = max(ZOOM_MIN, min(ZOOM_MAX, current * WHEEL_STEP**steps))

    def actual_size(self) -> None:
        self.mode, self.scale = CUSTOM, 1.0

    def fit_width(self) -> None:
        self.mode = FIT_WIDTH
        self.pan_x = self.pan_y = 0.0

    def fit_page(self) -> None:
        self.mode = FIT_PAGE
        self.pan_x = self.pan_y = 0.0

    # -- rotate, pan ------------------------------------------------------------------
    def rotate(self, clockwise: bool = True) -> None:
        self.rotation = (self.rotation + (90 if clockwise else 270)) % 360

    def pan(self, dx: float, dy: float, shown_w: int, shown_h: int, view_w: int, view_h: int):
        self.pan_x = max(0.0, min(max(0, shown_w - view_w), self.pan_x - dx))
        self.pan_y = max(0.0, min(max(0, shown_h - view_h), self.pan_y - dy))

    # -- appearance -------------------------------------------------------------------
    def set_levels(self, brightness: int, contrast: int) -> None:
        self.brightness = max(-100, min(100, int(brightness)))
        self.contrast = max(-100, min(100, int(contrast)))

    def lut(self) -> list[int]:
        """256-entry table: contrast around mid-grey, then brightness (faded scans)."""
        c = (100 + self.contrast) / 100.0
        c = c * c  # gentle near 0, strong at the ends
        b = self.brightness * 2.55
        return [max(0, min(255, round((v - 128) * c + 128 + b))) for v in range(256)]

    def apply(self, image):  # PIL.Image -> PIL.Image, rotated and levelled
        from PIL import Image

        im = image
        if im.mode == "1":
            im = im.convert("L")
        if self.brightness or self.contrast:
            table = self.lut()
            im = im.point(table * (3 if im.mode == "RGB" else 1))
        if self.rotation:
            im = im.transpose(
                {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                 270: Image.Transpose.ROTATE_90}[self.rotation]
            )  # fmt: skip
        return im


def parse_page_range(text: str, page_count: int) -> list[int]:
    """ "1-3, 5" → [0, 1, 2, 4] (0-based). Raises ValueError with a Vietnamese message."""
    pages: list[int] = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        a, _, b = part.partition("-")
        try:
            lo = int(a)
            hi = int(b) if b.strip() else lo
        except ValueError:
            raise ValueError(f"Khoảng trang «{part}» không hợp lệ (ví dụ: 1-3, 5)") from None
        if not 1 <= lo <= hi <= page_count:
            raise ValueError(f"Khoảng trang «{part}» ngoài 1–{page_count}")
        pages.extend(i - 1 for i in range(lo, hi + 1) if i - 1 not in pages)
    if not pages:
        raise ValueError("Chưa chọn trang nào")
    return pages
