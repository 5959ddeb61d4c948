"""Scanned dossiers, polish (issue 6): the supersede UI and version chain, the folder
import's parcel lookup by the dossier editor right and area (api.dossier_find_parcels),
and prints/exports audited as part of the operation (api.dossier_record_output)."""

from __future__ import annotations

import json

import psycopg
import pytest
from conftest import DossierCtx

from app.dossier import samples
from app.dossier.formats import DossierFileError
from app.dossier.store import DossierStore
from app.dossier.versions import chain_text, version_chain, vn_date

pytestmark = pytest.mark.store


def owner_rows(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def place(demo_db) -> dict:
    """A commune with parcels of unique numbers on their sheet, and another commune."""
    rows = owner_rows(
        demo_db,
        "SELECT p.commune_id, p.id, u.code, s.sheet_number, p.parcel_number FROM cad.parcel p "
        "JOIN cad.map_sheet s ON s.id = p.sheet_id JOIN ref.admin_unit u ON u.id = s.commune_id "
        "WHERE p.retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM cad.parcel q WHERE "
        "q.sheet_id = p.sheet_id AND q.parcel_number = p.parcel_number AND q.id <> p.id) "
        "ORDER BY p.commune_id, p.id",
    )
    ours = rows[0][0]
    mine = [r for r in rows if r[0] == ours][:4]
    other = next(r for r in rows if r[0] != ours)
    return {"commune": ours, "mine": mine, "other": other}


# --- versions ---------------------------------------------------------------------------
def test_version_chain_and_text():
    docs = [
        {"id": 15, "version": 2, "superseded_by": 21, "issued_on": "2025-01-02"},
        {"id": 21, "version": 3, "superseded_by": None, "issued_on": "2026-11-25"},
        {"id": 12, "version": 1, "superseded_by": 15, "issued_on": "2024-03-05"},
        {"id": 30, "version": 1, "superseded_by": None, "issued_on": None},
    ]
    assert [d["id"] for d in version_chain(docs, 15)] == [12, 15, 21]
    assert [d["id"] for d in version_chain(docs, 21)] == [12, 15, 21]
    assert [d["id"] for d in version_chain(docs, 30)] == [30]
    assert version_chain(docs, 99) == []
    assert chain_text(version_chain(docs, 12)) == (
        "Phiên bản: v1 (mã 12, 05/03/2024) → v2 (mã 15, 02/01/2025) → "
        "v3 (mã 21, 25/11/2026, đang dùng)"
    )
    assert chain_text(version_chain(docs, 30), "en") == "Versions: v1 (id 30, current)"
    assert vn_date("2024-03-05T10:00:00+07:00") == "05/03/2024" and vn_date(None) == ""


# --- supersede UI -------------------------------------------------------------------------
def test_documents_window_supersedes_and_shows_the_chain(qtbot, demo_db, person_factory, place,
                                                         tmp_path):  # fmt: skip
    from plugins.dossier.views import DocumentsWindow

    parcel = place["mine"][0][1]
    editor = person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[place["commune"]])
    (mutation,) = owner_rows(
        demo_db,
        "WITH m AS (INSERT INTO cad.mutation (kind, reason, status, created_by, decided_by, "
        "decided_at) VALUES ('chuyen_quyen', 'Chuyển nhượng (thử)', 'da_duyet', 't', 't', now())"
        " RETURNING id), mp AS (INSERT INTO cad.mutation_parcel SELECT id, %s FROM m) "
        "SELECT id FROM m",
        (parcel,),
    )[0]
    with DossierStore.connect(editor.dsn) as st:
        frozen = st.create_document(
            st.upload(samples.write(tmp_path / "qd.tif", samples.tiff_g4(1))).sha256,
            {"doc_type": "quyet_dinh", "number": "12/QĐ-UBND", "issued_on": "2024-03-05"},
            [{"mutation_id": mutation}, {"parcel_id": parcel}],
        )
        free = st.create_document(
            st.upload(samples.write(tmp_path / "dk.tif", samples.tiff_g4(2))).sha256,
            {"doc_type": "don_dang_ky", "number": "45/ĐK", "issued_on": "2023-01-10"},
            [{"parcel_id": parcel}],
        )
    ctx = DossierCtx(editor.dsn)
    w = DocumentsWindow(ctx, parcel_id=parcel)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: {frozen, free} <= {int(d["id"]) for d in w.docs}, timeout=10000)
    before = w.list.count()  # other tests may have attached documents to this parcel

    def select(doc_id: int) -> None:
        for i in range(w.list.count()):
            if w.list.item(i).data(256) == doc_id:  # Qt.UserRole
                w.list.setCurrentRow(i)
                return
        raise AssertionError(doc_id)

    select(frozen)  # of an approved change set: only a new version is offered
    assert w.supersede_button.isEnabled() and w.replace_button.isHidden()
    assert w.supersede_button.text() == "Thay thế bằng phiên bản mới…"
    assert f"biến động {mutation} đã được phê duyệt" in w.supersede_button.toolTip()
    assert w.chain.text() == f"Phiên bản: v1 (mã {frozen}, 05/03/2024, đang dùng)"
    select(free)  # not approved: the file may also be fixed in place
    assert w.supersede_button.isEnabled()
    assert not w.replace_button.isHidden() and w.replace_button.isEnabled()

    select(frozen)
    d = w.change_dialog(new_version=True)
    qtbot.addWidget(d)
    assert "Tạo phiên bản 2" in d.findChild(type(w.chain)).text()
    d.set_file(str(samples.write(tmp_path / "qd bản 2.tif", samples.tiff_g4(3))))
    d.number.setText("12/QĐ-UBND (bản 2)")
    d.start()
    qtbot.waitUntil(lambda: d.result_id is not None, timeout=15000)
    new = d.result_id
    assert d.status.text() == f"Đã tạo phiên bản mới (mã hồ sơ {new})."
    # The list is read again with the new version selected, and its chain shown.
    qtbot.waitUntil(
        lambda: w.list.count() == before + 1 and w.current()["id"] == new, timeout=10000
    )
    assert w.chain.text() == (
        f"Phiên bản: v1 (mã {frozen}, 05/03/2024) → v2 (mã {new}, 05/03/2024, đang dùng)"
    )
    assert w.list.currentItem().text().startswith("Quyết định 12/QĐ-UBND (bản 2)\n05/03/2024 · v2")
    select(frozen)  # superseded: nothing more to do on it
    assert not w.supersede_button.isEnabled()
    assert "đã có bản mới" in w.list.currentItem().text()
    assert owner_rows(
        demo_db,
        "SELECT d.superseded_by, n.version, n.page_count, n.number, "
        "(SELECT array_agg(coalesce(l.mutation_id, l.parcel_id) ORDER BY l.mutation_id NULLS LAST)"
        " FROM doc.document_link l WHERE l.document_id = n.id) "
        "FROM doc.document d JOIN doc.document n ON n.id = d.superseded_by WHERE d.id = %s",
        (frozen,),
    ) == [(new, 2, 3, "12/QĐ-UBND (bản 2)", [mutation, parcel])]
    w.reject()
    # Opened on one document (the parcel panel's way): that document, its buttons.
    one = DocumentsWindow(ctx, document_id=new)
    qtbot.addWidget(one)
    qtbot.waitUntil(lambda: one.viewer.doc is not None, timeout=10000)
    assert one.list.count() == 1 and one.current()["id"] == new
    assert one.supersede_button.isEnabled() and one.replace_button.isHidden()
    assert one.viewer.doc.page_count == 3
    one.reject()
    ctx.runner.shutdown()


