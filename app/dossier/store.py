"""Scanned files in the central store (Qt-free): resumable chunked upload, verified download,
and the bounded local cache keyed by SHA-256.

Everything goes through the person's own connection and the api.* functions of migration
0012 (docs/dossiers.md); the database checks rights, area and classification.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from app.dossier.formats import (
    PDF,
    DossierFileError,
    FileInfo,
    check_file,
    open_document,
    renditions,
)

CHUNK_SIZE = 1 << 20
#: Chunks per read call after the first one (which is alone, so page 1 can show early).
READ_BATCH = 8
#: Chunks in flight per upload round trip (pipeline mode): 8 MiB of client memory, and at
#: 40 ms RTT / 100 Mbit/s a 40 ms pause per 670 ms of sending instead of one per 84 ms.
UPLOAD_WINDOW = 8

Progress = Callable[[int, int], None]  # (done, total) in bytes
Cancelled = Callable[[], bool]


class UploadCancelled(Exception):
    """The person stopped an upload; what was sent stays for a later resume."""


def sha256_file(path: str | os.PathLike[str], cancelled: Cancelled | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(4 << 20):
            if cancelled and cancelled():
                raise UploadCancelled
            h.update(block)
    return h.hexdigest()


def _raise_db(exc: psycopg.Error) -> None:
    """Server refusals become messages for the person (their text is already Vietnamese)."""
    diag = getattr(exc, "diag", None)
    msg = getattr(diag, "message_primary", None) if diag else None
    if msg and getattr(exc, "sqlstate", None) and not exc.sqlstate.startswith("08"):
        raise DossierFileError(msg) from exc
    raise exc


@dataclass
class UploadResult:
    sha256: str
    info: FileInfo
    deduplicated: bool  # the same bytes were already stored: nothing was sent
    resumed_from: int  # first chunk sent by this call
    chunks_sent: int


@dataclass
class DocumentFile:
    """A document's bytes as read so far (the viewer watches ``received``)."""

    info: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)


def _json(value: Any) -> Any:
    return value if not isinstance(value, str) else json.loads(value)


