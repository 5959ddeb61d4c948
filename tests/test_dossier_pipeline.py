"""Pipelined uploads (issue 6, polish): several chunks in flight per round trip, and after
an interruption exactly the answered windows are stored, so the resume starts at the first
missing chunk — checked on the rows, through a real editor role and the WAN proxy."""

from __future__ import annotations

import hashlib
import io
import time

import psycopg
import pytest

from app.dossier import samples
from app.dossier.store import DossierStore, UploadCancelled
from app.net.latency_proxy import LatencyProxy

pytestmark = pytest.mark.store

CHUNK = 65536


def stored_seqs(dsn: str, sha: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT seq FROM doc_blob.chunk WHERE sha256 = %s ORDER BY seq", (sha,)
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def editor(demo_db, person_factory):
    with psycopg.connect(demo_db, autocommit=True) as conn:
        commune = conn.execute("SELECT commune_id FROM cad.parcel LIMIT 1").fetchone()[0]
    return person_factory(demo_db, rights={"dossier": ["editor"]}, communes=[commune])


def fake_tiff(chunks: int, tag: bytes) -> bytes:
    """Bytes that pass the server's magic check (the chunk API never decodes them)."""
    body = hashlib.sha256(tag).digest() * (chunks * CHUNK // 32)
    return b"II*\x00" + body[4:]


def begin(st: DossierStore, data: bytes) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    return st._call(
        "SELECT api.begin_upload(%s, %s, 'image/tiff', %s)", (sha, len(data), CHUNK)
    ) | {"sha": sha}


def test_cancel_mid_window_keeps_exactly_what_was_sent(demo_db, editor):
    data = fake_tiff(10, b"cancel")
    reads: list[int] = []

    class Counting(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            reads.append(1)
            return super().read(n)

    def cancelled() -> bool:  # "Dừng" pressed while chunk 5 (in window 2) is due
        return len(reads) == 5

    with DossierStore.connect(editor.dsn, CHUNK) as st:
        state = begin(st, data)
        with pytest.raises(UploadCancelled):
            st.send_chunks(Counting(data), state["sha"], 0, 10, CHUNK, len(data),
                           cancelled=cancelled, window=4)  # fmt: skip
        # Chunk 4 was in flight in window 2 when the stop came: it is stored, 5… are not.
        assert len(reads) == 5
        assert stored_seqs(demo_db, state["sha"]) == [0, 1, 2, 3, 4]
        again = begin(st, data)
        assert again["next_seq"] == 5
        sent = st.send_chunks(io.BytesIO(data), state["sha"], 5, 10, CHUNK, len(data), window=4)
        assert sent == 5
        done = st._call("SELECT api.finish_upload(%s)", (state["sha"],))
    assert done["ok"] is True
    assert stored_seqs(demo_db, state["sha"]) == list(range(10))


def test_lost_connection_mid_window_resumes_at_the_window_start(demo_db, editor):
    """The backend dies while window 2 (chunks 4–7) is in flight: window 1 was answered
    (committed by its Sync), nothing of window 2 is stored, the resume says 4."""
    data = fake_tiff(10, b"killed")
    sha = hashlib.sha256(data).hexdigest()
    calls = []
    with DossierStore.connect(editor.dsn, CHUNK) as st:
        begin(st, data)
        pid = st.conn.info.backend_pid

        def cancelled() -> bool:
            calls.append(1)
            if len(calls) == 7:  # chunks 4 and 5 are sent, 6 is next
                with psycopg.connect(demo_db, autocommit=True) as owner:
                    owner.execute("SELECT pg_terminate_backend(%s)", (pid,))
                time.sleep(0.2)
            return False

        with pytest.raises(psycopg.OperationalError):
            st.send_chunks(io.BytesIO(data), sha, 0, 10, CHUNK, len(data),
                           cancelled=cancelled, window=4)  # fmt: skip
    assert stored_seqs(demo_db, sha) == [0, 1, 2, 3]
    with DossierStore.connect(editor.dsn, CHUNK) as st:
        assert begin(st, data)["next_seq"] == 4


def test_pipelined_upload_pays_one_round_trip_per_window(demo_db, editor, tmp_path):
    """16 chunks over a 100 ms link: one call per chunk needs ≥ 1.6 s of round trips, a
    window of 8 needs 2 (+ the bytes, 1 MiB at no bandwidth limit)."""
    one = fake_tiff(16, b"serial")
    eight = fake_tiff(16, b"pipelined")
    timings = {}
    with (
        LatencyProxy.for_dsn(editor.dsn, rtt_ms=100, mbit=None) as proxy,
        DossierStore.connect(proxy.wrap_dsn(editor.dsn), CHUNK) as st,
    ):
        for window, data in ((1, one), (8, eight)):
            sha = begin(st, data)["sha"]
            t0 = time.perf_counter()
            st.send_chunks(io.BytesIO(data), sha, 0, 16, CHUNK, len(data), window=window)
            timings[window] = time.perf_counter() - t0
            assert st._call("SELECT api.finish_upload(%s)", (sha,))["ok"] is True
    assert timings[1] >= 1.6
    assert timings[8] < 0.8, timings
    assert stored_seqs(demo_db, hashlib.sha256(eight).hexdigest()) == list(range(16))


def test_real_file_upload_resumes_after_pipelined_stop(demo_db, editor, tmp_path):
    """The whole upload (check, renditions pipelined, chunks) stops after 5 chunks and
    resumes from chunk 5; the stored file hashes to the original."""
    data = samples.tiff_g4(8, speckle=0.02)
    path = samples.write(tmp_path / "hồ sơ dừng.tif", data)
    sha = hashlib.sha256(data).hexdigest()
    total = -(-len(data) // CHUNK)
    assert total > 5
    with DossierStore.connect(editor.dsn, CHUNK) as st:
        with pytest.raises(UploadCancelled):
            st.upload(path, stop_after=5)
        assert stored_seqs(demo_db, sha) == [0, 1, 2, 3, 4]
        res = st.upload(path)
    assert (res.resumed_from, res.chunks_sent) == (5, total - 5)
    with psycopg.connect(demo_db, autocommit=True) as conn:
        got = conn.execute(
            "SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY seq)), 'hex'), "
            "(SELECT count(*) FROM doc_blob.preview WHERE sha256 = %s AND kind = 'thumb') "
            "FROM doc_blob.chunk WHERE sha256 = %s",
            (sha, sha),
        ).fetchone()
    assert got == (sha, 8)