# --- folder import by the dossier right ----------------------------------------------------
def test_import_matches_by_dossier_right_and_area(demo_db, person_factory, place, tmp_path):
    from plugins.dossier.views import run_batch_import

    (_, p1, code, sheet, num), (_, p2, code2, sheet2, num2) = place["mine"][2:4]
    _, p_out, ocode, osheet, onum = place["other"]
    # A dossier editor WITHOUT any cadastral right: RLS would show them no parcel at all.
    editor = person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[place["commune"]])
    with DossierStore.connect(editor.dsn) as st:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # what the old lookup hit
            st.conn.execute("SELECT count(*) FROM cad.parcel")
        found = st.find_parcels([(code, sheet, num), (code2, sheet2, num2), (ocode, osheet, onum),
                                 (code, sheet, 99999)])  # fmt: skip
    assert found == {(code, sheet, num): [p1], (code2, sheet2, num2): [p2],
                     (ocode, osheet, onum): [], (code, sheet, 99999): []}  # fmt: skip
    folder = tmp_path / "thư mục"
    folder.mkdir()
    samples.write(folder / f"{code}_{sheet}_{num}_GCN.tif", samples.tiff_g4(1))
    samples.write(folder / f"{ocode}_{osheet}_{onum}_GCN.pdf", samples.pdf(1))  # other commune
    report = run_batch_import(editor.dsn, folder, "<commune>_<sheet>_<parcel>_<type>", "noi_bo")
    assert report.startswith("Đã nhập 1/2 tệp.")
    assert (f"Không tìm thấy thửa đất (hoặc ngoài địa bàn): 1\n  ✗ {ocode}_{osheet}_{onum}_GCN.pdf"
            in report)  # fmt: skip
    assert owner_rows(
        demo_db, "SELECT count(*) FROM doc.document_link WHERE parcel_id = %s", (p_out,)
    ) == [(0,)]
    assert owner_rows(
        demo_db,
        "SELECT d.doc_type FROM doc.document_link l JOIN doc.document d ON d.id = l.document_id "
        "WHERE l.parcel_id = %s AND d.original_name = %s",
        (p1, f"{code}_{sheet}_{num}_GCN.tif"),
    ) == [("giay_chung_nhan",)]