class DossierStore:
    """The dossier API on one connection (not thread-safe: one per worker)."""

    def __init__(self, conn: psycopg.Connection, chunk_size: int = CHUNK_SIZE) -> None:
        self.conn = conn
        self.chunk_size = chunk_size

    @classmethod
    @contextlib.contextmanager
    def connect(cls, dsn: str, chunk_size: int = CHUNK_SIZE) -> Iterator[DossierStore]:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=15) as conn:
            yield cls(conn, chunk_size)

    def _call(self, sql: str, params: tuple = ()) -> Any:
        try:
            row = self.conn.execute(sql, params).fetchone()
        except psycopg.Error as exc:
            _raise_db(exc)
        return None if row is None else row[0]

    # -- upload ------------------------------------------------------------------------
    def limits(self) -> dict[str, int]:
        return _json(self._call("SELECT api.dossier_limits()"))

    def upload(
        self,
        path: str | os.PathLike[str],
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        stop_after: int | None = None,
    ) -> UploadResult:
        """Store the file (checked first; the size limit before a byte is read) and return
        its SHA-256. An interrupted upload resumes from the first missing chunk on the next
        call; ``stop_after`` sends at most that many chunks then raises UploadCancelled."""
        max_bytes = int(self.limits()["max_bytes"])
        info = check_file(path, max_bytes)
        sha = sha256_file(path, cancelled)
        state = _json(
            self._call(
                "SELECT api.begin_upload(%s, %s, %s, %s, %s)",
                (sha, info.byte_size, info.media_type, self.chunk_size, Path(path).name),
            )
        )
        if state["status"] == "stored":
            return UploadResult(sha, info, True, 0, 0)
        first = int(state["next_seq"])
        count = int(state["chunk_count"])
        chunk = int(state["chunk_size"])
        if first == 0:  # renditions once, with the first chunk's session
            doc = open_document(Path(path).read_bytes(), info.media_type, Path(path).name)
            try:
                # Pipelined: one round trip per 16 pages instead of one a page.
                with self._pipelined() as pipe:
                    for n, (page, kind, w, h, png) in enumerate(
                        renditions(doc, screen=info.media_type == PDF), 1
                    ):
                        self.conn.execute(
                            "SELECT api.put_preview(%s, %s, %s, %s, %s, %s)",
                            (sha, page, kind, w, h, png),
                        )
                        if n % 16 == 0:
                            pipe.sync()
            finally:
                doc.close()
        with open(path, "rb") as fh:
            sent = self.send_chunks(
                fh, sha, first, count, chunk, info.byte_size, progress, cancelled, stop_after
            )
        done = _json(self._call("SELECT api.finish_upload(%s, %s)", (sha, info.page_count)))
        if not done["ok"]:
            raise DossierFileError(f"Tệp «{Path(path).name}»: {done['error']}")
        return UploadResult(sha, info, False, first, sent)

    @contextlib.contextmanager
    def _pipelined(self) -> Iterator[psycopg.Pipeline]:
        """Statements sent without waiting for each answer (psycopg pipeline mode); the
        exit waits for all of them, and a server refusal becomes the person's message."""
        try:
            with self.conn.pipeline() as pipe:
                yield pipe
        except psycopg.Error as exc:
            _raise_db(exc)

    def send_chunks(
        self,
        fh: BinaryIO,
        sha: str,
        first: int,
        count: int,
        chunk: int,
        total: int,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        stop_after: int | None = None,
        window: int = UPLOAD_WINDOW,
    ) -> int:
        """Send chunks ``first … count-1`` of an open upload, ``window`` in flight at once
        (psycopg pipeline mode: one round trip per window instead of one per chunk).

        The chunks of one window are one implicit transaction, committed by the Sync that
        closes it: after an interruption exactly the windows answered are stored, so the
        next ``begin_upload`` resumes from the first missing chunk (a chunk sent again
        replaces itself, so overlap is harmless). ``window=1`` is the old one-call-per-chunk
        behaviour (the benchmark compares both). Returns how many chunks were sent."""
        fh.seek(first * chunk)
        sent = 0
        seq = first
        while seq < count:
            stop = min(count, seq + max(1, window))
            if stop_after is not None:
                stop = min(stop, first + stop_after)
            if (cancelled and cancelled()) or seq >= stop:
                raise UploadCancelled
            with self._pipelined():
                while seq < stop:
                    if cancelled and cancelled():
                        break  # what is in flight is committed: the resume starts after it
                    self.conn.execute(
                        "SELECT api.put_chunk(%s, %s, %s)", (sha, seq, fh.read(chunk))
                    )
                    seq += 1
                    sent += 1
            if progress:
                progress(min(total, seq * chunk), total)
        return sent

    def abort_upload(self, sha256: str) -> bool:
        return bool(self._call("SELECT api.abort_upload(%s)", (sha256,)))

    def create_document(self, sha256: str, meta: dict[str, Any], links: list[dict]) -> int:
        return int(
            self._call(
                "SELECT api.create_document(%s, %s::jsonb, %s::jsonb)",
                (sha256, json.dumps(meta, default=str), json.dumps(links)),
            )
        )

    def supersede(self, document_id: int, sha256: str, meta: dict[str, Any] | None = None) -> int:
        return int(
            self._call(
                "SELECT api.supersede_document(%s, %s, %s::jsonb)",
                (document_id, sha256, json.dumps(meta or {}, default=str)),
            )
        )

    def replace_file(self, document_id: int, sha256: str) -> None:
        self._call("SELECT api.replace_document_file(%s, %s)", (document_id, sha256))

    def find_parcels(
        self, keys: list[tuple[str, int, int]]
    ) -> dict[tuple[str, int, int], list[int]]:
        """Parcels in force for (commune code, sheet, parcel number) keys, only in the
        person's area (checked by api.dossier_find_parcels with the dossier editor right:
        no cadastral read right needed). One round trip per 5000 keys."""
        found: dict[tuple[str, int, int], list[int]] = {k: [] for k in keys}
        unique = list(found)
        for i in range(0, len(unique), 5000):
            part = json.dumps([list(k) for k in unique[i : i + 5000]])
            try:
                rows = self.conn.execute(
                    "SELECT * FROM api.dossier_find_parcels(%s::jsonb)", (part,)
                ).fetchall()
            except psycopg.Error as exc:
                _raise_db(exc)
            for code, sheet, number, parcel_id in rows:
                found.setdefault((code, int(sheet), int(number)), []).append(int(parcel_id))
        return found

    def record_output(self, document_id: int, action: str, detail: dict[str, Any]) -> int:
        """Write the PRINT/EXPORT audit event of a stored document; raises if it cannot be
        written (the caller then does not print or write the file)."""
        return int(
            self._call(
                "SELECT api.dossier_record_output(%s, %s, %s::jsonb)",
                (document_id, action, json.dumps(detail)),
            )
        )

    # -- read --------------------------------------------------------------------------
    def info(self, document_id: int) -> dict[str, Any]:
        return _json(self._call("SELECT api.document_info(%s)", (document_id,)))

    def list_documents(self, **record: int) -> list[dict[str, Any]]:
        keys = ("parcel_id", "certificate_id", "party_id", "mutation_id")
        args = tuple(record.get(k) for k in keys)
        return _json(self._call("SELECT api.list_documents(%s, %s, %s, %s)", args))

    def previews(
        self, document_id: int, kind: str, first: int = 1, count: int = 1000
    ) -> list[tuple[int, int, int, bytes]]:
        try:
            rows = self.conn.execute(
                "SELECT page, width, height, data FROM api.read_previews(%s, %s, %s, %s)",
                (document_id, kind, first, count),
            ).fetchall()
        except psycopg.Error as exc:
            _raise_db(exc)
        return [(int(p), int(w), int(h), bytes(d)) for p, w, h, d in rows]

    def read_file(
        self,
        document_id: int,
        info: dict[str, Any] | None = None,
        on_bytes: Callable[[bytearray], None] | None = None,
        cancelled: Cancelled | None = None,
    ) -> bytes:
        """The document's bytes, in order; ``on_bytes(prefix)`` after each read (the first
        read is one chunk, so page 1 of a TIFF can show early). The SHA-256 is checked."""
        info = info or self.info(document_id)
        if not info.get("has_file"):
            raise DossierFileError(f"Hồ sơ {document_id} chưa có bản quét")
        count = int(info["chunk_count"])
        buf = bytearray()
        seq = 0
        while seq < count:
            if cancelled and cancelled():
                raise UploadCancelled
            n = 1 if seq == 0 else READ_BATCH
            try:
                rows = self.conn.execute(
                    "SELECT seq, data FROM api.read_chunks(%s, %s, %s)", (document_id, seq, n)
                ).fetchall()
            except psycopg.Error as exc:
                _raise_db(exc)
            if not rows:
                break
            for s, data in rows:
                if s != seq:
                    raise DossierFileError(f"Hồ sơ {document_id}: thiếu khối {seq} trên máy chủ")
                buf += data
                seq += 1
            if on_bytes:
                on_bytes(buf)
        if hashlib.sha256(buf).hexdigest() != info["sha256"] or len(buf) != info["byte_size"]:
            raise DossierFileError(
                f"Hồ sơ {document_id}: nội dung nhận được không khớp mã băm đã lưu "
                "(tệp trên máy chủ hoặc đường truyền bị lỗi); không hiển thị"
            )
        return bytes(buf)


