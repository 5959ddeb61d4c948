"""Scanned dossiers in the store (issue 6): upload, dedup, resume, verified reads, pages,
every bad input, and the walls around restricted documents — through real person roles.

Files are generated here (multi-page CCITT G4 TIFFs and PDFs with a black box at a known
place on each page, app.dossier.samples). Uploads use 64 KiB chunks so small files span
several chunks and tests stay fast.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import psycopg
import pytest

from app.dossier import samples
from app.dossier.formats import DossierFileError, check_file, open_document
from app.dossier.store import (
    DocumentCache,
    DossierStore,
    UploadCancelled,
    open_cached,
)

pytestmark = pytest.mark.store

SMALL_CHUNK = 65536
EDITOR = {"dossier": ["editor"], "cadastral": ["viewer"]}
OFFICER = {"dossier": ["viewer"], "cadastral": ["viewer"]}
APPROVER = {"dossier": ["approver"], "cadastral": ["viewer"]}


def owner_one(dsn: str, sql: str, params: tuple = ()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0] if len(row) == 1 else row


def blob_count(dsn: str) -> tuple[int, int, int, int]:
    return owner_one(
        dsn,
        "SELECT (SELECT count(*) FROM doc_blob.blob), (SELECT count(*) FROM doc_blob.chunk),"
        " (SELECT count(*) FROM doc_blob.preview), (SELECT count(*) FROM doc_blob.upload)",
    )


def center(b: tuple[int, int, int, int]) -> tuple[int, int]:
    return (b[0] + b[2]) // 2, (b[1] + b[3]) // 2


@pytest.fixture(scope="module")
def area(demo_db: str) -> dict:
    """Two communes with parcels: ours and another one."""
    rows = owner_one(
        demo_db,
        "SELECT array_agg(commune_id ORDER BY n DESC) FROM (SELECT commune_id, count(*) n "
        "FROM cad.parcel WHERE retired_at IS NULL GROUP BY commune_id) s",
    )
    ours, other = rows[0], rows[1]
    parcels = [
        r[0]
        for r in psycopg.connect(demo_db, autocommit=True)
        .execute(
            "SELECT id FROM cad.parcel WHERE commune_id = %s AND retired_at IS NULL "
            "ORDER BY id LIMIT 20",
            (ours,),
        )
        .fetchall()
    ]
    return {"commune": ours, "other": other, "parcels": parcels}


@pytest.fixture
def people(demo_db, person_factory, area):
    c = [area["commune"]]
    return {
        "editor": person_factory(demo_db, rights=EDITOR, communes=c),
        "officer": person_factory(demo_db, rights=OFFICER, communes=c),
        "approver": person_factory(demo_db, rights=APPROVER, communes=c),
        "outsider": person_factory(demo_db, rights=EDITOR, communes=[area["other"]]),
    }


def upload_doc(dsn, path, parcel_id, classification="noi_bo", doc_type="giay_chung_nhan"):
    with DossierStore.connect(dsn, SMALL_CHUNK) as st:
        res = st.upload(path)
        doc_id = st.create_document(
            res.sha256,
            {"doc_type": doc_type, "number": "CN 123456", "issued_on": "2024-03-05",
             "classification": classification, "original_name": Path(path).name},
            [{"parcel_id": parcel_id}],
        )  # fmt: skip
    return res, doc_id


# --- upload, view, dedup -----------------------------------------------------------------
def test_g4_tiff_upload_and_view_pages(demo_db, people, area, tmp_path):
    data = samples.tiff_g4(5)
    path = samples.write(tmp_path / "giấy chứng nhận thửa 12.tif", data)  # diacritics, spaces
    res, doc_id = upload_doc(people["editor"].dsn, path, area["parcels"][0])
    assert res.sha256 == hashlib.sha256(data).hexdigest()
    assert res.info.page_count == 5 and not res.deduplicated
    row = owner_one(
        demo_db,
        "SELECT page_count, byte_size, media_type, sha256, original_name FROM doc.document "
        "WHERE id = %s",
        (doc_id,),
    )
    assert row == (5, len(data), "image/tiff", res.sha256, "giấy chứng nhận thửa 12.tif")
    assert owner_one(demo_db, "SELECT chunk_count, complete FROM doc_blob.blob WHERE sha256 = %s",
                     (res.sha256,)) == (-(-len(data) // SMALL_CHUNK), True)  # fmt: skip

    # The officer of the commune reads it: bytes verified, page 3's box black, around it white.
    with DossierStore.connect(people["officer"].dsn) as st:
        got = st.read_file(doc_id)
        thumbs = st.previews(doc_id, "thumb")
        listed = st.list_documents(parcel_id=area["parcels"][0])
    assert got == data
    assert [t[0] for t in thumbs] == [1, 2, 3, 4, 5] and max(thumbs[0][1:3]) == 160
    assert doc_id in [d["id"] for d in listed]
    with open_document(got) as doc:
        page3 = doc.page(2)
    assert page3.getpixel(center(samples.box(2))) == 0
    assert page3.getpixel((samples.box(2)[0] - 5, samples.box(2)[1] - 5)) == 255
    # page 1's box is elsewhere: that spot of page 3 is paper
    assert page3.getpixel(center(samples.box(0))) == 255

    # Same bytes again (another name): stored once.
    before = blob_count(demo_db)
    again = samples.write(tmp_path / "copy.tif", data)
    res2, doc2 = upload_doc(people["editor"].dsn, again, area["parcels"][1])
    assert res2.deduplicated and res2.sha256 == res.sha256 and doc2 != doc_id
    assert blob_count(demo_db) == before


def test_pdf_upload_and_render(demo_db, people, area, tmp_path):
    path = samples.write(tmp_path / "hop dong.pdf", samples.pdf(3))
    res, doc_id = upload_doc(people["editor"].dsn, path, area["parcels"][2], doc_type="hop_dong")
    assert res.info.media_type == "application/pdf" and res.info.page_count == 3
    with DossierStore.connect(people["officer"].dsn) as st:
        data = st.read_file(doc_id)
        screen = st.previews(doc_id, "screen", 1, 1)
    # Rendered at 150 dpi from a 100 dpi page: the box scales by 1.5.
    with open_document(data) as doc:
        page2 = doc.page(1).convert("L")
    cx, cy = center(samples.box(1))
    assert page2.getpixel((round(cx * 1.5), round(cy * 1.5))) < 40
    assert page2.getpixel((round(cx * 1.5), round((cy - 60) * 1.5))) > 215
    assert len(screen) == 1 and screen[0][0] == 1 and max(screen[0][1:3]) <= 1100


def test_interrupted_upload_resumes(demo_db, people, area, tmp_path):
    data = samples.tiff_g4(4, speckle=0.02)  # ~190 kB: 3 chunks of 64 KiB
    path = samples.write(tmp_path / "resume.tif", data)
    total = -(-len(data) // SMALL_CHUNK)
    assert total >= 3
    with DossierStore.connect(people["editor"].dsn, SMALL_CHUNK) as st:
        with pytest.raises(UploadCancelled):
            st.upload(path, stop_after=2)
        sha = hashlib.sha256(data).hexdigest()
        # Not usable while incomplete.
        with pytest.raises(DossierFileError, match="chưa được tải lên đầy đủ"):
            st.create_document(sha, {"doc_type": "khac"}, [{"parcel_id": area["parcels"][3]}])
        res = st.upload(path)
    assert res.resumed_from == 2 and res.chunks_sent == total - 2
    stored = owner_one(
        demo_db,
        "SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY seq)), 'hex') "
        "FROM doc_blob.chunk WHERE sha256 = %s",
        (sha,),
    )
    assert stored == sha == res.sha256
    assert owner_one(demo_db, "SELECT count(*) FROM doc_blob.upload WHERE sha256 = %s", (sha,)) == 0


def test_abort_and_corrupted_transfer_leave_nothing(demo_db, people, tmp_path):
    data = samples.tiff_g4(3, speckle=0.02)
    path = samples.write(tmp_path / "abort.tif", data)
    before = blob_count(demo_db)
    with DossierStore.connect(people["editor"].dsn, SMALL_CHUNK) as st:
        with pytest.raises(UploadCancelled):
            st.upload(path, stop_after=1)
        assert blob_count(demo_db) != before
        assert st.abort_upload(hashlib.sha256(data).hexdigest())
    assert blob_count(demo_db) == before

    # A client announcing one hash and sending other bytes: finish refuses, nothing stays.
    fake = hashlib.sha256(b"other").hexdigest()
    with psycopg.connect(people["editor"].dsn, autocommit=True) as conn:
        conn.execute("SELECT api.begin_upload(%s, %s, 'image/tiff', 65536)", (fake, len(data)))
        for seq in range(-(-len(data) // SMALL_CHUNK)):
            conn.execute("SELECT api.put_chunk(%s, %s, %s)",
                         (fake, seq, data[seq * SMALL_CHUNK:(seq + 1) * SMALL_CHUNK]))  # fmt: skip
        out = conn.execute("SELECT api.finish_upload(%s)", (fake,)).fetchone()[0]
        assert out["ok"] is False and "không khớp" in out["error"]
        # A first chunk that is not what the media type says: refused by the server.
        conn.execute("SELECT api.begin_upload(%s, 70000, 'application/pdf', 65536)", (fake,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="không phải định dạng"):
            conn.execute("SELECT api.put_chunk(%s, 0, %s)", (fake, data[:SMALL_CHUNK]))
        conn.execute("SELECT api.abort_upload(%s)", (fake,))
    assert blob_count(demo_db) == before


# --- bad input ----------------------------------------------------------------------------
def test_bad_files_get_clear_messages_and_store_nothing(demo_db, people, tmp_path):
    tiff = samples.tiff_g4(3)
    cases = {
        "rong.pdf": (b"", "rỗng"),
        "cut.tif": (tiff[: len(tiff) // 2], "hỏng"),
        "broken.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage", "hỏng"),
        "khoa.pdf": (samples.password_pdf(), "mật khẩu"),
        "lies.pdf": (tiff, "đuôi «.pdf» nhưng nội dung là ảnh TIFF"),
        "note.txt": (b"hello world, not a scan", "không phải ảnh quét"),
    }
    before = blob_count(demo_db)
    with DossierStore.connect(people["editor"].dsn, SMALL_CHUNK) as st:
        for name, (data, message) in cases.items():
            path = samples.write(tmp_path / name, data)
            with pytest.raises(DossierFileError) as caught:
                st.upload(path)
            assert message in str(caught.value), name
            assert name in str(caught.value)
        # 2 GB: a sparse file; refused by the size limit before any byte is read.
        big = tmp_path / "khổng lồ.tif"
        with big.open("wb") as fh:
            fh.write(tiff[:16])
            fh.truncate(2 * 2**30)
        with pytest.raises(DossierFileError, match=r"quá lớn: 2\.048,0 MB, tối đa 512 MB"):
            st.upload(big)
    assert blob_count(demo_db) == before
    # The server refuses the same by itself (any client).
    with psycopg.connect(people["editor"].dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="quá lớn"):
            conn.execute("SELECT api.begin_upload(%s, %s, 'image/tiff', 1048576)",
                         ("a" * 64, 2 * 2**30))  # fmt: skip
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="0 byte"):
            conn.execute("SELECT api.begin_upload(%s, 0, 'image/tiff', 1048576)", ("b" * 64,))
    assert blob_count(demo_db) == before


def test_check_file_accepts_vietnamese_names(tmp_path):
    p = samples.write(tmp_path / "Đơn đăng ký  bà Nguyễn Thị Hằng.pdf", samples.pdf(2))
    info = check_file(p, 10 * 2**20)
    assert (info.media_type, info.page_count) == ("application/pdf", 2)


# --- rights -------------------------------------------------------------------------------
def test_restricted_bytes_need_the_right_and_are_audited(demo_db, people, area, tmp_path):
    data = samples.tiff_g4(2)
    path = samples.write(tmp_path / "han che.tif", data)
    res, doc_id = upload_doc(people["editor"].dsn, path, area["parcels"][4], "han_che")
    officer, approver = people["officer"], people["approver"]
    with psycopg.connect(officer.dsn, autocommit=True) as conn:
        # Metadata yes (the commune's record), bytes no — from psql as from the GUI.
        assert conn.execute("SELECT classification FROM doc.document WHERE id = %s",
                            (doc_id,)).fetchone() == ("han_che",)  # fmt: skip
        for sql in ("SELECT data FROM doc_blob.chunk LIMIT 1",
                    "SELECT * FROM doc_blob.blob LIMIT 1",
                    "SELECT data FROM doc_blob.preview LIMIT 1"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        for sql in ("SELECT * FROM api.read_chunks(%s, 0, 1)",
                    "SELECT * FROM api.read_previews(%s, 'thumb', 1, 1)"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="hạn chế"):
                conn.execute(sql, (doc_id,))
        info = conn.execute("SELECT api.document_info(%s)", (doc_id,)).fetchone()[0]
        assert info["may_read_bytes"] is False
    with DossierStore.connect(officer.dsn) as st, pytest.raises(DossierFileError, match="hạn chế"):
        open_cached(st, doc_id, DocumentCache(tmp_path / "c1"))

    audit_sql = ("SELECT count(*) FROM audit.log WHERE action = 'DOC_READ_RESTRICTED' "
                 "AND target = %s AND actor = %s")  # fmt: skip
    with DossierStore.connect(approver.dsn) as st:
        assert st.read_file(doc_id) == data
    assert owner_one(demo_db, audit_sql, (f"doc.document:{doc_id}", approver.role)) >= 1

    # Outside the area: not even the metadata, and no way to attach to its parcels.
    with psycopg.connect(people["outsider"].dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="địa bàn"):
            conn.execute("SELECT api.document_info(%s)", (doc_id,))
        assert conn.execute("SELECT count(*) FROM doc.document WHERE id = %s",
                            (doc_id,)).fetchone() == (0,)  # fmt: skip
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT api.create_document(%s, '{\"doc_type\": \"khac\"}', %s::jsonb)",
                         (res.sha256, f'[{{"parcel_id": {area["parcels"][4]}}}]'))  # fmt: skip
    # A viewer cannot upload.
    with (
        psycopg.connect(officer.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT api.begin_upload(%s, 10, 'image/tiff', 65536)", ("c" * 64,))


def test_approved_change_set_document_is_superseded_not_replaced(demo_db, people, area, tmp_path):
    editor = people["editor"]
    parcel = area["parcels"][5]
    mutation = owner_one(
        demo_db,
        "WITH m AS (INSERT INTO cad.mutation (kind, reason, status, created_by, decided_by, "
        "decided_at) VALUES ('chuyen_quyen', 'Chuyển nhượng (thử)', 'da_duyet', 'test', 'test',"
        " now()) RETURNING id), mp AS (INSERT INTO cad.mutation_parcel SELECT id, %s FROM m) "
        "SELECT id FROM m",
        (parcel,),
    )
    one = samples.write(tmp_path / "qd1.tif", samples.tiff_g4(1))
    two = samples.write(tmp_path / "qd2.tif", samples.tiff_g4(2))
    with DossierStore.connect(editor.dsn, SMALL_CHUNK) as st:
        sha1 = st.upload(one).sha256
        sha2 = st.upload(two).sha256
        doc = st.create_document(sha1, {"doc_type": "quyet_dinh", "number": "12/QĐ-UBND"},
                                 [{"mutation_id": mutation}, {"parcel_id": parcel}])  # fmt: skip
        with pytest.raises(DossierFileError, match="đã được phê duyệt"):
            st.replace_file(doc, sha2)
        new = st.supersede(doc, sha2, {"number": "12/QĐ-UBND (bản 2)"})
        with pytest.raises(DossierFileError, match="đã được thay thế"):
            st.supersede(doc, sha1)
        versions = st.list_documents(mutation_id=mutation)
    assert owner_one(demo_db, "SELECT sha256, superseded_by FROM doc.document WHERE id = %s",
                     (doc,)) == (sha1, new)  # fmt: skip
    assert owner_one(demo_db, "SELECT version, page_count, number FROM doc.document WHERE id = %s",
                     (new,)) == (2, 2, "12/QĐ-UBND (bản 2)")  # fmt: skip
    assert [v["id"] for v in versions] == [new, doc]


# --- cache --------------------------------------------------------------------------------
def test_cache_hit_bound_and_restricted_wipe(demo_db, people, area, tmp_path):
    data = samples.tiff_g4(2)
    res, doc_id = upload_doc(people["editor"].dsn, samples.write(tmp_path / "c.tif", data),
                             area["parcels"][6], "han_che")  # fmt: skip
    cache = DocumentCache(tmp_path / "cache", max_bytes=10 * len(data))
    seen: list[int] = []
    with DossierStore.connect(people["approver"].dsn) as st:
        _info, got, hit = open_cached(st, doc_id, cache, on_bytes=lambda b: seen.append(len(b)))
        assert (got, hit) == (data, False) and seen and seen[-1] == len(data)
        _, got2, hit2 = open_cached(st, doc_id, cache)
        assert (got2, hit2) == (data, True)
    path = cache.root / res.sha256[:2] / res.sha256
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    # A damaged cache file is not trusted.
    path.write_bytes(b"x" + data[1:])
    assert cache.get(res.sha256) is None and not path.exists()
    cache.put(res.sha256, data, restricted=True)
    public = os.urandom(3 * len(data))
    public_sha = hashlib.sha256(public).hexdigest()
    cache.put(public_sha, public)
    assert cache.wipe_restricted() == 1
    assert cache.get(res.sha256) is None and cache.get(public_sha) == public
    # Bounded: older entries go first.
    for _ in range(6):
        blob = os.urandom(3 * len(data))
        cache.put(hashlib.sha256(blob).hexdigest(), blob)
    assert cache.size() <= cache.max_bytes
    assert cache.get(public_sha) is None


# --- folder import, cleanup ---------------------------------------------------------------
def test_batch_import_report(demo_db, people, area, tmp_path):
    from plugins.dossier.views import run_batch_import

    rows = (
        psycopg.connect(demo_db, autocommit=True)
        .execute(
            "SELECT p.id, u.code, s.sheet_number, p.parcel_number FROM cad.parcel p "
            "JOIN cad.map_sheet s ON s.id = p.sheet_id "
            "JOIN ref.admin_unit u ON u.id = s.commune_id "
            "WHERE p.commune_id = %s AND p.retired_at IS NULL AND p.duplicate_seq = 0 "
            "AND NOT EXISTS (SELECT 1 FROM cad.parcel q WHERE q.sheet_id = p.sheet_id "
            "  AND q.parcel_number = p.parcel_number AND q.id <> p.id) ORDER BY p.id LIMIT 2",
            (area["commune"],),
        )
        .fetchall()
    )
    (p1, code, sheet1, num1), (p2, _, sheet2, num2) = rows
    folder = tmp_path / "lô quét"
    folder.mkdir()
    a = samples.tiff_g4(2)
    samples.write(folder / f"{code}_{sheet1}_{num1}_GCN.tif", a)
    samples.write(folder / f"{code}_{sheet2}_{num2}_HĐ.pdf", samples.pdf(2))
    samples.write(folder / f"{code}_{sheet1}_{num1}_QD.tif", a)  # same bytes as the first
    samples.write(folder / f"{code}_{sheet1}_99999_GCN.pdf", samples.pdf(1))  # no parcel
    samples.write(folder / "scan 001.pdf", samples.pdf(1))  # not the convention
    samples.write(folder / f"{code}_{sheet2}_{num2}_BV.pdf", b"")  # empty: an error line
    editor = people["editor"]
    report = run_batch_import(editor.dsn, folder, "<commune>_<sheet>_<parcel>_<type>", "noi_bo")
    assert report.startswith("Đã nhập 2/6 tệp.")
    assert f"Tệp trùng nội dung (bỏ qua): 1\n  ✗ {code}_{sheet1}_{num1}_QD.tif" in report
    assert "Tên tệp không theo mẫu: 1\n  ✗ scan 001.pdf" in report
    assert f"Không tìm thấy thửa đất (hoặc ngoài địa bàn): 1\n  ✗ {code}_{sheet1}_99999" in report
    assert "Lỗi: 1" in report and "rỗng (0 byte)" in report
    with DossierStore.connect(editor.dsn) as st:
        docs1 = st.list_documents(parcel_id=p1)
        docs2 = st.list_documents(parcel_id=p2)
    assert any(d["doc_type"] == "giay_chung_nhan" and d["page_count"] == 2 for d in docs1)
    assert any(d["doc_type"] == "hop_dong" and d["media_type"] == "application/pdf"
               for d in docs2)  # fmt: skip
    # Another commune's officer finds none of these parcels: all unmatched, nothing stored.
    other = people["outsider"]
    report = run_batch_import(other.dsn, folder, "<commune>_<sheet>_<parcel>_<type>", "noi_bo")
    assert report.startswith("Đã nhập 0/6 tệp.")
    assert "Không tìm thấy thửa đất (hoặc ngoài địa bàn): 4" in report


def test_cleanup_removes_abandoned_uploads(demo_db, people, tmp_path):
    data = samples.tiff_g4(3, speckle=0.02)
    path = samples.write(tmp_path / "bo do.tif", data)
    sha = hashlib.sha256(data).hexdigest()
    with (
        DossierStore.connect(people["editor"].dsn, SMALL_CHUNK) as st,
        pytest.raises(UploadCancelled),
    ):
        st.upload(path, stop_after=1)
    with psycopg.connect(demo_db, autocommit=True) as conn:
        assert conn.execute("SELECT sys.dossier_cleanup()").fetchone()[0] == 0  # still fresh
        conn.execute("UPDATE doc_blob.upload SET touched_at = now() - interval '3 days' "
                     "WHERE sha256 = %s", (sha,))  # fmt: skip
        assert conn.execute("SELECT sys.dossier_cleanup()").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM doc_blob.chunk WHERE sha256 = %s",
                            (sha,)).fetchone()[0] == 0  # fmt: skip