def test_find_parcels_denied_without_the_editor_right(demo_db, person_factory, place):
    viewer = person_factory(demo_db, rights={"dossier": ["viewer"], "cadastral": ["viewer"]},
                            communes=[place["commune"]])  # fmt: skip
    _, _, code, sheet, num = place["mine"][0]
    with (
        psycopg.connect(viewer.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM api.dossier_find_parcels(%s::jsonb)",
                     (json.dumps([[code, sheet, num]]),))  # fmt: skip


# --- exports and prints audited as part of the operation ---------------------------------
def _stored_doc(demo_db, person_factory, place, tmp_path, classification="noi_bo"):
    editor = person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[place["commune"]])
    with DossierStore.connect(editor.dsn) as st:
        doc = st.create_document(
            st.upload(samples.write(tmp_path / "xuat.tif", samples.tiff_g4(3))).sha256,
            {"doc_type": "ban_ve", "classification": classification},
            [{"parcel_id": place["mine"][1][1]}],
        )
    return editor, doc


def test_export_and_print_write_their_audit_event_first(qtbot, demo_db, person_factory, place,
                                                        tmp_path):  # fmt: skip
    from PySide6.QtPrintSupport import QPrinter

    from plugins.dossier.views import DossierViewer

    editor, doc = _stored_doc(demo_db, person_factory, place, tmp_path)
    v = DossierViewer("vi", cache=None)
    qtbot.addWidget(v)
    v.dsn = editor.dsn
    v.open_document(editor.dsn, doc)
    qtbot.waitUntil(lambda: v.doc is not None, timeout=10000)
    out = v.export_pages([0, 2], tmp_path / "trang 1 và 3.pdf")
    assert out.exists() and out.stat().st_size > 1000
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "in.pdf"))
    assert v.print_pages(printer, [1]) == 1
    rows = owner_rows(
        demo_db,
        "SELECT action, actor, detail ->> 'pages', detail ->> 'file', detail ->> 'version' "
        "FROM audit.log WHERE target = %s ORDER BY id",
        (f"doc.document:{doc}",),
    )
    assert rows == [("EXPORT", editor.role, "[1, 3]", "trang 1 và 3.pdf", "1"),
                    ("PRINT", editor.role, "[2]", None, "1")]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    # The event cannot be written (the store is unreachable): no file, a clear message.
    v.close_connection()
    v.dsn = editor.dsn.replace(f"port={editor.dsn.split('port=')[1].split()[0]}", "port=1")
    v._store_dsn = v.dsn
    target = tmp_path / "không được.pdf"
    with pytest.raises(DossierFileError, match="không ghi được nhật ký kiểm toán"):
        v.export_pages([0], target)
    assert not target.exists() and not (tmp_path / ".không được.pdf.part").exists()
    with pytest.raises(DossierFileError, match="Chưa gửi gì tới máy in"):
        v.print_pages(printer, [0])
    assert len(owner_rows(demo_db, "SELECT 1 FROM audit.log WHERE target = %s",
                          (f"doc.document:{doc}",))) == 2  # fmt: skip
    v.release()


def test_record_output_denied_for_restricted_without_the_right(demo_db, person_factory, place,
                                                               tmp_path):  # fmt: skip
    _editor, doc = _stored_doc(demo_db, person_factory, place, tmp_path, "han_che")
    officer = person_factory(demo_db, rights={"dossier": ["viewer"]}, communes=[place["commune"]])
    outsider = person_factory(demo_db, rights={"dossier": ["approver"]},
                              communes=[place["other"][0]])  # fmt: skip
    for person, match in ((officer, "hạn chế"), (outsider, "trong địa bàn")):
        with DossierStore.connect(person.dsn) as st, pytest.raises(DossierFileError, match=match):
            st.record_output(doc, "EXPORT", {"pages": [1]})
    with DossierStore.connect(officer.dsn) as st, pytest.raises(DossierFileError, match="PRINT"):
        st.record_output(doc, "DELETE", {})
    assert owner_rows(
        demo_db,
        "SELECT count(*) FROM audit.log WHERE target = %s AND action IN ('EXPORT', 'PRINT')",
        (f"doc.document:{doc}",),
    ) == [(0,)]