# -- the local cache ------------------------------------------------------------------------
def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "landrec" / "dossiers"


class DocumentCache:
    """Files by SHA-256 under the user's cache dir, at most ``max_bytes`` (least recently
    used go first). Restricted (han_che) files are listed in ``restricted.json`` and wiped
    by :meth:`wipe_restricted` at sign-out (and when a new process opens the cache, in case
    the last one ended without signing out)."""

    def __init__(self, root: Path | None = None, max_bytes: int = 2 << 30) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.root, 0o700)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256

    def _restricted(self) -> set[str]:
        try:
            return set(json.loads((self.root / "restricted.json").read_text()))
        except (OSError, ValueError):
            return set()

    def _save_restricted(self, hashes: set[str]) -> None:
        tmp = self.root / "restricted.json.tmp"
        tmp.write_text(json.dumps(sorted(hashes)))
        tmp.replace(self.root / "restricted.json")

    def get(self, sha256: str) -> bytes | None:
        p = self._path(sha256)
        try:
            data = p.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:  # damaged on disk: forget it
            p.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(p)
        return data

    def put(self, sha256: str, data: bytes, restricted: bool = False) -> None:
        if len(data) > self.max_bytes:
            return
        p = self._path(sha256)
        with self._lock:
            if restricted:
                self._save_restricted(self._restricted() | {sha256})
            p.parent.mkdir(exist_ok=True)
            tmp = p.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.chmod(tmp, 0o600)
            tmp.replace(p)
            self._evict()

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        for p in self.root.glob("??/*"):
            if p.suffix:
                continue
            with contextlib.suppress(OSError):
                st = p.stat()
                out.append((st.st_mtime, st.st_size, p))
        return sorted(out)

    def _evict(self) -> None:
        entries = self._entries()
        total = sum(e[1] for e in entries)
        for _mtime, size, p in entries:
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size

    def size(self) -> int:
        return sum(e[1] for e in self._entries())

    def wipe_restricted(self) -> int:
        """Delete every restricted file; returns how many went."""
        with self._lock:
            hashes = self._restricted()
            n = 0
            for h in hashes:
                p = self._path(h)
                if p.exists():
                    p.unlink()
                    n += 1
            self._save_restricted(set())
            return n


_shared: DocumentCache | None = None


def shared_cache() -> DocumentCache:
    """The process's cache; its first use wipes restricted files a crashed session left."""
    global _shared
    if _shared is None:
        _shared = DocumentCache()
        _shared.wipe_restricted()
    return _shared


def wipe_on_sign_out() -> None:
    """Call when the person signs out (app/ui/app.py) — restricted scans leave the disk."""
    if _shared is not None:
        _shared.wipe_restricted()


def open_cached(
    store: DossierStore,
    document_id: int,
    cache: DocumentCache,
    on_bytes: Callable[[bytearray], None] | None = None,
) -> tuple[dict[str, Any], bytes, bool]:
    """(info, bytes, from_cache): one small call for the metadata, then the cache or the
    server; the bytes are verified either way."""
    info = store.info(document_id)
    if not info.get("may_read_bytes", True):
        raise DossierFileError(
            f"Hồ sơ quét {document_id} thuộc loại hạn chế: tài khoản không có quyền xem nội dung"
        )
    if info.get("sha256"):
        data = cache.get(info["sha256"])
        if data is not None:
            return info, data, True
    data = store.read_file(document_id, info, on_bytes)
    cache.put(info["sha256"], data, restricted=info.get("classification") == "han_che")
    return info, data, False


def now_ms() -> float:
    return time.perf_counter() * 1000
