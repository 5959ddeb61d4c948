"""Streaming writers for exports of a page range (Qt-free): PDF and multi-page G4 TIFF
written one page at a time, so peak memory is about one decoded page whatever the range
(a 300-page 300 dpi dossier is ~2.5 GB of decoded pages: a crash on an 8 GB office PC).

Why Pillow for both: it is already the page decoder, and its writers emit each page as
they meet it. The TIFF writer's ``AppendingTiffWriter`` (what ``save_all`` uses itself)
takes one frame per ``newFrame()``. The PDF writer needs the page count up front (it
allocates the page objects first) but then walks a multi-frame image with ``seek``; we
give it a forward-only multi-frame image that decodes page k when asked for frame k.
``append=True`` would re-parse the growing file for every page, pypdfium2's builder and
QPdfWriter keep or re-encode bitmaps (and the latter needs Qt in the core).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: PDF page size: renders are placed at 150 dpi (the PDF decoder's own scale 1).
PDF_DPI = 150


class Cancelled(Exception):
    """``cancelled()`` said yes between two pages."""


class _LazyFrames:
    """Factory for a forward-only multi-frame Pillow image over an iterator of pages."""

    @staticmethod
    def make(frames: Iterator[Any], count: int):
        from PIL import Image

        class LazyFrames(Image.Image):
            def __init__(self) -> None:
                super().__init__()
                self.n_frames = count
                self.is_animated = count > 1
                self._frames = frames
                self._index = -1
                self._page = None
                self._next()

            def _next(self) -> None:
                page = next(self._frames)
                self._page = page  # the only page held: the previous one goes now
                self.im = page.im
                self._mode = page.mode
                self._size = page.size
                self.info = {}
                self._index += 1

            def seek(self, frame: int) -> None:
                if frame >= count:
                    raise EOFError
                if frame == self._index:
                    return
                if frame != self._index + 1:
                    raise ValueError("pages are written in order")
                self._next()

            def tell(self) -> int:
                return self._index

        return LazyFrames()


def _pdf_ready(im):
    # Bilevel pages as 8-bit grey, as exports always were; grey and colour stay as they are.
    return im.convert("L") if im.mode == "1" else im


def is_tiff_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".tif", ".tiff")


def write_pages(
    path: str | Path,
    count: int,
    pages: Iterator[Any],
    cancelled: Callable[[], bool] | None = None,
    tiff: bool | None = None,
) -> None:
    """Write ``count`` Pillow images taken one at a time from ``pages`` to ``path``: a
    multi-page CCITT G4 TIFF when ``tiff`` (by default: the name ends .tif/.tiff), else a
    PDF at PDF_DPI.
    ``cancelled`` is asked before each page; :class:`Cancelled` then leaves a partial file
    for the caller to delete (it writes to a temporary name anyway)."""
    path = Path(path)

    def checked() -> Iterator[Any]:
        for n, im in enumerate(pages):
            if n >= count:
                break
            if cancelled is not None and cancelled():
                raise Cancelled
            yield im

    frames = checked()
    if tiff is None:
        tiff = is_tiff_name(path)
    if tiff:
        from PIL import TiffImagePlugin

        with open(path, "w+b") as fp, TiffImagePlugin.AppendingTiffWriter(fp) as tf:
            for im in frames:
                bilevel = im.convert("1")
                del im  # the grey page goes before the next one is decoded
                bilevel.save(tf, "TIFF", compression="group4")
                del bilevel
                tf.newFrame()
        return
    lazy = _LazyFrames.make((_pdf_ready(im) for im in frames), count)
    lazy.save(path, "PDF", save_all=True, resolution=PDF_DPI)
