"""Scanned dossiers: export and print stream one page at a time (issue 6 polish) — a range
of 300 pages at 300 dpi must not sit in memory at once; cancelling an export leaves nothing,
cancelling a print stops after the page being painted and the audit says how many went out.
"""

from __future__ import annotations

import threading
import weakref

import psycopg
import pytest
from PIL import Image

from app.dossier import formats, output, samples
from app.dossier.store import DossierStore
from app.dossier.viewer_model import ViewerModel

pytest.importorskip("pytestqt")

PAGES = 8


def center(b: tuple[int, int, int, int]) -> tuple[int, int]:
    return (b[0] + b[2]) // 2, (b[1] + b[3]) // 2


class CountingModel(ViewerModel):
    """Counts the adjusted pages alive at once (weak references: a list of pages, as the
    old export built, keeps them all alive)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.alive: list[weakref.ref] = []
        self.peak = 0
        self.calls = 0

    def apply(self, image):
        out = super().apply(image)
        self.calls += 1
        self.alive = [r for r in self.alive if r() is not None] + [weakref.ref(out)]
        self.peak = max(self.peak, len(self.alive))
        return out


@pytest.fixture
def local_viewer(qtbot):
    from plugins.dossier.views import DossierViewer

    v = DossierViewer("vi", cache=None)
    qtbot.addWidget(v)
    v.quiet_errors = True
    v.resize(700, 600)
    v.show()
    v.show_bytes(samples.tiff_g4(PAGES, dpi=100), "hồ sơ.tif")
    qtbot.waitUntil(lambda: v.doc is not None, timeout=10000)
    yield v
    v.release()


def test_export_streams_pdf_and_tiff_with_rotation_and_levels(local_viewer, tmp_path):
    v = local_viewer
    pages = [1, 2, 3, 4, 5, 6]  # 0-based: pages 2–7
    # Rotated clockwise and darkened: white becomes 255 - 40 * 2.55 = 153, black stays 0.
    model = CountingModel(page_count=PAGES, rotation=90, brightness=-40)
    done: list[int] = []
    pdf = v.export_pages(pages, tmp_path / "xuất.pdf", model=model, progress=done.append)
    assert done == [1, 2, 3, 4, 5, 6, 7]
    assert model.calls == len(pages)
    assert model.peak <= 2, f"{model.peak} pages alive at once: the export is not streaming"

    w0, h0 = round(210 / 25.4 * 100), round(297 / 25.4 * 100)  # the upright page, 100 dpi
    with formats.open_document(pdf.read_bytes()) as doc:
        assert doc.page_count == len(pages)
        page = doc.page(2).convert("L")  # = page 4 of the file (index 3)
    assert page.size == (h0, w0)  # landscape: rotated; 150 dpi render of a 150 dpi page
    x, y = center(samples.box(3))
    assert page.getpixel((h0 - 1 - y, x)) < 40  # the box, where clockwise rotation puts it
    wx, wy = w0 // 2, h0 // 2 + 40  # white paper between the lines → darkened to ~153
    assert abs(page.getpixel((h0 - 1 - wy, wx)) - 153) <= 12
    x2, y2 = center(samples.box(2))  # page 3's box is not on page 4
    assert page.getpixel((h0 - 1 - y2, x2)) > 120

    model = CountingModel(page_count=PAGES, rotation=270)
    tif = v.export_pages(pages, tmp_path / "xuất.tif", model=model)
    assert model.peak <= 2
    with Image.open(tif) as im:
        assert im.n_frames == len(pages)
        for k in range(len(pages)):
            im.seek(k)
            assert im.mode == "1" and im.info["compression"] == "group4"
            assert im.size == (h0, w0)
        im.seek(4)  # = page 6 (index 5); anticlockwise: (x, y) → (y, w0 - 1 - x)
        frame = im.convert("L")
    x, y = center(samples.box(5))
    assert frame.getpixel((y, w0 - 1 - x)) == 0
    x2, y2 = center(samples.box(3))
    assert frame.getpixel((y2, w0 - 1 - x2)) == 255
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xuất.pdf", "xuất.tif"]


def test_writer_stops_between_pages_and_refuses_out_of_order(tmp_path):
    made: list[int] = []

    def pages():
        for i in range(5):
            made.append(i)
            yield samples.page_image(i, dpi=50)

    with pytest.raises(output.Cancelled):
        output.write_pages(tmp_path / "a.pdf", 5, pages(), cancelled=lambda: len(made) >= 2)
    assert made == [0, 1]  # asked before each page: page 3 was never decoded
    made.clear()
    with pytest.raises(output.Cancelled):
        output.write_pages(tmp_path / "a.tif", 5, pages(), cancelled=lambda: len(made) >= 3)
    assert made == [0, 1, 2]


# -- stored document: cancel through the real progress dialog -------------------------------


def owner_rows(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def outputs(dsn: str, doc: int) -> list[tuple]:
    return owner_rows(
        dsn,
        "SELECT action, detail - 'sha256' - 'version' - 'classification' FROM audit.log "
        "WHERE target = %s AND action IN ('EXPORT', 'PRINT') ORDER BY id",
        (f"doc.document:{doc}",),
    )


@pytest.fixture
def stored_viewer(qtbot, demo_db, person_factory, tmp_path):
    """An 8-page 300 dpi G4 TIFF stored for a parcel of the editor's commune, open in a
    viewer whose decoder can be held at one page (``hold(k)``) until the person cancels."""
    from plugins.dossier.views import DossierViewer

    commune, parcel = owner_rows(
        demo_db,
        "SELECT commune_id, id FROM cad.parcel WHERE retired_at IS NULL ORDER BY id LIMIT 1",
    )[0]
    editor = person_factory(demo_db, rights={"dossier": ["viewer", "editor"]}, communes=[commune])
    path = samples.write(tmp_path / "scan.tif", samples.tiff_g4(PAGES, dpi=300))
    with DossierStore.connect(editor.dsn) as st:
        doc_id = st.create_document(
            st.upload(path).sha256, {"doc_type": "ban_ve"}, [{"parcel_id": parcel}]
        )
    v = DossierViewer("vi", cache=None)
    qtbot.addWidget(v)
    v.quiet_errors = True
    v.resize(800, 600)
    v.show()
    v.dsn = editor.dsn
    v.open_document(editor.dsn, doc_id)
    qtbot.waitUntil(lambda: v.doc is not None, timeout=15000)
    qtbot.waitUntil(lambda: v._shown_generation == v._generation, timeout=5000)
    yield v, doc_id, demo_db
    v.release()


def cancel_at(qtbot, v, k: int, decoded: list[int]) -> None:
    """When the dialog shows k steps done, press its «Hủy» button; the worker decoding the
    (k+1)-th page waits for that click, so the cancel lands exactly after page k."""
    from PySide6.QtWidgets import QPushButton

    clicked = threading.Event()
    waiting = threading.Event()  # the worker is inside the (k+1)-th page's decode
    doc = v.doc
    real_page = doc.page
    order: list[int] = []

    def page(index: int, scale: float = 1.0):
        if scale == 1.0:  # the output's full-size pages (the render thread asks smaller)
            order.append(index)
            if len(order) == k + 1:
                waiting.set()
                assert clicked.wait(20), "the cancel button was never pressed"
            decoded.append(index)
        return real_page(index, scale)

    doc.page = page  # the snapshot taken at start is this same document

    def on_progress(done: int, _total: int) -> None:
        dlg = v.output_progress
        if done == k and dlg is not None and not clicked.is_set():
            # Click only once the worker is past its between-pages cancel check: otherwise
            # the click may win the race and the (k+1)-th page is never decoded at all.
            assert waiting.wait(20), "the worker never reached the next page"
            button = dlg.findChild(QPushButton)
            assert button is not None and button.text() == "Hủy"
            button.click()  # what the person does: QProgressDialog.canceled → stop.set
            clicked.set()

    v._sig.output_progress.connect(on_progress)


def test_cancelled_export_leaves_no_file_and_no_event(qtbot, stored_viewer, tmp_path):
    v, doc_id, owner = stored_viewer
    out_dir = tmp_path / "ra"
    out_dir.mkdir()
    decoded: list[int] = []
    cancel_at(qtbot, v, 3, decoded)
    with qtbot.waitSignal(v.output_finished, timeout=30000) as sig:
        assert v.start_export(list(range(PAGES)), out_dir / "hủy.pdf") is True
    assert sig.args == [False]
    assert decoded == [0, 1, 2, 3]  # page 5 was never decoded
    assert list(out_dir.iterdir()) == []  # no file, no .part
    assert outputs(owner, doc_id) == []
    assert v.status.text() == "Đã hủy: không có tệp nào được ghi, không gửi gì tới máy in."
    assert v.output_progress is None

    # The same range, not cancelled: written, and the event stored.
    v.doc.page = type(v.doc).page.__get__(v.doc)
    with qtbot.waitSignal(v.output_finished, timeout=30000) as sig:
        assert v.start_export([0, 7], out_dir / "đủ.tif") is True
    assert sig.args == [True]
    assert [p.name for p in out_dir.iterdir()] == ["đủ.tif"]
    assert outputs(owner, doc_id) == [("EXPORT", {"pages": [1, 8], "file": "đủ.tif"})]


def test_cancelled_print_sends_the_pages_painted_and_says_so(qtbot, stored_viewer, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    v, doc_id, owner = stored_viewer
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    target = tmp_path / "máy in.pdf"
    printer.setOutputFileName(str(target))
    decoded: list[int] = []
    cancel_at(qtbot, v, 2, decoded)
    pages = [1, 2, 3, 4, 5, 6]
    with qtbot.waitSignal(v.output_finished, timeout=30000) as sig:
        assert v.start_print(printer, pages) is True
    assert sig.args == [False]
    assert v.status.text() == "Đã hủy: đã gửi 2/6 trang tới máy in."
    assert decoded == [1, 2, 3]  # page 4 decoded while the click came, never painted
    with formats.open_document(target.read_bytes()) as printed:
        assert printed.page_count == 2
        first = printed.page(0).convert("L")
    # Page 2 of the file, scaled into the printable area: its box is black there.
    sx = first.width / round(210 / 25.4 * 300)
    x, y = center(samples.box(1, 300))
    assert first.getpixel((round(x * sx), round(y * sx))) < 60
    requested = [2, 3, 4, 5, 6, 7]
    assert outputs(owner, doc_id) == [
        ("PRINT", {"pages": requested}),  # before anything went to the printer
        ("PRINT", {"cancelled": True, "sent": [2, 3], "requested": requested}),
    ]
