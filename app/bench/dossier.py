"""``landrec bench dossier`` (issue 6): a 50-page 300 dpi CCITT G4 TIFF over a WAN.

Generates the scan (A4 pages with ruled "text" and scanner dust, ~100 kB a page like real
G4 scans), uploads it as a temporary dossier editor (directly, timing the server's SHA-256
check), then starts the latency proxy (app/net, pitfall P6) and opens the document in the
real viewer widget (off-screen) through it:

* first page visible — from ``open_document`` to page 1 on screen, cold (empty cache, new
  connection: the viewer's first open);
* whole file — until every chunk is in and its SHA-256 verified;
* cached reopen — the same document opened again in that viewer (one rights check on its
  open connection, bytes from the local cache).

Medians of ``--runs`` runs against the targets. ``--verify-mb N`` also times the server's
hash check of an N MB upload (the finish of a 300 MB scan). ``--export-pages N`` (100 by
default) adds the export of N pages at 300 dpi to PDF and TIFF: time and peak RSS, each in
its own process (app/bench/dossier_export.py). Everything created is removed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from app.bench.rls import _one, owner_and_proxy
from app.errors import UserFacingError
from app.store.dsn import resolve_dsn


def _create_person(owner: psycopg.Connection) -> tuple[str, str]:
    import secrets

    role = f"bench_{secrets.token_hex(5)}"
    password = f"Bb-{secrets.token_urlsafe(18)}!9"
    owner.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE lr_person, lr_dossier_editor").format(
            sql.Identifier(role), sql.Literal(password)
        )
    )
    owner.execute(
        "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, whole_province,"
        " must_change_password, password_changed_at) VALUES (%s, %s, %s, %s, true, false, now())",
        (role, f"{secrets.randbelow(10**12):012d}", "Tài khoản đo hiệu năng", "LandRec"),
    )
    owner.execute("INSERT INTO sys.account_right VALUES (%s, 'dossier', 'editor')", (role,))
    return role, password


def _drop_person(owner: psycopg.Connection, role: str) -> None:
    owner.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )
    owner.execute("DELETE FROM sys.account WHERE role_name = %s", (role,))
    owner.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    owner.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _wait(app, cond, timeout: float = 30.0) -> float:
    end = time.perf_counter() + timeout
    while not cond():
        app.processEvents()
        if time.perf_counter() > end:
            raise UserFacingError("the viewer did not finish in time")
        time.sleep(0.0005)
    return time.perf_counter()


def _verify_big(owner_dsn: str, person_dsn: str, mb: int) -> tuple[float, float]:
    """(upload s, finish s) of an mb-MB file through the API, locally; then removed."""
    data_chunk = os.urandom(1 << 20)
    head = b"II*\x00" + data_chunk[4:]
    h = hashlib.sha256(head)
    for _ in range(mb - 1):
        h.update(data_chunk)
    sha = h.hexdigest()
    with psycopg.connect(person_dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute("SELECT api.begin_upload(%s, %s, 'image/tiff', 1048576)", (sha, mb << 20))
        for seq in range(mb):
            conn.execute(
                "SELECT api.put_chunk(%s, %s, %s)", (sha, seq, head if seq == 0 else data_chunk)
            )
        t1 = time.perf_counter()
        out = conn.execute("SELECT api.finish_upload(%s)", (sha,)).fetchone()[0]
        t2 = time.perf_counter()
        if not out["ok"]:
            raise UserFacingError(f"verification failed: {out}")
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        owner.execute("DELETE FROM doc_blob.blob WHERE sha256 = %s", (sha,))
    return t1 - t0, t2 - t1


def _upload_wan(
    owner_dsn: str, wan_dsn: str, mb: int, runs: int, tmp: str, progress=print
) -> dict[int, list[float]]:
    """Seconds for an mb-MB upload (begin, chunks, finish with the server's hash check)
    through the proxy, per window: 1 = one call per chunk (before), UPLOAD_WINDOW =
    pipelined. Each run uploads different bytes (a fresh first chunk), removed after."""
    from app.dossier.store import UPLOAD_WINDOW, DossierStore

    path = Path(tmp) / "upload.bin"
    filler = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for _ in range(mb):
            fh.write(filler)
    out: dict[int, list[float]] = {1: [], UPLOAD_WINDOW: []}
    for r in range(runs):
        for window in out:
            with open(path, "r+b") as fh:
                fh.write(b"II*\x00" + os.urandom((1 << 20) - 4))
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            try:
                with DossierStore.connect(wan_dsn) as st, open(path, "rb") as fh:
                    t0 = time.perf_counter()
                    st._call(
                        "SELECT api.begin_upload(%s, %s, 'image/tiff', %s)",
                        (sha, mb << 20, 1 << 20),
                    )
                    st.send_chunks(fh, sha, 0, mb, 1 << 20, mb << 20, window=window)
                    done = st._call("SELECT api.finish_upload(%s)", (sha,))
                    out[window].append(time.perf_counter() - t0)
                    if not done["ok"]:
                        raise UserFacingError(f"upload not verified: {done}")
            finally:
                with psycopg.connect(owner_dsn, autocommit=True) as owner:
                    owner.execute("DELETE FROM doc_blob.blob WHERE sha256 = %s", (sha,))
            progress(f"upload run {r + 1}, window {window}: {out[window][-1]:.1f} s")
    return out


def run(
    dsn: str,
    runs: int,
    rtt_ms: float,
    mbit: float | None,
    verify_mb: int,
    progress=print,
    upload_mb: int = 0,
    export_pages: int = 0,
) -> str:
    from app.dossier import samples
    from app.dossier.store import DocumentCache, DossierStore

    runs = max(1, runs)
    owner, proxy = owner_and_proxy(dsn, rtt_ms, mbit)
    lines: list[str] = []
    with owner, tempfile.TemporaryDirectory(prefix="landrec-bench-dossier-") as tmp:
        if not _one(owner, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0]:
            raise UserFacingError("the benchmark needs the store owner's DSN (a superuser)")
        parcel = _one(owner, "SELECT id FROM cad.parcel WHERE retired_at IS NULL LIMIT 1")[0]
        progress("generating a 50-page 300 dpi CCITT G4 TIFF …")
        data = samples.tiff_g4(50, dpi=300, speckle=0.003)
        path = Path(tmp) / "ho so 50 trang.tif"
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        owner.execute(
            "DELETE FROM doc_blob.blob b WHERE sha256 = %s AND NOT EXISTS "
            "(SELECT 1 FROM doc.document d WHERE d.sha256 = b.sha256)",
            (sha,),
        )
        role, password = _create_person(owner)
        person = psycopg.conninfo.make_conninfo(dsn, user=role, password=password)
        doc_id = None
        try:
            progress(f"{len(data) / 2**20:.1f} MB; uploading (local, with renditions) …")
            with DossierStore.connect(person) as st:
                t0 = time.perf_counter()
                res = st.upload(path)
                upload_s = time.perf_counter() - t0
                doc_id = st.create_document(
                    res.sha256, {"doc_type": "ban_ve"}, [{"parcel_id": parcel}]
                )
            big = _verify_big(dsn, person, verify_mb) if verify_mb > 0 else None

            from PySide6.QtWidgets import QApplication

            if QApplication.instance() is None:
                if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
                    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
                QApplication([])
            app = QApplication.instance()
            from plugins.dossier.views import DossierViewer

            first, whole, reopen = [], [], []
            uploads: dict[int, list[float]] = {}
            with proxy:
                wan = psycopg.conninfo.make_conninfo(
                    proxy.wrap_dsn(dsn), user=role, password=password
                )
                if upload_mb > 0:
                    progress(f"{upload_mb} MB upload through the proxy, median of 3 …")
                    uploads = _upload_wan(dsn, wan, upload_mb, 3, tmp, progress)
                for r in range(runs):
                    cache = DocumentCache(Path(tmp) / f"cache{r}")
                    v = DossierViewer("vi", cache=cache)
                    v.resize(1200, 900)
                    v.show()
                    t0 = time.perf_counter()
                    v.open_document(wan, doc_id)
                    t_first = _wait(app, lambda v=v: "first_page" in v.timings)
                    t_all = _wait(app, lambda v=v: v.doc is not None)
                    _wait(app, lambda v=v: v._shown_generation == v._generation)
                    _wait(app, lambda v=v: v.thumbs.count() == 50)  # the first open is over
                    first.append((t_first - t0) * 1000)
                    whole.append((t_all - t0) * 1000)
                    for _ in range(2):
                        t0 = time.perf_counter()
                        v.open_document(wan, doc_id)
                        _wait(app, lambda v=v: v.doc is not None and v.from_cache)
                        t_shown = _wait(app, lambda v=v: v._shown_generation == v._generation)
                        reopen.append((t_shown - t0) * 1000)
                        if os.environ.get("LANDREC_BENCH_DEBUG"):
                            print({k: round((x - t0) * 1000, 1) for k, x in v.timings.items()})
                    v.close_connection()
                    v.deleteLater()
                    progress(
                        f"run {r + 1}: first page {first[-1]:.0f} ms, whole file "
                        f"{whole[-1]:.0f} ms, cached reopen {reopen[-1]:.0f} ms"
                    )
        finally:
            if doc_id is not None:
                owner.execute("DELETE FROM doc.document_link WHERE document_id = %s", (doc_id,))
                owner.execute("DELETE FROM doc.document WHERE id = %s", (doc_id,))
            owner.execute(
                "DELETE FROM doc_blob.blob b WHERE sha256 = %s AND NOT EXISTS "
                "(SELECT 1 FROM doc.document d WHERE d.sha256 = b.sha256)",
                (sha,),
            )
            _drop_person(owner, role)

    link = f"{rtt_ms:g} ms RTT / {mbit:g} Mbit/s" if mbit else f"{rtt_ms:g} ms RTT"
    med = statistics.median
    lines.append(
        f"landrec bench dossier — 50-page 300 dpi G4 TIFF, {len(data) / 2**20:.1f} MB,"
        f" proxy {link}, median of {runs} runs"
    )
    lines.append(f"{'case':<44}{'median':>10}{'target':>10}  ok")
    rows = [
        ("first page visible (cold, new connection)", med(first), 1000.0),
        ("whole file in, SHA-256 verified", med(whole), None),
        ("cached reopen, page 1 on screen", med(reopen), 150.0),
    ]
    for name, value, target in rows:
        ok = "" if target is None else ("yes" if value <= target else "NO")
        tgt = "—" if target is None else f"{target:.0f} ms"
        lines.append(f"{name:<44}{value:>7.0f} ms{tgt:>10}  {ok}")
    lines.append(f"upload, local (50 pages + renditions): {upload_s:.2f} s")
    for window, times in uploads.items():
        how = "one call per chunk" if window == 1 else f"pipelined, {window} chunks in flight"
        lines.append(
            f"{upload_mb} MB upload over the proxy ({how}): {med(times):.1f} s "
            f"(runs: {', '.join(f'{t:.1f}' for t in times)})"
        )
    if big:
        lines.append(
            f"{verify_mb} MB upload, local: {big[0]:.1f} s; server SHA-256 check at "
            f"finish: {big[1] * 1000:.0f} ms"
        )
    if export_pages > 0:  # local, no store: the viewer's streaming export (app.dossier.output)
        from app.bench.dossier_export import measure

        lines.extend(measure(export_pages, progress))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    print(
        run(
            resolve_dsn(args.dsn, args.store_dir),
            args.runs,
            args.rtt_ms,
            args.mbit or None,
            getattr(args, "verify_mb", 0),
            progress=lambda m: print(f"  {m}", flush=True),
            upload_mb=getattr(args, "upload_mb", 0),
            export_pages=getattr(args, "export_pages", 0),
        )
    )
    return 0
