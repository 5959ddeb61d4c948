"""Scanned dossiers: export and print of a page range run off the UI thread (issue 6
follow-up) — the UI stays responsive, a progress dialog with a cancel button appears for
anything over a second, the audit event is still written first, cancelling leaves nothing."""

from __future__ import annotations

import itertools
import time

import psycopg
import pytest

from app.dossier import formats, samples
from app.dossier.store import DossierStore

pytestmark = pytest.mark.store

PAGES = 20
DPI = 300


def owner_rows(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def stored(demo_db, person_factory, tmp_path_factory) -> tuple:
    """A 20-page 300 dpi G4 TIFF stored for a parcel of the editor's commune."""
    commune, parcel = owner_rows(
        demo_db,
        "SELECT commune_id, id FROM cad.parcel WHERE retired_at IS NULL ORDER BY id LIMIT 1",
    )[0]
    editor = person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[commune])
    path = samples.write(tmp_path_factory.mktemp("out") / "bản vẽ 300dpi.tif",
                         samples.tiff_g4(PAGES, dpi=DPI))  # fmt: skip
    with DossierStore.connect(editor.dsn) as st:
        doc = st.create_document(
            st.upload(path).sha256,
            {"doc_type": "ban_ve", "classification": "noi_bo"},
            [{"parcel_id": parcel}],
        )
    return editor, doc, demo_db


def events(dsn: str, doc: int) -> list[tuple]:
    return owner_rows(
        dsn,
        "SELECT action, detail ->> 'pages' FROM audit.log WHERE target = %s "
        "AND action IN ('EXPORT', 'PRINT') ORDER BY id",
        (f"doc.document:{doc}",),
    )


@pytest.fixture
def viewer(qtbot, stored):
    from plugins.dossier.views import DossierViewer

    editor, doc, _owner = stored
    v = DossierViewer("vi", cache=None)
    qtbot.addWidget(v)
    v.quiet_errors = True
    v.resize(900, 700)
    v.show()
    v.dsn = editor.dsn
    v.open_document(editor.dsn, doc)
    qtbot.waitUntil(lambda: v.doc is not None, timeout=15000)
    qtbot.waitUntil(lambda: v._shown_generation == v._generation, timeout=5000)
    yield v
    v.release()


def probe_gaps(qtbot, v, start) -> tuple[float, list[int]]:
    """Run ``start()`` with a 10 ms timer ticking on the UI thread; the longest gap between
    ticks (ms) until the output ends, and the progress values the dialog showed."""
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    values: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    v._sig.output_progress.connect(lambda done, _total: values.append(done))
    timer.start()
    ticks.append(time.perf_counter())
    with qtbot.waitSignal(v.output_finished, timeout=60000):
        assert start() is True
        assert start() is False  # one output at a time
    ticks.append(time.perf_counter())
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return max(gaps) * 1000, values


def test_export_of_20_pages_keeps_the_ui_responsive(qtbot, viewer, stored, tmp_path):
    _editor, doc, owner = stored
    target = tmp_path / "xuất 20 trang.pdf"
    viewer.rotate(True)  # rotated while exporting: the snapshot is taken at the start...
    qtbot.waitUntil(lambda: viewer._shown_generation == viewer._generation, timeout=5000)
    t0 = time.perf_counter()
    worst, values = probe_gaps(
        qtbot, viewer, lambda: viewer.start_export(list(range(PAGES)), target)
    )
    took = time.perf_counter() - t0
    assert worst <= 100, f"the UI thread stalled {worst:.0f} ms"
    assert values[-1] == PAGES + 1 and values == sorted(values)
    assert viewer.output_progress is None
    assert viewer.status.text() == f"Đã xuất {PAGES} trang ra {target}"
    print(f"export of {PAGES} pages at {DPI} dpi: {took:.2f} s, longest UI gap {worst:.0f} ms")

    out = formats.open_document(target.read_bytes(), formats.PDF, target.name, None)
    try:
        assert out.page_count == PAGES
        for i in (0, 7, PAGES - 1):
            im = out.page(i).convert("L")  # 150 dpi render of a 300 dpi page saved at 150
            w, h = im.size
            assert abs(w - 3508) <= 1 and abs(h - 2480) <= 1  # rotated clockwise: landscape
            x0, y0, x1, y1 = samples.box(i, DPI)
            # Clockwise: (x, y) of the upright page goes to (h0 - 1 - y, x).
            cx, cy = (3508 - 1 - (y0 + y1) // 2), (x0 + x1) // 2
            assert im.getpixel((cx, cy)) < 60, i
            assert im.getpixel((3508 - 1 - (y0 - 15), x0 - 15)) > 200, i
    finally:
        out.close()
    assert events(owner, doc) == [("EXPORT", str(list(range(1, PAGES + 1))))]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
