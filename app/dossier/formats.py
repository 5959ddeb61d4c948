"""Scanned files: detection by magic bytes, checks before upload, page decoding (Qt-free).

TIFF (multi-page, CCITT G4 through Pillow's libtiff), PDF (pypdfium2), PNG and JPEG.
Every refusal is a :class:`DossierFileError` with a Vietnamese message that names the file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserFacingError

TIFF, PDF, PNG, JPEG = "image/tiff", "application/pdf", "image/png", "image/jpeg"
MEDIA_TYPES = (TIFF, PDF, PNG, JPEG)
LABELS = {TIFF: "ảnh TIFF", PDF: "PDF", PNG: "ảnh PNG", JPEG: "ảnh JPEG"}
EXTENSIONS = {".tif": TIFF, ".tiff": TIFF, ".pdf": PDF, ".png": PNG, ".jpg": JPEG, ".jpeg": JPEG}

#: Long side of the stored renditions, pixels (docs/dossiers.md: page 1 in one small read).
THUMB_PX = 160
SCREEN_PX = 1100


class DossierFileError(UserFacingError):
    """A file that cannot be stored or shown; the message is for the person."""


def detect(head: bytes) -> str | None:
    """Media type from the first bytes, or None."""
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:5] == b"%PDF-":
        return PDF
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    return None


def megabytes(n: int, decimals: int = 1) -> str:
    """Vietnamese number format: 2.048,5 (thousands dot, decimal comma)."""
    text = f"{n / 2**20:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def _grouped(x: float, decimals: int, lang: str) -> str:
    text = f"{x:,.{decimals}f}"
    if lang == "vi":  # 1.234,5
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def size_text(n: int, lang: str = "vi") -> str:
    """A file size for people: '512 byte', '95,3 KB', '1.234,5 KB', '4,6 MB' (Vietnamese
    number format; English '1,234.5 KB'). KB up to 10 MB, so typical scans compare."""
    if n < 1024:
        return f"{n} byte" if lang == "vi" else f"{n} bytes"
    if n < 10 << 20:
        return f"{_grouped(n / 1024, 1, lang)} KB"
    return f"{_grouped(n / 2**20, 1, lang)} MB"


@dataclass(frozen=True)
class FileInfo:
    path: Path
    media_type: str
    byte_size: int
    page_count: int


def check_file(path: str | os.PathLike[str], max_bytes: int) -> FileInfo:
    """Refuse what must not be uploaded; the size is checked before a byte is read."""
    p = Path(path)
    name = p.name
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise DossierFileError(f"Không đọc được tệp «{name}»: {exc.strerror or exc}") from None
    if size == 0:
        raise DossierFileError(f"Tệp «{name}» rỗng (0 byte): không có gì để lưu")
    if size > max_bytes:
        raise DossierFileError(
            f"Tệp «{name}» quá lớn: {megabytes(size)} MB, tối đa {megabytes(max_bytes, 0)} MB"
        )
    with p.open("rb") as fh:
        head = fh.read(16)
    media = detect(head)
    claimed = EXTENSIONS.get(p.suffix.lower())
    if media is None:
        raise DossierFileError(
            f"Tệp «{name}» không phải ảnh quét hay PDF đọc được (chỉ nhận TIFF, PDF, PNG, JPEG)"
        )
    if claimed is None:
        raise DossierFileError(
            f"Tệp «{name}» có đuôi «{p.suffix or '(không có)'}» không được nhận; "
            f"nội dung là {LABELS[media]}: đổi tên tệp cho đúng rồi thử lại"
        )
    if claimed != media:
        raise DossierFileError(
            f"Tệp «{name}» có đuôi «{p.suffix}» nhưng nội dung là {LABELS[media]}: "
            "đổi tên tệp cho đúng rồi thử lại"
        )
    doc = open_document(p.read_bytes(), media, name)
    try:
        doc.verify()
        return FileInfo(p, media, size, doc.page_count)
    finally:
        doc.close()


class Document:
    """A decoded file: ``page_count`` and ``page(i)`` (0-based) as a Pillow image."""

    page_count: int

    def page(self, index: int, scale: float = 1.0):  # -> PIL.Image.Image
        raise NotImplementedError

    def verify(self) -> None:
        """Decode every page (a truncated or corrupt file fails here, not in the viewer)."""
        for i in range(self.page_count):
            self.page(i, 0.1 if isinstance(self, PdfDocument) else 1.0)

    def close(self) -> None:
        pass

    # Closed deterministically (``with open_document(...) as doc``): pdfium documents left
    # to the garbage collector print "still open" at interpreter exit.
    def __enter__(self) -> Document:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class ImageDocument(Document):
    """TIFF (any number of pages), PNG, JPEG through Pillow."""

    def __init__(self, data: bytes, name: str, page_count: int | None = None) -> None:
        from PIL import Image

        self.name = name
        try:
            self._im = Image.open(io.BytesIO(data))
            # n_frames walks every IFD of a TIFF (15 ms for 50 pages): the store knows.
            self.page_count = page_count or int(getattr(self._im, "n_frames", 1))
        except Exception as exc:
            raise DossierFileError(f"Tệp «{name}» bị hỏng, không đọc được ảnh ({exc})") from None

    def page(self, index: int, scale: float = 1.0):
        if not 0 <= index < self.page_count:
            raise IndexError(index)
        try:
            self._im.seek(index)
            im = self._im.copy()
            im.load()
        except Exception as exc:
            raise DossierFileError(
                f"Tệp «{self.name}» bị hỏng hoặc thiếu dữ liệu ở trang {index + 1} ({exc})"
            ) from None
        if im.mode not in ("1", "L", "RGB"):
            im = im.convert("RGB")
        if scale != 1.0:
            w, h = max(1, round(im.width * scale)), max(1, round(im.height * scale))
            im = im.convert("L" if im.mode == "1" else im.mode).resize((w, h), reducing_gap=2.0)
        return im

    def close(self) -> None:
        self._im.close()


class PdfDocument(Document):
    """PDF through pdfium; a page at scale 1 is rendered at 150 dpi."""

    DPI = 150

    def __init__(self, data: bytes, name: str) -> None:
        import pypdfium2 as pdfium

        self.name = name
        self._data = data  # pdfium reads from this buffer for the document's lifetime
        try:
            self._pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            text = str(exc).lower()
            if "password" in text:
                raise DossierFileError(
                    f"Tệp «{name}» là PDF có mật khẩu: hãy gỡ mật khẩu rồi tải lên lại"
                ) from None
            raise DossierFileError(
                f"Tệp «{name}» là PDF bị hỏng hoặc không đầy đủ, không mở được"
            ) from None
        self.page_count = len(self._pdf)
        if self.page_count == 0:
            self._pdf.close()
            raise DossierFileError(f"Tệp «{name}» là PDF không có trang nào")

    def page(self, index: int, scale: float = 1.0):
        if not 0 <= index < self.page_count:
            raise IndexError(index)
        try:
            page = self._pdf[index]
            try:
                bitmap = page.render(scale=scale * self.DPI / 72, grayscale=False)
                try:
                    return bitmap.to_pil().convert("RGB")  # a copy: the bitmap may go
                finally:
                    bitmap.close()
            finally:
                page.close()
        except Exception as exc:
            raise DossierFileError(
                f"Tệp «{self.name}» bị hỏng ở trang {index + 1}, không vẽ được ({exc})"
            ) from None

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None  # type: ignore[assignment]


def open_document(
    data: bytes, media_type: str | None = None, name: str = "", page_count: int | None = None
) -> Document:
    """``page_count``: known from the store (verified at upload), saves walking the file."""
    media = detect(data[:16])
    if media is None or (media_type and media != media_type):
        raise DossierFileError(f"Tệp «{name}» không đúng định dạng đã khai hoặc bị hỏng")
    return PdfDocument(data, name) if media == PDF else ImageDocument(data, name, page_count)


def first_page_from_prefix(prefix: bytes, media_type: str):
    """Page 1 of a TIFF/PNG/JPEG from the bytes that have arrived so far, or None when more
    are needed (a TIFF's first IFD and strips usually sit in its first chunk)."""
    if media_type == PDF:
        return None
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(prefix))
        im.seek(0)
        page = im.copy()
        page.load()
        return page
    except Exception:
        return None


def renditions(doc: Document, screen: bool = True) -> Iterator[tuple[int, str, int, int, bytes]]:
    """(page 1-based, kind, width, height, PNG bytes): a thumbnail of every page, and with
    ``screen`` a screen-size rendition, stored with the file so a viewer over the WAN shows
    the thumbnail strip — and a PDF's page 1, which pdfium cannot draw before the whole file
    is in — after one small read. A TIFF's page 1 decodes from its first chunk, so TIFFs
    need no screen renditions (they would weigh more than the G4 file itself)."""
    kinds = (("screen", SCREEN_PX), ("thumb", THUMB_PX)) if screen else (("thumb", THUMB_PX),)
    for i in range(doc.page_count):
        im = doc.page(i)
        im = im.convert("L") if im.mode in ("1", "L") else im.convert("RGB")
        for kind, px in kinds:
            r = im.copy() if kind == "screen" or len(kinds) == 1 else im
            r.thumbnail((px, px), reducing_gap=2.0)
            buf = io.BytesIO()
            r.save(buf, "PNG", compress_level=6)
            yield i + 1, kind, r.width, r.height, buf.getvalue()