# --- what a clerk sees ----------------------------------------------------------------------
def test_sizes_in_vietnamese_number_format():
    from app.dossier.formats import size_text

    assert size_text(512) == "512 byte"
    assert size_text(97_587) == "95,3 KB"
    assert size_text(1_264_128) == "1.234,5 KB"
    assert size_text(4_823_449) == "4.710,4 KB"
    assert size_text(2 << 30) == "2.048,0 MB"
    assert size_text(1_264_128, "en") == "1,234.5 KB"


def test_viewer_layout_labels_and_sizes(qtbot, tmp_path):
    """Off-screen: every toolbar label fits its button, the strip sits against the page
    (no empty band), thumbnails are labelled «Trang n», the status gives the size."""
    from PySide6.QtWidgets import QPushButton, QToolButton

    from plugins.dossier.views import T_PRINT, DossierViewer

    v = DossierViewer("vi", cache=None)
    qtbot.addWidget(v)
    v.resize(1100, 700)
    v.show()
    data = samples.tiff_g4(3)
    v.info = {}
    v.show_bytes(data, "giấy chứng nhận.tif")
    v.info["byte_size"] = len(data)
    qtbot.waitUntil(lambda: v.thumbs.count() == 3, timeout=5000)
    qtbot.waitUntil(lambda: v._shown_generation == v._generation, timeout=5000)
    assert [v.thumbs.item(i).text() for i in range(3)] == ["Trang 1", "Trang 2", "Trang 3"]
    for b in v.findChildren(QToolButton):
        assert b.fontMetrics().horizontalAdvance(b.text()) <= b.width(), b.text()
    tips = {b.objectName(): (b.text(), b.toolTip()) for b in v.findChildren(QToolButton)}
    assert tips["prevPage"] == ("◀", "Trang trước") and tips["nextPage"] == ("▶", "Trang sau")
    assert tips["rotateLeft"] == ("↺", "Xoay trái") and tips["export"][0] == "Xuất trang…"
    # Beside the documents list (280 px) the window fits a 1366 px screen.
    assert v.minimumSizeHint().width() + 300 <= 1366, v.minimumSizeHint().width()
    strip = v.thumbs.geometry()
    assert 0 <= v.view.geometry().left() - strip.right() <= 12
    img = v.grab().toImage()
    # 20 px right of the strip is the page view (paper or its dark grey), not the window's
    # grey band the splitter used to leave there.
    window_grey = v.palette().window().color().rgb()
    y = strip.top() + strip.height() // 2
    assert img.pixelColor(strip.right() + 20, y).rgb() != window_grey
    v._update_status()
    from app.dossier.formats import size_text

    assert v.status.text().startswith(f"Trang 1/3 · giấy chứng nhận.tif · {size_text(len(data))}")
    rng = v.range_dialog(T_PRINT)
    qtbot.addWidget(rng)
    rng.show()
    labels = {b.text() for b in rng.findChildren(QPushButton)}
    assert labels == {"Đồng ý", "Hủy"} and rng.textValue() == "1-3"
    v._on_progress(1_264_128, 4_823_449)
    assert v.status.text() == "Đang tải hồ sơ… 1.234,5 KB / 4.710,4 KB"
    v.release()


def test_attach_and_import_dialog_texts(qtbot, tmp_path):
    from PySide6.QtWidgets import QPushButton

    from plugins.dossier.views import AttachDialog, BatchImportDialog

    ctx = DossierCtx("host=127.0.0.1 port=1 dbname=x")
    a = AttachDialog(ctx, {"parcel_id": 7})
    qtbot.addWidget(a)
    f1 = samples.write(tmp_path / "Giấy chứng nhận.tif", b"II*\x00" + b"\x00" * 97_583)
    f2 = samples.write(tmp_path / "hợp đồng.pdf", b"%PDF-" + b"\x00" * 1_264_123)
    a.set_files([str(f1), str(f2)])
    assert a.file_label.text() == "Giấy chứng nhận.tif (95,3 KB)\nhợp đồng.pdf (1.234,5 KB)"
    assert a.progress.isHidden()  # no empty bar before an upload
    b = BatchImportDialog(ctx)
    qtbot.addWidget(b)
    texts = {btn.text() for btn in b.findChildren(QPushButton)}
    assert {"Nhập", "Đóng"} <= texts and "Close" not in texts
    assert "<sheet>: số tờ" in b.findChild(type(a.file_label), "patternHint").text()
    assert b.progress.isHidden()
    ctx.runner.shutdown()
