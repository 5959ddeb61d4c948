"""The dossier viewer (pytest-qt): pages, zoom, rotate, levels, print, export; opening from
the store with the first page early and a cached reopen; the import naming and the Qt-free
viewer model."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from conftest import DossierCtx

from app.dossier import samples
from app.dossier.formats import open_document
from app.dossier.naming import PatternError, compile_pattern, parse_name, plan_import
from app.dossier.store import DocumentCache, DossierStore
from app.dossier.viewer_model import FIT_PAGE, ViewerModel, parse_page_range

pytest.importorskip("pytestqt")


def center(b):
    return (b[0] + b[2]) // 2, (b[1] + b[3]) // 2


@pytest.fixture
def viewer(qtbot):
    from plugins.dossier.views import DossierViewer

    v = DossierViewer("vi", cache=None)
    qtbot.addWidget(v)
    v.resize(700, 600)
    v.show()
    yield v
    v.release()  # closes the decoded file (pdfium's "still open" line at exit otherwise)


def shown(qtbot, viewer):
    """Wait until the render thread has delivered the latest request (a resize may add one
    while we wait: the one shown must be the newest)."""
    qtbot.waitUntil(lambda: viewer._shown_generation == viewer._generation, timeout=5000)
    return viewer.view.image


def test_viewer_pages_zoom_rotate_levels(qtbot, viewer, tmp_path):
    from plugins.dossier.views import qimage_to_pil

    data = samples.tiff_g4(4)
    viewer.show_bytes(data, "thử nghiệm.tif")
    shown(qtbot, viewer)
    # Fit page: the render thread reduced the page to the view's height.
    viewer.fit_page()
    img = shown(qtbot, viewer)
    assert img.height() == viewer.view.height() < 1169
    assert viewer.view.image_scale == pytest.approx(img.height() / 1169, abs=0.002)
    viewer.actual_size()
    img = shown(qtbot, viewer)
    assert (img.width(), img.height()) == (827, 1169)
    assert viewer.page_total.text() == "/ 4"
    qtbot.waitUntil(lambda: viewer.thumbs.count() == 4, timeout=5000)

    # next page twice → page 3: its box is black in the rendered image, page 1's spot white
    viewer.next_page()
    viewer.next_page()
    img = shown(qtbot, viewer)
    assert viewer.model.page == 2 and viewer.page_spin.value() == 3
    page = qimage_to_pil(img)
    assert page.getpixel(center(samples.box(2))) == 0
    assert page.getpixel(center(samples.box(0))) == 255

    # zoom: fit width fills the view's width; fit page fits the height; 1:1; the wheel
    viewer.fit_width()
    assert viewer.view.shown_size()[0] == viewer.view.width()
    viewer.fit_page()
    w, h = viewer.view.shown_size()
    assert h == viewer.view.height() and w < viewer.view.width()
    viewer.actual_size()
    assert viewer.view.shown_size() == (827, 1169)
    before = viewer.view.scale()
    viewer.model.zoom_wheel(2, before)
    assert viewer.view.scale() == pytest.approx(before * 1.5625)

    # rotate: the image turns on its side, and the box moves with it
    viewer.rotate(True)
    img = shown(qtbot, viewer)
    assert (img.width(), img.height()) == (1169, 827)
    x, y = center(samples.box(2))
    assert qimage_to_pil(img).getpixel((1169 - 1 - y, x)) == 0
    viewer.rotate(False)
    img = shown(qtbot, viewer)
    assert (img.width(), img.height()) == (827, 1169)

    # brightness lifts the black box to grey
    viewer.brightness.setValue(60)
    img = shown(qtbot, viewer)
    assert qimage_to_pil(img).getpixel(center(samples.box(2))) == round(60 * 2.55)

    # pan: at 1:1 the page is larger than the view; dragging moves the view, within bounds
    viewer.actual_size()
    sw, sh = viewer.view.shown_size()
    viewer.model.pan(-100, -5000, sw, sh, viewer.view.width(), viewer.view.height())
    assert viewer.model.pan_y == sh - viewer.view.height() and viewer.model.pan_x >= 0


def test_print_and_export_page_range(qtbot, viewer, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    viewer.show_bytes(samples.tiff_g4(5), "in.tif")
    shown(qtbot, viewer)
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "in ấn.pdf"
    printer.setOutputFileName(str(out))
    assert viewer.print_pages(printer, parse_page_range("2-3", 5)) == 2
    with open_document(out.read_bytes()) as printed:
        assert printed.page_count == 2

    pdf = viewer.export_pages(parse_page_range("1, 3-4", 5), tmp_path / "xuất.pdf")
    with open_document(pdf.read_bytes()) as doc:
        assert doc.page_count == 3
        page = doc.page(1).convert("L")  # = page 3 (exported at 150 dpi, read at 150)
    assert page.size == (827, 1169)
    assert page.getpixel(center(samples.box(2))) < 60
    assert page.getpixel(center(samples.box(0))) > 200
    tif = viewer.export_pages([4], tmp_path / "p5.tif")
    with open_document(tif.read_bytes()) as doc:
        assert doc.page(0).getpixel(center(samples.box(4))) == 0


def test_pdf_in_viewer(qtbot, viewer):
    from plugins.dossier.views import qimage_to_pil

    viewer.show_bytes(samples.pdf(3), "a.pdf")
    viewer.actual_size()
    img = shown(qtbot, viewer)
    assert (img.width(), img.height()) == (1241, 1754)  # 150 dpi
    viewer.go_to(1)
    img = shown(qtbot, viewer)
    cx, cy = center(samples.box(1))
    assert qimage_to_pil(img).getpixel((round(cx * 1.5), round(cy * 1.5))) < 60


@pytest.mark.store
def test_open_from_store_then_cached(qtbot, demo_db, person_factory, tmp_path):
    from plugins.dossier.views import DossierViewer

    with psycopg.connect(demo_db, autocommit=True) as conn:
        commune, parcel = conn.execute(
            "SELECT commune_id, id FROM cad.parcel WHERE retired_at IS NULL ORDER BY id LIMIT 1"
        ).fetchone()
    editor = person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[commune])
    data = samples.tiff_g4(3)
    path = samples.write(tmp_path / "từ kho.tif", data)
    with DossierStore.connect(editor.dsn) as st:
        doc_id = st.create_document(st.upload(path).sha256, {"doc_type": "ban_ve"},
                                    [{"parcel_id": parcel}])  # fmt: skip
    v = DossierViewer("vi", cache=DocumentCache(tmp_path / "cache"))
    qtbot.addWidget(v)
    v.show()
    v.open_document(editor.dsn, doc_id)
    qtbot.waitUntil(lambda: v.doc is not None, timeout=10000)
    shown(qtbot, v)
    assert v.doc.page_count == 3 and not v.from_cache
    assert "first_page" in v.timings and v.timings["first_page"] <= v.timings["rendered"]
    qtbot.waitUntil(lambda: v.thumbs.count() == 3, timeout=5000)
    t0 = time.perf_counter()
    v.open_document(editor.dsn, doc_id)
    qtbot.waitUntil(lambda: v.doc is not None and v.from_cache, timeout=5000)
    shown(qtbot, v)
    assert time.perf_counter() - t0 < 2.0
    assert "(bản lưu trên máy)" in v.status.text()
    v.release()

    # The parcel panel's entry point: a window from a DSN and a document id.
    from plugins.dossier.views import DossierViewer as Viewer
    from plugins.dossier.views import show_document

    dlg = show_document(editor.dsn, doc_id)
    qtbot.addWidget(dlg)
    inner = dlg.findChild(Viewer)
    qtbot.waitUntil(lambda: inner.doc is not None, timeout=10000)
    assert inner.doc.page_count == 3
    dlg.close()


# --- Qt-free parts --------------------------------------------------------------------------
def test_viewer_model():
    m = ViewerModel(page_count=3)
    assert m.effective_scale(1000, 2000, 500, 500) == 0.5  # fit width
    m.mode = FIT_PAGE
    assert m.effective_scale(1000, 2000, 500, 500) == 0.25
    m.rotate()
    assert m.rotated_size(1000, 2000) == (2000, 1000)
    assert m.effective_scale(1000, 2000, 500, 500) == 0.25
    assert not m.previous() and m.next() and m.next() and not m.next() and m.page == 2
    m.set_levels(0, 100)
    lut = m.lut()
    assert lut[0] == 0 and lut[255] == 255 and lut[100] < 100 < 156 < lut[156]
    m.set_levels(-300, 0)
    assert m.brightness == -100 and m.lut()[255] == 0
    assert parse_page_range("1-2, 4", 5) == [0, 1, 3]
    for bad in ("0-2", "3-9", "a", ""):
        with pytest.raises(ValueError):
            parse_page_range(bad, 5)


def test_import_naming_plan(tmp_path):
    rx = compile_pattern("<commune>_<sheet>_<parcel>_<type>")
    names = {
        "25402_12_145_GCN.pdf": b"a",
        "25402_12_146_HĐ.tif": b"b",  # Vietnamese type code folds to HD
        "25402_12_999_GCN.pdf": b"c",  # no such parcel
        "25402_3_7_GCN.pdf": b"d",  # two parcels numbered 7 on sheet 3
        "ảnh chụp.pdf": b"e",  # not the convention
        "25402_12_145_QD.pdf": b"a",  # same bytes as the first
    }
    for n, content in names.items():
        (tmp_path / n).write_bytes(content)
    parsed = parse_name(Path("25402_12_146_HĐ.tif"), rx)
    assert (parsed.commune, parsed.sheet, parsed.parcel, parsed.doc_type) == (
        "25402", 12, 146, "hop_dong")  # fmt: skip
    parcels = {("25402", 12, 145): [1], ("25402", 12, 146): [2], ("25402", 3, 7): [3, 4]}
    import hashlib

    plan = plan_import(
        tmp_path.iterdir(), "<commune>_<sheet>_<parcel>_<type>",
        lambda c, s, p: parcels.get((c, s, p), []),
        lambda p: hashlib.sha256(p.read_bytes()).hexdigest(),
    )  # fmt: skip
    assert sorted((p.path.name, i) for p, i in plan.matched) == [
        ("25402_12_145_GCN.pdf", 1), ("25402_12_146_HĐ.tif", 2)]  # fmt: skip
    assert [p.name for p in plan.bad_name] == ["ảnh chụp.pdf"]
    assert [p.path.name for p in plan.no_parcel] == ["25402_12_999_GCN.pdf"]
    assert [p.path.name for p in plan.ambiguous] == ["25402_3_7_GCN.pdf"]
    assert [(a.name, b.name) for a, b in plan.duplicates] == [
        ("25402_12_145_QD.pdf", "25402_12_145_GCN.pdf")]  # fmt: skip
    # Another office's convention: sheet first, dash separators.
    rx2 = compile_pattern("<sheet>-<parcel>-<commune>")
    assert parse_name(Path("12-145-25402.pdf"), rx2).doc_type == "khac"
    with pytest.raises(PatternError):
        compile_pattern("<sheet>_<parcel>")


@pytest.mark.store
def test_attach_dialog_and_documents_window(qtbot, demo_db, person_factory, tmp_path):
    from plugins.dossier.views import AttachDialog, DocumentsWindow

    with psycopg.connect(demo_db, autocommit=True) as conn:
        commune, parcel = conn.execute(
            "SELECT commune_id, id FROM cad.parcel WHERE retired_at IS NULL "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    editor = person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[commune])
    ctx = DossierCtx(editor.dsn)
    d = AttachDialog(ctx, {"parcel_id": parcel})
    qtbot.addWidget(d)
    files = [samples.write(tmp_path / "Hợp đồng chuyển nhượng.pdf", samples.pdf(2)),
             samples.write(tmp_path / "bản vẽ.tif", samples.tiff_g4(1))]  # fmt: skip
    d.set_files([str(f) for f in files])
    d.doc_type.setCurrentIndex(d.doc_type.findData("hop_dong"))
    d.number.setText("123/HĐCN")
    d.issuer.setText("Văn phòng công chứng số 1")
    d.start()
    qtbot.waitUntil(lambda: len(d.result_ids) == 2, timeout=15000)
    assert "Đã lưu 2 tệp" in d.status.text()
    with psycopg.connect(demo_db, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.doc_type, d.number, d.issuer, d.page_count, d.original_name "
            "FROM doc.document d WHERE d.id = ANY(%s) ORDER BY d.id",
            (d.result_ids,),
        ).fetchall()
    assert rows == [
        ("hop_dong", "123/HĐCN", "Văn phòng công chứng số 1", 2, "Hợp đồng chuyển nhượng.pdf"),
        ("hop_dong", "123/HĐCN", "Văn phòng công chứng số 1", 1, "bản vẽ.tif"),
    ]
    # The same dialog attaches to a change set by id.
    with psycopg.connect(demo_db, autocommit=True) as conn:
        mutation = conn.execute(
            "WITH m AS (INSERT INTO cad.mutation (kind, reason) VALUES ('chuyen_quyen', 'thử') "
            "RETURNING id), mp AS (INSERT INTO cad.mutation_parcel SELECT id, %s FROM m) "
            "SELECT id FROM m",
            (parcel,),
        ).fetchone()[0]
    d2 = AttachDialog(ctx, {"parcel_id": parcel})
    qtbot.addWidget(d2)
    d2.target_kind.setCurrentIndex(d2.target_kind.findData("mutation_id"))
    d2.target_id.setValue(mutation)
    d2.set_files([str(samples.write(tmp_path / "quyết định.tif", samples.tiff_g4(2)))])
    d2.start()
    qtbot.waitUntil(lambda: len(d2.result_ids) == 1, timeout=15000)
    with psycopg.connect(demo_db, autocommit=True) as conn:
        assert conn.execute(
            "SELECT mutation_id, parcel_id FROM doc.document_link WHERE document_id = %s",
            (d2.result_ids[0],),
        ).fetchall() == [(mutation, None)]
    w = DocumentsWindow(ctx, parcel_id=parcel)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.list.count() >= 2, timeout=10000)
    qtbot.waitUntil(lambda: w.viewer.doc is not None, timeout=10000)
    assert w.list.item(0).text().startswith("Hợp đồng 123/HĐCN")
    w.reject()  # closing the window closes the decoded file and the connection
    assert w.viewer.doc is None
    ctx.runner.shutdown()
