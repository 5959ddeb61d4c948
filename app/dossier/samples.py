"""Generated scans for tests and the benchmark: multi-page CCITT G4 TIFFs and PDFs whose
pages carry a known mark (a black box at a page-dependent place), so rendered pixels can be
checked, and a password-protected PDF (Qt-free)."""

from __future__ import annotations

import io
import os
from pathlib import Path

A4_MM = (210, 297)


def page_image(index: int, dpi: int = 100, text_lines: int = 30, speckle: float = 0.0):
    """A 1-bit A4 page: a frame, lines of "text" and a black box whose place depends on the
    page: box(index, dpi) gives it. ``speckle``: share of scanner dust (black dots), which
    makes G4 sizes realistic (a clean synthetic page compresses far better than a scan)."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi)
    im = Image.new("1", (w, h), 1)
    d = ImageDraw.Draw(im)
    d.rectangle((w // 20, h // 20, w - w // 20, h - h // 20), outline=0, width=max(1, dpi // 50))
    d.text((w // 10, h // 12), f"TRANG {index + 1}", fill=0)
    step = max(8, (h * 7 // 10) // max(1, text_lines))
    for k in range(text_lines):  # ragged "lines of text" like a typed page
        y = h // 6 + k * step
        length = (w * 7 // 10) * (60 + (k * 37 + index * 11) % 40) // 100
        d.line((w // 10, y, w // 10 + length, y), fill=0, width=max(1, dpi // 100))
    if speckle > 0:
        rng = np.random.default_rng(index)
        dust = rng.random((h, w)) < speckle
        im = Image.fromarray(np.where(dust, 0, np.asarray(im, dtype=np.uint8) * 255)
                             .astype(np.uint8)).convert("1")  # fmt: skip
        d = ImageDraw.Draw(im)
    d.rectangle(box(index, dpi), fill=0)
    return im


def box(index: int, dpi: int = 100) -> tuple[int, int, int, int]:
    """The black box of page ``index`` (pixels at ``dpi``): moves right with the page."""
    w = round(A4_MM[0] / 25.4 * dpi)
    h = round(A4_MM[1] / 25.4 * dpi)
    size = w // 10
    x = w // 10 + (index % 6) * (w // 8)
    y = h * 3 // 4
    return (x, y, x + size, y + size)


def tiff_g4(pages: int, dpi: int = 100, speckle: float = 0.0) -> bytes:
    """A multi-page bilevel TIFF, CCITT Group 4, one IFD per page (Pillow + libtiff)."""
    images = [page_image(i, dpi, speckle=speckle) for i in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, "TIFF", compression="group4", save_all=True,
                   append_images=images[1:], dpi=(dpi, dpi))  # fmt: skip
    return buf.getvalue()


def pdf(pages: int, dpi: int = 100) -> bytes:
    images = [page_image(i, dpi).convert("L") for i in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


def password_pdf() -> bytes:
    """A one-page PDF under the standard security handler whose user password is not empty:
    readers (pdfium) ask for a password. Written by hand: the /U entry does not match the
    empty password, which is all a reader needs to refuse it."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O <" + os.urandom(32).hex().encode()
        + b"> /U <" + os.urandom(32).hex().encode() + b"> >>",
    ]  # fmt: skip
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    file_id = os.urandom(16).hex().encode()
    out += (b"trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID [<" + file_id + b"> <"
            + file_id + b">] >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n")  # fmt: skip
    return bytes(out)


def write(path: str | os.PathLike[str], data: bytes) -> Path:
    p = Path(path)
    p.write_bytes(data)
    return p
