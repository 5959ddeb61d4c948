"""Qt views of the scanned-dossier subsystem (imported only when a command is used).

* :class:`DossierViewer` — thumbnail strip, page navigation, zoom (fit width, fit page,
  wheel, 1:1), rotate, pan, brightness/contrast, print and export of a page range. The file
  arrives on a loader thread (stored page renditions first, then the chunks in order: a
  TIFF's page 1 shows as soon as its bytes are in), pages are decoded and levelled on a
  render thread, and the bounded local cache makes a reopen instant.
* :class:`AttachDialog` — attach scans to the selected parcel, a certificate or a change set.
* :class:`BatchImportDialog` — a folder of scans named by the import convention, with a
  report of unmatched and duplicate files.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from PySide6.QtCore import QDate, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.dossier import formats, output
from app.dossier.store import DocumentCache, DossierStore, UploadCancelled, shared_cache
from app.dossier.versions import chain_text, version_chain, vn_date
from app.dossier.viewer_model import ViewerModel, parse_page_range
from app.plugin import AppContext, Text

T_VIEWER = Text("Xem hồ sơ quét", "Scanned document viewer")
T_LOADING = Text("Đang tải hồ sơ… {done} / {total}", "Loading… {done} / {total}")
T_READY = Text("Trang {page}/{pages} · {name}", "Page {page}/{pages} · {name}")
T_PAGE = Text("Trang {page}", "Page {page}")
T_CLOSE = Text("Đóng", "Close")
T_OK = Text("Đồng ý", "OK")
T_CANCEL_Q = Text("Hủy", "Cancel")
T_PATTERN_HINT = Text(
    "<commune>: mã xã (5 chữ số) · <sheet>: số tờ · <parcel>: số thửa · <type>: loại hồ sơ "
    "(GCN, DDK, HD, BV, QD, TL, KHAC) · <number>: số hiệu · <any>: phần bỏ qua",
    "<commune>: commune code (5 digits) · <sheet>: sheet number · <parcel>: parcel number · "
    "<type>: document type (GCN, DDK, HD, BV, QD, TL, KHAC) · <number>: document number · "
    "<any>: ignored part",
)
T_CACHED = Text(" (bản lưu trên máy)", " (from the local cache)")
T_FAILED = Text("Không mở được hồ sơ: {error}", "Cannot open the document: {error}")
T_PREV = Text("Trang trước", "Previous page")
T_NEXT = Text("Trang sau", "Next page")
T_FIT_W = Text("Vừa chiều rộng", "Fit width")
T_FIT_P = Text("Vừa trang", "Fit page")
T_ACTUAL = Text("1:1", "1:1")
T_ROT_L = Text("Xoay trái", "Rotate left")
T_ROT_R = Text("Xoay phải", "Rotate right")
T_BRIGHT = Text("Độ sáng", "Brightness")
T_CONTRAST = Text("Tương phản", "Contrast")
T_PRINT = Text("In…", "Print…")
T_EXPORT = Text("Xuất trang…", "Export pages…")
T_RANGE = Text("Trang cần xuất (ví dụ 1-3, 5):", "Pages to export (e.g. 1-3, 5):")
T_EXPORTED = Text("Đã xuất {n} trang ra {path}", "Exported {n} pages to {path}")
T_EXPORT_LOG = Text(
    "Không xuất được: không ghi được nhật ký kiểm toán ({error}). Chưa có tệp nào được ghi.",
    "Not exported: the audit event could not be written ({error}). No file was written.",
)
T_PRINT_LOG = Text(
    "Không in được: không ghi được nhật ký kiểm toán ({error}). Chưa gửi gì tới máy in.",
    "Not printed: the audit event could not be written ({error}). Nothing was sent to print.",
)
T_PRINTER = Text("Không mở được máy in", "Cannot open the printer")
T_PRINTED = Text("Đã gửi {n} trang tới máy in", "Sent {n} pages to the printer")
T_OUTPUT_BUSY = Text("Đang chuẩn bị trang… {done} / {total}", "Preparing pages… {done} / {total}")
T_PRINT_CANCELLED = Text(
    "Đã hủy: đã gửi {n}/{m} trang tới máy in.", "Cancelled: sent {n}/{m} pages to the printer."
)
T_OUTPUT_CANCELLED = Text(
    "Đã hủy: không có tệp nào được ghi, không gửi gì tới máy in.",
    "Cancelled: no file was written, nothing was sent to print.",
)
T_DOC_CLOSED = Text(
    "Hồ sơ đã được đóng trong lúc chuẩn bị trang.", "The document was closed meanwhile."
)
T_SUPERSEDE = Text("Thay thế bằng phiên bản mới…", "Replace with a new version…")
T_REPLACE = Text("Sửa tệp quét (thay tại chỗ)…", "Fix the scan (replace in place)…")
T_SUPERSEDED = Text(" · đã có bản mới", " · superseded")
T_FROZEN = Text(
    "Hồ sơ thuộc biến động {mutation} đã được phê duyệt: chỉ có thể tạo phiên bản mới.",
    "The document belongs to approved change set {mutation}: only a new version is possible.",
)
T_SUPERSEDE_INTRO = Text(
    "Tạo phiên bản {next} cho «{doc}» (mã {id}, phiên bản {version}). Bản cũ vẫn xem được "
    "và trỏ tới bản mới; các liên kết được giữ nguyên.",
    "Create version {next} of “{doc}” (id {id}, version {version}). The old one stays "
    "readable and points to the new one; the links are kept.",
)
T_REPLACE_INTRO = Text(
    "Thay tệp quét của «{doc}» (mã {id}) tại chỗ — chỉ dùng để sửa bản quét lỗi trước khi "
    "hồ sơ được phê duyệt.",
    "Replace the file of “{doc}” (id {id}) in place — only to fix a bad scan before the "
    "document is approved.",
)
T_FILE = Text("Chọn tệp…", "Choose a file…")
T_SCANS = Text("Bản quét", "Scans")
T_NEED_FILE = Text("Hãy chọn tệp bản quét mới.", "Choose the new scan first.")
T_SUPERSEDED_OK = Text("Đã tạo phiên bản mới (mã hồ sơ {id}).", "New version stored (id {id}).")
T_REPLACED_OK = Text("Đã thay tệp của hồ sơ {id}.", "File of document {id} replaced.")
T_NO_DOC = Text("Chưa chọn hồ sơ nào", "No document selected")
T_NEED_PARCEL = Text(
    "Hãy chọn một thửa đất trên bản đồ trước.", "Select a parcel on the map first."
)
T_DOCS_OF = Text("Hồ sơ quét của thửa {parcel}", "Scanned documents of parcel {parcel}")
T_ATTACH = Text("Gắn hồ sơ quét", "Attach scanned documents")
T_FILES = Text("Chọn tệp…", "Choose files…")
T_UPLOAD = Text("Tải lên", "Upload")
T_CANCEL = Text("Dừng", "Stop")
T_UPLOADED = Text("Đã lưu {n} tệp (mã hồ sơ {ids})", "Stored {n} files (document ids {ids})")
T_STOPPED = Text("Đã dừng; lần sau sẽ tải tiếp từ khối đã lưu.", "Stopped; the next try resumes.")
T_IMPORT = Text("Nhập hồ sơ quét theo thư mục", "Import a folder of scans")
T_FOLDER = Text("Chọn thư mục…", "Choose folder…")
T_PATTERN = Text("Mẫu tên tệp", "File name pattern")
T_START = Text("Nhập", "Import")

DOC_TYPES = (
    ("giay_chung_nhan", Text("Giấy chứng nhận", "Certificate")),
    ("don_dang_ky", Text("Đơn đăng ký", "Application")),
    ("hop_dong", Text("Hợp đồng", "Contract")),
    ("ban_ve", Text("Bản vẽ", "Drawing")),
    ("quyet_dinh", Text("Quyết định", "Decision")),
    ("trich_luc", Text("Trích lục", "Cadastral extract")),
    ("khac", Text("Khác", "Other")),
)
TARGETS = (
    ("parcel_id", Text("Thửa đất (mã)", "Parcel (id)")),
    ("certificate_id", Text("Giấy chứng nhận (mã)", "Certificate (id)")),
    ("mutation_id", Text("Biến động (mã)", "Change set (id)")),
)
CLASSES = (
    ("noi_bo", Text("Nội bộ", "Internal")),
    ("cong_khai", Text("Công khai", "Public")),
    ("han_che", Text("Hạn chế", "Restricted")),
)


def pil_to_qimage(im) -> QImage:
    """A deep copy, so the QImage outlives the Pillow buffer (safe on any thread)."""
    if im.mode == "1":
        im = im.convert("L")
    if im.mode == "L":
        fmt, bpp = QImage.Format.Format_Grayscale8, 1
    else:
        im = im.convert("RGB")
        fmt, bpp = QImage.Format.Format_RGB888, 3
    data = im.tobytes()
    return QImage(data, im.width, im.height, im.width * bpp, fmt).copy()


def qimage_to_pil(img: QImage):
    from PIL import Image

    img = img.convertToFormat(QImage.Format.Format_Grayscale8)
    ptr = img.constBits()
    raw = bytes(ptr)[: img.bytesPerLine() * img.height()]
    return Image.frombytes("L", (img.width(), img.height()), raw, "raw", "L", img.bytesPerLine())


# --- the page canvas -----------------------------------------------------------------------
class PageView(QWidget):
    """Draws the current page at the model's zoom; wheel zooms, dragging pans."""

    zoomed = Signal()
    resized = Signal()

    def __init__(self, model: ViewerModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dossierPage")
        self.model = model
        self.image: QImage | None = None
        self._drag: QPointF | None = None
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_image(self, image: QImage | None, image_scale: float = 1.0) -> None:
        """``image`` is the page (rotated) already reduced by ``image_scale`` — the render
        thread draws at screen size, so painting never scales a 300 dpi page."""
        self.image = image
        self.image_scale = image_scale
        self.update()

    def native_size(self) -> tuple[float, float]:
        if self.image is None:
            return 0.0, 0.0
        return self.image.width() / self.image_scale, self.image.height() / self.image_scale

    def scale(self) -> float:
        if self.image is None:
            return 1.0
        # The image is already rotated: size it as it is.
        m = self.model
        rot, m.rotation = m.rotation, 0
        try:
            w, h = self.native_size()
            return m.effective_scale(round(w), round(h), self.width(), self.height())
        finally:
            m.rotation = rot

    def shown_size(self) -> tuple[int, int]:
        if self.image is None:
            return 0, 0
        s = self.scale()
        w, h = self.native_size()
        return round(w * s), round(h * s)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.darkGray)
        if self.image is not None:
            w, h = self.shown_size()
            x = max(0, (self.width() - w) // 2) - (self.model.pan_x if w > self.width() else 0)
            y = max(0, (self.height() - h) // 2) - (self.model.pan_y if h > self.height() else 0)
            smooth = (w, h) != (self.image.width(), self.image.height())
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            p.drawImage(QRectF(x, y, w, h), self.image)
        p.end()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.model.zoom_wheel(steps, self.scale())
            self.zoomed.emit()
            self.update()

    def mousePressEvent(self, event) -> None:
        self._drag = event.position()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            return
        d = event.position() - self._drag
        self._drag = event.position()
        w, h = self.shown_size()
        self.model.pan(d.x(), d.y(), w, h, self.width(), self.height())
        self.update()

    def mouseReleaseEvent(self, _event) -> None:
        self._drag = None


# --- loading and rendering off the UI thread ----------------------------------------------
_quit_hooked = False


def _wipe_at_quit() -> None:
    """Restricted scans leave the disk when the application ends, besides the sign-out
    hook (signed_out) and the wipe when the next process opens the cache."""
    global _quit_hooked
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance()
    if app is not None and not _quit_hooked:
        app.aboutToQuit.connect(signed_out)
        _quit_hooked = True


class _Signals(QObject):
    thumbs = Signal(object)  # list[(page, QImage)]
    early_page = Signal(object)  # QImage of page 1 (rendition or decoded from a prefix)
    progress = Signal(int, int)
    loaded = Signal(object, object, bool)  # info, bytes, from_cache
    failed = Signal(str)
    rendered = Signal(int, object)  # generation, QImage
    output_progress = Signal(int, int)  # steps done, steps
    output_finished = Signal(object, object)  # result, None | "" (cancelled) | message


class OutputCancelled(Exception):
    """The person cancelled an export or print before its audit event."""


class PrintCancelled(OutputCancelled):
    """The person cancelled a print run after ``sent`` of ``total`` pages went out."""

    def __init__(self, sent: int, total: int, note: str = "") -> None:
        super().__init__(sent, total)
        self.sent, self.total, self.note = sent, total, note


class DossierViewer(QWidget):
    """The viewer. ``open_document(dsn, id)`` reads from the store; ``show_bytes`` shows a
    local file (the attach dialog's preview, tests)."""

    output_finished = Signal(bool)  # an export/print ended: True when it was done

    def __init__(
        self, lang: str = "vi", cache: DocumentCache | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dossierViewer")
        self.lang = lang
        self.cache = cache
        self.model = ViewerModel()
        self.doc: formats.Document | None = None
        self.info: dict[str, Any] = {}
        self.data: bytes | None = None
        self.from_cache = False
        self.timings: dict[str, float] = {}
        self._sig = _Signals()
        self._sig.thumbs.connect(self._on_thumbs)
        self._sig.early_page.connect(self._on_early_page)
        self._sig.progress.connect(self._on_progress)
        self._sig.loaded.connect(self._on_loaded)
        self._sig.failed.connect(self._on_failed)
        self._sig.rendered.connect(self._on_rendered)
        self._sig.output_progress.connect(self._on_output_progress)
        self._sig.output_finished.connect(self._on_output_finished)
        self.output_progress: QProgressDialog | None = None
        self._output_done_text: Callable[[Any], str] = str
        self.quiet_errors = False  # tests read the status line instead of a message box
        self._generation = 0
        self._shown_generation = -1
        self._thumbs_sha: str | None = None
        self._load_generation = 0
        self._pages: OrderedDict[int, Any] = OrderedDict()  # decoded pages (PIL), LRU
        self._render_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._store: DossierStore | None = None
        self._store_dsn = ""
        self._build()
        _wipe_at_quit()

    def t(self, text: Text) -> str:
        return text.get(self.lang)

    def _button(
        self,
        bar: QHBoxLayout,
        text: Text,
        slot: Callable[[], None],
        name: str,
        symbol: str | None = None,
    ):
        """A toolbar button; ``symbol`` (an arrow) replaces the words on the button, which
        stay in the tooltip: the toolbar then fits a 1366 px laptop screen beside the list."""
        b = QToolButton()
        b.setText(symbol or self.t(text))
        b.setToolTip(self.t(text))
        b.setObjectName(name)
        b.clicked.connect(slot)
        bar.addWidget(b)
        return b

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self._button(bar, T_PREV, self.previous_page, "prevPage", "◀")
        self.page_spin = QSpinBox()
        self.page_spin.setObjectName("pageSpin")
        self.page_spin.setRange(1, 1)
        self.page_spin.valueChanged.connect(lambda v: self.go_to(v - 1))
        bar.addWidget(self.page_spin)
        self.page_total = QLabel("/ 0")
        bar.addWidget(self.page_total)
        self._button(bar, T_NEXT, self.next_page, "nextPage", "▶")
        self._button(bar, T_FIT_W, self.fit_width, "fitWidth")
        self._button(bar, T_FIT_P, self.fit_page, "fitPage")
        self._button(bar, T_ACTUAL, self.actual_size, "actualSize")
        self._button(bar, T_ROT_L, lambda: self.rotate(False), "rotateLeft", "↺")
        self._button(bar, T_ROT_R, lambda: self.rotate(True), "rotateRight", "↻")
        bar.addWidget(QLabel(self.t(T_BRIGHT)))
        self.brightness = QSlider(Qt.Orientation.Horizontal)
        self.brightness.setObjectName("brightness")
        self.contrast = QSlider(Qt.Orientation.Horizontal)
        self.contrast.setObjectName("contrast")
        for s in (self.brightness, self.contrast):
            s.setRange(-100, 100)
            s.setFixedWidth(80)
            s.valueChanged.connect(self._levels_changed)
        bar.addWidget(self.brightness)
        bar.addWidget(QLabel(self.t(T_CONTRAST)))
        bar.addWidget(self.contrast)
        self._button(bar, T_PRINT, self.print_dialog, "print")
        self._button(bar, T_EXPORT, self.export_dialog, "export")
        bar.addStretch(1)
        layout.addLayout(bar)

        split = QHBoxLayout()  # the strip has a fixed width: nothing to split
        self.thumbs = QListWidget()
        self.thumbs.setObjectName("thumbnails")
        self.thumbs.setIconSize(QSize(96, 128))
        # Icon above "Trang n", one column: the strip is as wide as a thumbnail.
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setFlow(QListView.Flow.TopToBottom)
        self.thumbs.setWrapping(False)
        self.thumbs.setMovement(QListView.Movement.Static)
        self.thumbs.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbs.setGridSize(QSize(120, 160))
        self.thumbs.setSpacing(2)
        self.thumbs.setFixedWidth(140)
        self.thumbs.currentRowChanged.connect(lambda r: r >= 0 and self.go_to(r))
        split.addWidget(self.thumbs)
        self.view = PageView(self.model)
        self.view.zoomed.connect(self._rescaled)
        self.view.resized.connect(self._rescaled)
        split.addWidget(self.view, 1)

        layout.addLayout(split, 1)
        self.status = QLabel(self.t(T_NO_DOC))
        self.status.setObjectName("dossierStatus")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.progress)
        layout.addLayout(row)

    # -- opening -------------------------------------------------------------------------
    def open_document(self, dsn: str, document_id: int) -> None:
        """Read on a loader thread: renditions first, then the file (cache or store)."""
        import time

        self._reset()
        gen = self._load_generation
        t0 = time.perf_counter()
        self.timings = {"start": t0}
        sig = self._sig
        cache = self.cache if self.cache is not None else shared_cache()
        view_size, mode = (self.view.width(), self.view.height()), self.model.mode

        def load(st: DossierStore) -> None:
            info = st.info(document_id)
            self.timings["info"] = time.perf_counter()
            if not info.get("has_file"):
                raise formats.DossierFileError(
                    f"Hồ sơ {document_id} chưa có bản quét (chỉ có thông tin)"
                )
            if not info.get("may_read_bytes", True):
                raise formats.DossierFileError(
                    f"Hồ sơ quét {document_id} thuộc loại hạn chế: tài khoản không "
                    "có quyền xem nội dung"
                )
            cached = cache.get(info["sha256"])
            if cached is not None:
                self.timings["cache"] = time.perf_counter()
                sig.loaded.emit(info, cached, True)
                if info.get("previews") and self._thumbs_sha != info["sha256"]:
                    thumbs = st.previews(document_id, "thumb")
                    sig.thumbs.emit([(p, _png_qimage(d)) for p, _w, _h, d in thumbs])
                return
            if info["media_type"] == formats.PDF and info.get("previews"):
                # pdfium needs the whole PDF: page 1's rendition comes first.
                first = st.previews(document_id, "screen", 1, 1)
                if first and gen == self._load_generation:
                    sig.early_page.emit((_png_qimage(first[0][3]), 1.0))
            shown = [False]

            def on_bytes(buf: bytearray) -> None:
                sig.progress.emit(len(buf), int(info["byte_size"]))
                if not shown[0] and info["media_type"] != formats.PDF:
                    page = formats.first_page_from_prefix(bytes(buf), info["media_type"])
                    if page is not None:
                        shown[0] = True
                        small, factor = screen_image(page, ViewerModel(mode=mode), *view_size)
                        sig.early_page.emit((pil_to_qimage(small), factor))
                if gen != self._load_generation:
                    raise UploadCancelled

            data = st.read_file(document_id, info, on_bytes)
            cache.put(info["sha256"], data, info.get("classification") == "han_che")
            sig.loaded.emit(info, data, False)
            if info.get("previews") and self._thumbs_sha != info["sha256"]:
                thumbs = st.previews(document_id, "thumb")
                sig.thumbs.emit([(p, _png_qimage(d)) for p, _w, _h, d in thumbs])

        def work() -> None:
            # One connection per viewer, kept open: a reopen then costs one round trip
            # (the rights check) instead of a new TLS/SCRAM handshake of several.
            with self._conn_lock:
                try:
                    if self._store is None or self._store.conn.closed or self._store_dsn != dsn:
                        self.close_connection()
                        self._store = DossierStore(
                            psycopg.connect(dsn, autocommit=True, connect_timeout=15)
                        )
                        self._store_dsn = dsn
                    load(self._store)
                except UploadCancelled:
                    return
                except psycopg.OperationalError as exc:
                    self.close_connection()  # the next open reconnects
                    sig.failed.emit(str(exc))
                except Exception as exc:
                    sig.failed.emit(str(exc))

        threading.Thread(target=work, name="dossier-load", daemon=True).start()

    def close_connection(self) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.conn.close()
            self._store = None

    def release(self) -> None:
        """Stop loading, close the decoded file now (under the render lock: a page being
        decoded finishes first) and the connection on a thread (a load may hold it)."""
        self._load_generation += 1
        self._generation += 1
        if self.doc is not None:
            old, self.doc = self.doc, None
            with self._render_lock:
                old.close()
            self._pages.clear()
        threading.Thread(target=self._close_later, daemon=True).start()

    def closeEvent(self, event) -> None:
        self.release()
        super().closeEvent(event)

    def _close_later(self) -> None:
        with self._conn_lock:
            self.close_connection()

    def show_bytes(self, data: bytes, name: str = "", media_type: str | None = None) -> None:
        self._reset()
        info = {"original_name": name, "media_type": media_type or formats.detect(data[:16])}
        self._on_loaded(info, data, False)

    def _reset(self) -> None:
        self._generation += 1
        self._load_generation += 1
        if self.doc is not None:
            old, self.doc = self.doc, None
            with self._render_lock:  # the render thread may still be on it
                old.close()
        self.data = None
        self._pages.clear()
        self.model = ViewerModel(mode=self.model.mode)
        self.view.model = self.model
        self.view.set_image(None)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(
            self.t(T_LOADING).format(
                done=formats.size_text(done, self.lang), total=formats.size_text(total, self.lang)
            )
        )

    def _on_early_page(self, early: tuple[QImage, float]) -> None:
        import time

        if self.doc is None:  # the real page may already be there
            self.timings.setdefault("first_page", time.perf_counter())
            self.view.set_image(*early)

    def _on_thumbs(self, items: list) -> None:
        if self.thumbs.count():
            return
        self._thumbs_sha = self.info.get("sha256")
        for page, img in items:
            it = QListWidgetItem(QIcon(QPixmap.fromImage(img)), self.t(T_PAGE).format(page=page))
            it.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.thumbs.addItem(it)

    def _on_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.status.setText(self.t(T_FAILED).format(error=message))

    def _on_loaded(self, info: dict, data: bytes, from_cache: bool) -> None:
        import time

        self.progress.setVisible(False)
        try:
            doc = formats.open_document(
                data, info.get("media_type"), info.get("original_name", ""), info.get("page_count")
            )
        except formats.DossierFileError as exc:
            self._on_failed(str(exc))
            return
        if info.get("sha256") is None or info.get("sha256") != self._thumbs_sha:
            self.thumbs.clear()  # another file: its own thumbnails will come
            self._thumbs_sha = None
        self.info, self.data, self.doc, self.from_cache = info, data, doc, from_cache
        self.model.page_count = doc.page_count
        self.model.page = 0
        self.page_spin.blockSignals(True)
        self.page_spin.setRange(1, doc.page_count)
        self.page_spin.setValue(1)
        self.page_spin.blockSignals(False)
        self.page_total.setText(f"/ {doc.page_count}")
        self.timings["loaded"] = time.perf_counter()
        if not self.thumbs.count() and not info.get("previews"):
            self._render_thumbs_locally()
        self._render()

    def _render_thumbs_locally(self) -> None:
        doc, gen, sig = self.doc, self._load_generation, self._sig

        def work() -> None:
            items = []
            for i in range(doc.page_count):
                with self._render_lock:
                    if gen != self._load_generation:  # another file: this one is closed
                        return
                    im = doc.page(i, 0.1 if isinstance(doc, formats.PdfDocument) else 1.0)
                im = im.convert("L") if im.mode in ("1", "L") else im.convert("RGB")
                im.thumbnail((formats.THUMB_PX, formats.THUMB_PX))
                items.append((i + 1, pil_to_qimage(im)))
            sig.thumbs.emit(items)

        threading.Thread(target=work, name="dossier-thumbs", daemon=True).start()

    # -- rendering (render thread) ------------------------------------------------------
    def _render(self) -> None:
        if self.doc is None:
            return
        self._generation += 1
        gen = self._generation
        doc, page = self.doc, self.model.page
        model = ViewerModel(**vars(self.model))  # a snapshot for the thread
        view_size = (self.view.width(), self.view.height())

        def work() -> None:
            try:
                with self._render_lock:
                    if doc is not self.doc:  # another file: this one is closed
                        return
                    im = self._pages.get(page)
                    if im is None:
                        im = doc.page(page)
                        self._pages[page] = im
                        while len(self._pages) > 6:
                            self._pages.popitem(last=False)
                    else:
                        self._pages.move_to_end(page)
                shown, factor = screen_image(im, model, *view_size)
                img = pil_to_qimage(shown)
            except Exception as exc:
                self._sig.failed.emit(str(exc))
                return
            self._sig.rendered.emit(gen, (img, factor))

        threading.Thread(target=work, name="dossier-render", daemon=True).start()

    def _on_rendered(self, gen: int, rendered: tuple[QImage, float]) -> None:
        import time

        if gen != self._generation:
            return  # a newer request is on its way
        self._shown_generation = gen
        self.timings.setdefault("first_page", time.perf_counter())
        self.timings["rendered"] = time.perf_counter()
        self.view.set_image(*rendered)
        self._update_status()

    def _rescaled(self) -> None:
        """The shown size changed: show the current image stretched at once, and render
        the page again at the new size (off the UI thread)."""
        self.view.update()
        self._update_status()
        if self.doc is not None:
            self._render()

    def _update_status(self) -> None:
        if self.doc is None:
            return
        name = self.info.get("original_name") or ""
        text = self.t(T_READY).format(
            page=self.model.page + 1, pages=self.doc.page_count, name=name
        )
        if self.info.get("byte_size"):
            text += f" · {formats.size_text(int(self.info['byte_size']), self.lang)}"
        if self.from_cache:
            text += self.t(T_CACHED)
        self.status.setText(f"{text} · {round(self.view.scale() * 100)}%")

    # -- commands ------------------------------------------------------------------------
    def go_to(self, page: int) -> None:
        if self.model.go(page):
            self.page_spin.blockSignals(True)
            self.page_spin.setValue(self.model.page + 1)
            self.page_spin.blockSignals(False)
            self.thumbs.blockSignals(True)
            self.thumbs.setCurrentRow(self.model.page)
            self.thumbs.blockSignals(False)
            self._render()

    def next_page(self) -> None:
        self.go_to(self.model.page + 1)

    def previous_page(self) -> None:
        self.go_to(self.model.page - 1)

    def fit_width(self) -> None:
        self.model.fit_width()
        self._rescaled()

    def fit_page(self) -> None:
        self.model.fit_page()
        self._rescaled()

    def actual_size(self) -> None:
        self.model.actual_size()
        self._rescaled()

    def rotate(self, clockwise: bool = True) -> None:
        self.model.rotate(clockwise)
        self._render()

    def _levels_changed(self) -> None:
        self.model.set_levels(self.brightness.value(), self.contrast.value())
        self._render()

    def page_images(
        self,
        pages: list[int],
        doc: formats.Document | None = None,
        model: ViewerModel | None = None,
        progress: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator:
        """Pages (0-based) as Pillow images with the rotation and levels of ``model`` (the
        viewer's own by default), decoded one at a time as they are asked for: print and
        export hold one page, not the range (300 pages at 300 dpi would be ~2.5 GB). Safe
        on a worker thread given snapshots of ``doc`` and ``model``: the UI thread may
        rotate, or open another file, meanwhile. ``progress`` gets pages prepared."""
        doc = doc if doc is not None else self.doc
        model = model if model is not None else self.model
        assert doc is not None
        for n, i in enumerate(pages):
            if cancelled is not None and cancelled():
                raise OutputCancelled
            with self._render_lock:
                if doc is not self.doc:  # another file was opened: this one is closed
                    raise formats.DossierFileError(self.t(T_DOC_CLOSED))
                im = doc.page(i)
            im = model.apply(im)
            if progress is not None:
                progress(n + 1)
            yield im
            del im  # not kept while the consumer asks for the next page

    def export_pages(
        self,
        pages: list[int],
        path: str | Path,
        doc: formats.Document | None = None,
        model: ViewerModel | None = None,
        info: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Path:
        """Write pages to a PDF (or a multi-page G4 TIFF when the name says .tif), one page
        decoded at a time (app.dossier.output). For a stored document the EXPORT audit
        event is part of the operation: the file is written to a temporary name, and only
        renamed into place once the event is stored; if it cannot be stored, or the person
        cancels, nothing is left (DossierFileError / OutputCancelled). Runs on a worker
        thread from :meth:`start_export` (``progress`` gets pages done, then len(pages) + 1
        once the file is in place; ``cancelled`` is asked between pages and before the
        event)."""
        path = Path(path)
        part = path.with_name(f".{path.name}.part")
        try:
            try:
                output.write_pages(
                    part,
                    len(pages),
                    self.page_images(pages, doc, model, progress),
                    cancelled,
                    tiff=output.is_tiff_name(path),  # the .part name does not say
                )
            except output.Cancelled:
                raise OutputCancelled from None
            if cancelled is not None and cancelled():
                raise OutputCancelled  # before the event: nothing happened
            self._record_output(
                "EXPORT", {"pages": [p + 1 for p in pages], "file": path.name}, T_EXPORT_LOG, info
            )
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
        if progress is not None:
            progress(len(pages) + 1)
        return path

    def print_pages(
        self,
        printer,
        pages: list[int],
        doc: formats.Document | None = None,
        model: ViewerModel | None = None,
        info: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> int:
        """Paint pages on a QPrinter (a real printer, or a PDF file in tests), rendering one
        page at a time. For a stored document the PRINT audit event is stored first; if it
        cannot be, nothing prints. Runs on a worker thread from :meth:`start_print` (Qt
        allows QPainter on a QPrinter outside the GUI thread); ``progress`` counts pages
        sent. Cancelling before the event sends nothing (OutputCancelled); once printing,
        it stops after the page being painted: the pages already painted go to the printer
        (a spooler cannot take back what it has), a second PRINT event records
        ``{"cancelled": true, "sent": [...], "requested": [...]}`` and PrintCancelled says
        how many went out."""
        if cancelled is not None and cancelled():
            raise OutputCancelled
        numbers = [p + 1 for p in pages]
        self._record_output("PRINT", {"pages": numbers}, T_PRINT_LOG, info)
        painter = QPainter()
        if not painter.begin(printer):
            raise formats.DossierFileError(self.t(T_PRINTER))
        sent = 0
        try:
            for im in self.page_images(pages, doc, model):
                if sent and cancelled is not None and cancelled():
                    break
                if sent:
                    printer.newPage()
                img = pil_to_qimage(im)
                del im  # the page lives on as the QImage only while it is painted
                area = painter.viewport()
                size = img.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.drawImage(QRectF(0, 0, size.width(), size.height()), img)
                del img
                sent += 1
                if progress is not None:
                    progress(sent)
        finally:
            painter.end()
        if sent < len(pages):
            note = ""
            try:
                self._record_output(
                    "PRINT",
                    {"cancelled": True, "sent": numbers[:sent], "requested": numbers},
                    T_PRINT_LOG,
                    info,
                )
            except formats.DossierFileError as exc:
                note = " " + str(exc)
            raise PrintCancelled(sent, len(pages), note)
        return len(pages)

    def _record_output(
        self, action: str, detail: dict, refusal: Text, info: dict[str, Any] | None = None
    ) -> None:
        """Store the PRINT/EXPORT event of a stored document (api.dossier_record_output:
        the database checks the person may read the bytes). A local file (attach preview)
        has no document id and nothing to record. Raises DossierFileError on failure.
        ``info``: the document's as it was when the output started."""
        doc_id = (info if info is not None else self.info).get("id")
        if doc_id is None:
            return
        dsn = getattr(self, "dsn", None) or self._store_dsn
        try:
            with self._conn_lock:  # the viewer's open connection: one round trip
                if self._store is not None and not self._store.conn.closed:
                    self._store.record_output(int(doc_id), action, detail)
                    return
            with DossierStore.connect(dsn) as st:
                st.record_output(int(doc_id), action, detail)
        except (psycopg.Error, formats.DossierFileError) as exc:
            reason = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
            raise formats.DossierFileError(
                self.t(refusal).format(error=reason.strip() or type(exc).__name__)
            ) from exc

    # -- export / print off the UI thread -------------------------------------------------
    def start_export(self, pages: list[int], path: str | Path) -> bool:
        """Export on a worker thread with a progress dialog (shown after a second) and a
        cancel button; the status line says the outcome. False if one is already running."""
        return self._start_output(
            T_EXPORT,
            len(pages) + 1,
            lambda snap, progress, cancelled: self.export_pages(
                pages, path, progress=progress, cancelled=cancelled, **snap
            ),
            lambda _r: self.t(T_EXPORTED).format(n=len(pages), path=path),
        )

    def start_print(self, printer, pages: list[int]) -> bool:
        """Print on a worker thread, like :meth:`start_export`."""
        return self._start_output(
            T_PRINT,
            len(pages),
            lambda snap, progress, cancelled: self.print_pages(
                printer, pages, progress=progress, cancelled=cancelled, **snap
            ),
            lambda n: self.t(T_PRINTED).format(n=n),
        )

    def _start_output(
        self,
        title: Text,
        steps: int,
        work: Callable[[dict, Callable[[int], None], Callable[[], bool]], Any],
        done_text: Callable[[Any], str],
    ) -> bool:
        if self.doc is None or self.output_progress is not None:
            return False
        # Snapshots: the person may turn pages, rotate or open another file meanwhile.
        snap = {
            "doc": self.doc,
            "model": ViewerModel(**vars(self.model)),
            "info": dict(self.info),
        }
        stop = threading.Event()
        dlg = QProgressDialog(self.t(title), self.t(T_CANCEL_Q), 0, steps, self)
        dlg.setObjectName("outputProgress")
        dlg.setWindowTitle(self.t(title))
        dlg.setLabelText(self.t(T_OUTPUT_BUSY).format(done=0, total=steps))
        dlg.setMinimumDuration(1000)  # only for outputs of more than a second
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(stop.set)
        dlg.setValue(0)
        self.output_progress = dlg
        self._output_done_text = done_text
        sig = self._sig

        def run() -> None:
            try:
                result = work(snap, lambda n: sig.output_progress.emit(n, steps), stop.is_set)
            except PrintCancelled as exc:  # some pages went out: say how many
                sig.output_finished.emit(exc, "")
            except OutputCancelled:
                sig.output_finished.emit(None, "")
            except formats.DossierFileError as exc:
                sig.output_finished.emit(None, str(exc))
            except Exception as exc:  # a bug or a full disk: say it, do not crash
                sig.output_finished.emit(None, f"{type(exc).__name__}: {exc}")
            else:
                sig.output_finished.emit(result, None)

        threading.Thread(target=run, name="dossier-output", daemon=True).start()
        return True

    def cancel_output(self) -> None:
        if self.output_progress is not None:
            self.output_progress.cancel()

    def _on_output_progress(self, done: int, total: int) -> None:
        dlg = self.output_progress
        if dlg is not None and not dlg.wasCanceled():
            dlg.setValue(min(done, total))
            dlg.setLabelText(self.t(T_OUTPUT_BUSY).format(done=min(done, total), total=total))

    def _on_output_finished(self, result: Any, error: str | None) -> None:
        dlg, self.output_progress = self.output_progress, None
        title = dlg.windowTitle() if dlg is not None else ""
        if dlg is not None:
            dlg.hide()  # not close(): closeEvent would emit canceled
            dlg.deleteLater()
        if error is None:
            self.status.setText(self._output_done_text(result))
        elif error == "" and isinstance(result, PrintCancelled):
            text = self.t(T_PRINT_CANCELLED).format(n=result.sent, m=result.total)
            self.status.setText(text + result.note)
        elif error == "":
            self.status.setText(self.t(T_OUTPUT_CANCELLED))
        else:
            self.status.setText(error)
            if self.isVisible() and not self.quiet_errors:
                QMessageBox.warning(self, title, error)
        self.output_finished.emit(error is None)

    def range_dialog(self, title: Text) -> QInputDialog:
        """The page-range question, with Vietnamese buttons (no Qt translation is loaded,
        so the static QInputDialog.getText would say OK / Cancel)."""
        dlg = QInputDialog(self)
        dlg.setObjectName("pageRange")
        dlg.setWindowTitle(self.t(title))
        dlg.setLabelText(self.t(T_RANGE))
        dlg.setTextValue(f"1-{self.doc.page_count if self.doc else 1}")
        dlg.setOkButtonText(self.t(T_OK))
        dlg.setCancelButtonText(self.t(T_CANCEL_Q))
        return dlg

    def _ask_range(self, title: Text = T_EXPORT) -> list[int] | None:
        if self.doc is None:
            return None
        dlg = self.range_dialog(title)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        text = dlg.textValue()
        try:
            return parse_page_range(text, self.doc.page_count)
        except ValueError as exc:
            QMessageBox.warning(self, self.t(T_EXPORT), str(exc))
            return None

    def export_dialog(self) -> None:
        pages = self._ask_range()
        if pages is None:
            return
        stem = Path(self.info.get("original_name") or "ho_so").stem
        path, _ = QFileDialog.getSaveFileName(
            self, self.t(T_EXPORT), f"{stem}_trang.pdf", "PDF (*.pdf);;TIFF (*.tif)"
        )
        if path:
            self.start_export(pages, path)

    def print_dialog(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        pages = self._ask_range(T_PRINT)
        if pages is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if QPrintDialog(printer, self).exec() == QDialog.DialogCode.Accepted:
            self._printer = printer  # painted on the worker: keep it alive until done
            self.start_print(printer, pages)


def screen_image(im, model: ViewerModel, view_w: int, view_h: int):
    """(page reduced to the size it is shown at, rotated and levelled; the factor). Below
    1:1 the reduction happens here, on the render thread, before rotation and levels, so
    they touch ~1 Mpx instead of a 300 dpi page's 8.7 Mpx."""
    from PIL import Image

    w, h = im.size
    s = model.effective_scale(w, h, view_w, view_h)
    if s < 1.0:
        if im.mode == "1":
            im = im.convert("L")
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)
    else:
        s = 1.0
    return model.apply(im), s


def _png_qimage(data: bytes) -> QImage:
    img = QImage()
    img.loadFromData(data)
    return img


# --- a window with the documents of a parcel + the viewer ----------------------------------
class DocumentsWindow(QDialog):
    """The documents of one record on the left (every version, the newest first, with the
    selected document's version chain and the buttons to supersede or replace it), the
    viewer on the right."""

    def __init__(
        self,
        ctx: AppContext,
        parcel_id: int | None = None,
        document_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent or ctx.window)
        self.setObjectName("dossierWindow")
        self.ctx = ctx
        self.parcel_id = parcel_id
        self.docs: list[dict] = []
        self.setWindowTitle(ctx.text(T_VIEWER))
        self.resize(1100, 800)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.setObjectName("documentList")
        self.list.setWordWrap(True)
        self.list.setSpacing(3)
        left.addWidget(self.list, 1)
        self.chain = QLabel("")
        self.chain.setObjectName("versionChain")
        self.chain.setWordWrap(True)
        left.addWidget(self.chain)
        self.supersede_button = QPushButton(ctx.text(T_SUPERSEDE))
        self.supersede_button.setObjectName("supersede")
        self.supersede_button.clicked.connect(lambda: self.change_dialog(True))
        self.replace_button = QPushButton(ctx.text(T_REPLACE))
        self.replace_button.setObjectName("replaceFile")
        self.replace_button.clicked.connect(lambda: self.change_dialog(False))
        left.addWidget(self.supersede_button)
        left.addWidget(self.replace_button)
        box = QWidget()
        box.setLayout(left)
        box.setFixedWidth(280)
        layout.addWidget(box)
        self.viewer = DossierViewer(ctx.lang)
        self.viewer.dsn = ctx.dsn
        layout.addWidget(self.viewer, 1)
        self.finished.connect(lambda _r: self.viewer.release())
        self.list.currentItemChanged.connect(self._pick)
        self._update_buttons(None)
        if parcel_id is not None:
            self.setWindowTitle(ctx.text(T_DOCS_OF).format(parcel=parcel_id))
            self.reload()
        if document_id is not None:
            dsn = ctx.dsn

            def info() -> list[dict]:
                with DossierStore.connect(dsn) as st:
                    return [st.info(document_id)]

            ctx.run_in_background(info, self._fill, lambda e: self.viewer._on_failed(str(e)))

    def reload(self, select: int | None = None) -> None:
        """Read the record's documents again (after a new version), selecting ``select``."""
        dsn, parcel_id = self.ctx.dsn, self.parcel_id

        def load() -> list[dict]:
            with DossierStore.connect(dsn) as st:
                return st.list_documents(parcel_id=parcel_id)

        self.ctx.run_in_background(
            load, lambda docs: self._fill(docs, select), lambda e: self.viewer._on_failed(str(e))
        )

    def _fill(self, docs: list[dict], select: int | None = None) -> None:
        labels = dict((k, t.get(self.ctx.lang)) for k, t in DOC_TYPES)
        self.docs = docs
        self.list.blockSignals(True)
        self.list.clear()
        self.list.blockSignals(False)
        row = 0
        for n, d in enumerate(docs):
            text = f"{labels.get(d['doc_type'], d['doc_type'])} {d.get('number') or ''}".strip()
            date = vn_date(d.get("issued_on"))
            text += f"\n{date + ' · ' if date else ''}v{d.get('version', 1)}"
            if d.get("superseded_by"):
                text += self.ctx.text(T_SUPERSEDED)
            if not d.get("has_file"):
                text += " —"
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, d["id"])
            if d.get("superseded_by"):
                it.setForeground(Qt.GlobalColor.darkGray)
            self.list.addItem(it)
            if select is not None and int(d["id"]) == select:
                row = n
        if docs:
            self.list.setCurrentRow(row)

    def current(self) -> dict | None:
        item = self.list.currentItem()
        if item is None:
            return None
        doc_id = int(item.data(Qt.ItemDataRole.UserRole))
        return next((d for d in self.docs if int(d["id"]) == doc_id), None)

    def _pick(self, item: QListWidgetItem | None) -> None:
        doc = self.current()
        self._update_buttons(doc)
        if item is not None:
            self.viewer.open_document(self.ctx.dsn, int(item.data(Qt.ItemDataRole.UserRole)))

    def _update_buttons(self, doc: dict | None) -> None:
        """A document of an approved change set offers only a new version; a superseded
        one nothing (its successor is the one to change); the chain is shown either way."""
        self.chain.setText(
            chain_text(version_chain(self.docs, int(doc["id"])), self.ctx.lang) if doc else ""
        )
        may = bool(doc and doc.get("may_change") and not doc.get("superseded_by"))
        frozen = bool(doc and doc.get("approved_mutation"))
        self.supersede_button.setEnabled(may)
        self.replace_button.setVisible(not frozen)
        self.replace_button.setEnabled(may and not frozen)
        if frozen:
            self.supersede_button.setToolTip(
                self.ctx.text(T_FROZEN).format(mutation=doc["approved_mutation"])
            )
        else:
            self.supersede_button.setToolTip("")

    def change_dialog(self, new_version: bool = True) -> QDialog | None:
        doc = self.current()
        if doc is None:
            return None
        d = SupersedeDialog(self.ctx, doc, new_version, self)
        d.changed.connect(lambda new_id: self.reload(select=new_id))
        d.show()
        return d


class SupersedeDialog(QDialog):
    """A new version of a document (same links, the old one stays readable and points to
    it), or — before any approval — its file replaced in place."""

    changed = Signal(int)  # the document id to show: the new version, or the same one

    def __init__(
        self, ctx: AppContext, doc: dict, new_version: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent or ctx.window)
        self.setObjectName("dossierSupersede")
        self.ctx = ctx
        self.doc = doc
        self.new_version = new_version
        self.file: str | None = None
        self.result_id: int | None = None
        self._cancel = threading.Event()
        self.setWindowTitle(ctx.text(T_SUPERSEDE if new_version else T_REPLACE).rstrip("…"))
        self.setMinimumWidth(520)
        form = QFormLayout(self)
        labels = dict((k, t.get(ctx.lang)) for k, t in DOC_TYPES)
        what = f"{labels.get(doc['doc_type'], doc['doc_type'])} {doc.get('number') or ''}"
        intro = QLabel(
            ctx.text(T_SUPERSEDE_INTRO if new_version else T_REPLACE_INTRO).format(
                doc=what.strip(), id=doc["id"], version=doc.get("version", 1),
                next=int(doc.get("version", 1)) + 1,
            )
        )  # fmt: skip
        intro.setWordWrap(True)
        form.addRow(intro)
        pick = QPushButton(ctx.text(T_FILE))
        pick.clicked.connect(self._pick)
        self.file_label = QLabel("—")
        self.file_label.setWordWrap(True)
        form.addRow(pick, self.file_label)
        self.number = QLineEdit(doc.get("number") or "")
        self.issued = QDateEdit(
            QDate.fromString(str(doc.get("issued_on") or ""), "yyyy-MM-dd")
            if doc.get("issued_on")
            else QDate.currentDate()
        )
        self.issued.setDisplayFormat("dd/MM/yyyy")
        self.issued.setCalendarPopup(True)
        self.issuer = QLineEdit(doc.get("issuer") or "")
        if new_version:  # a new version may correct the metadata too
            form.addRow(Text("Số hiệu", "Number").get(ctx.lang), self.number)
            form.addRow(Text("Ngày ban hành", "Issued on").get(ctx.lang), self.issued)
            form.addRow(Text("Cơ quan ban hành", "Issuer").get(ctx.lang), self.issuer)
        self.progress = _progress_bar()
        form.addRow(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("supersedeStatus")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(
            ctx.text(T_UPLOAD), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.stop_button = self.buttons.addButton(
            ctx.text(T_CANCEL), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.ok_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self._stop)
        form.addRow(self.buttons)

    def _pick(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self,
            self.ctx.text(T_FILE),
            "",
            f"{self.ctx.text(T_SCANS)} (*.tif *.tiff *.pdf *.png *.jpg *.jpeg)",
        )
        if f:
            self.set_file(f)

    def set_file(self, path: str) -> None:
        self.file = path
        self.file_label.setText(_files_text([path], self.ctx.lang))

    def _stop(self) -> None:
        if self.ok_button.isEnabled():
            self.reject()
        else:
            self._cancel.set()

    def start(self) -> None:
        if not self.file:
            self.status.setText(self.ctx.text(T_NEED_FILE))
            return
        self.ok_button.setEnabled(False)
        self._cancel.clear()
        dsn, path, doc_id, new = self.ctx.dsn, self.file, int(self.doc["id"]), self.new_version
        meta = {
            "number": self.number.text().strip() or None,
            "issued_on": self.issued.date().toString("yyyy-MM-dd"),
            "issuer": self.issuer.text().strip() or None,
            "original_name": Path(path).name,
        }
        sig = _Signals()
        sig.progress.connect(lambda d, t: _show_progress(self.progress, d, t))
        self._sig = sig

        def work() -> int:
            with DossierStore.connect(dsn) as st:
                res = st.upload(path, progress=sig.progress.emit, cancelled=self._cancel.is_set)
                if new:
                    return st.supersede(doc_id, res.sha256, meta)
                st.replace_file(doc_id, res.sha256)
                return doc_id

        def done(new_id: int) -> None:
            self.result_id = new_id
            self.ok_button.setEnabled(True)
            self.status.setText(
                self.ctx.text(T_SUPERSEDED_OK if new else T_REPLACED_OK).format(id=new_id)
            )
            self.changed.emit(new_id)

        def failed(exc: BaseException) -> None:
            self.ok_button.setEnabled(True)
            self.status.setText(
                self.ctx.text(T_STOPPED) if isinstance(exc, UploadCancelled) else str(exc)
            )

        self.ctx.run_in_background(work, done, failed)


# --- attach ---------------------------------------------------------------------------------
def _files_text(files: list[str], lang: str) -> str:
    """One file a line with its size: «Giấy chứng nhận.tif (95,3 KB)»."""
    lines = []
    for f in files:
        try:
            size = f" ({formats.size_text(Path(f).stat().st_size, lang)})"
        except OSError:
            size = ""
        lines.append(f"{Path(f).name}{size}")
    return "\n".join(lines) or "—"


def _progress_bar() -> QProgressBar:
    """Hidden until there is progress to show: an empty bar looks like a text field."""
    bar = QProgressBar()
    bar.setVisible(False)
    return bar


def _show_progress(bar: QProgressBar, done: int, total: int) -> None:
    bar.setVisible(True)
    bar.setRange(0, max(1, total))
    bar.setValue(done)


def _combo(items, lang: str) -> QComboBox:
    c = QComboBox()
    for key, text in items:
        c.addItem(text.get(lang), key)
    return c


class AttachDialog(QDialog):
    """Upload files and attach them to one record (parcel, certificate or change set)."""

    def __init__(self, ctx: AppContext, link: dict[str, int], parent: QWidget | None = None):
        super().__init__(parent or ctx.window)
        self.setObjectName("dossierAttach")
        self.setMinimumWidth(600)  # file names with sizes on one line each
        self.ctx = ctx
        self.link = link
        self.files: list[str] = []
        self.result_ids: list[int] = []
        self._cancel = threading.Event()
        self.setWindowTitle(ctx.text(T_ATTACH))
        form = QFormLayout(self)
        # The record: the selected parcel by default, or a certificate / change set by id.
        target = QHBoxLayout()
        self.target_kind = _combo(TARGETS, ctx.lang)
        self.target_kind.setObjectName("targetKind")
        self.target_id = QSpinBox()
        self.target_id.setObjectName("targetId")
        self.target_id.setRange(1, 2_000_000_000)
        ((key, value),) = link.items()
        self.target_kind.setCurrentIndex(max(0, self.target_kind.findData(key)))
        self.target_id.setValue(int(value))
        target.addWidget(self.target_kind)
        target.addWidget(self.target_id, 1)
        form.addRow(Text("Gắn vào", "Attach to").get(ctx.lang), target)
        pick = QPushButton(ctx.text(T_FILES))
        pick.clicked.connect(self._pick)
        self.file_label = QLabel("—")
        self.file_label.setObjectName("attachFiles")
        self.file_label.setWordWrap(True)
        form.addRow(pick, self.file_label)
        self.doc_type = _combo(DOC_TYPES, ctx.lang)
        form.addRow(Text("Loại hồ sơ", "Type").get(ctx.lang), self.doc_type)
        self.number = QLineEdit()
        form.addRow(Text("Số hiệu", "Number").get(ctx.lang), self.number)
        self.issued = QDateEdit(QDate.currentDate())
        self.issued.setDisplayFormat("dd/MM/yyyy")
        self.issued.setCalendarPopup(True)
        form.addRow(Text("Ngày ban hành", "Issued on").get(ctx.lang), self.issued)
        self.issuer = QLineEdit()
        form.addRow(Text("Cơ quan ban hành", "Issuer").get(ctx.lang), self.issuer)
        self.classification = _combo(CLASSES, ctx.lang)
        form.addRow(Text("Phân loại", "Classification").get(ctx.lang), self.classification)
        self.progress = _progress_bar()
        form.addRow(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.buttons = QDialogButtonBox()
        self.upload_button = self.buttons.addButton(
            ctx.text(T_UPLOAD), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.stop_button = self.buttons.addButton(
            ctx.text(T_CANCEL), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.upload_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self._stop)
        form.addRow(self.buttons)

    def _pick(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            self.ctx.text(T_FILES),
            "",
            f"{self.ctx.text(T_SCANS)} (*.tif *.tiff *.pdf *.png *.jpg *.jpeg)",
        )
        self.set_files(files)

    def set_files(self, files: list[str]) -> None:
        self.files = list(files)
        self.file_label.setText(_files_text(files, self.ctx.lang))

    def _stop(self) -> None:
        if self.upload_button.isEnabled():
            self.reject()
        else:
            self._cancel.set()

    def meta(self, name: str) -> dict[str, Any]:
        return {
            "doc_type": self.doc_type.currentData(),
            "number": self.number.text().strip() or None,
            "issued_on": self.issued.date().toString("yyyy-MM-dd"),
            "issuer": self.issuer.text().strip() or None,
            "classification": self.classification.currentData(),
            "original_name": name,
        }

    def start(self) -> None:
        if not self.files:
            return
        self.upload_button.setEnabled(False)
        self._cancel.clear()
        self.link = {self.target_kind.currentData(): self.target_id.value()}
        dsn, files, link = self.ctx.dsn, list(self.files), dict(self.link)
        metas = {f: self.meta(Path(f).name) for f in files}
        sig = _Signals()
        sig.progress.connect(lambda d, t: _show_progress(self.progress, d, t))
        self._sig = sig  # keep it alive

        def work() -> list[int]:
            ids = []
            with DossierStore.connect(dsn) as st:
                for f in files:
                    res = st.upload(f, progress=sig.progress.emit, cancelled=self._cancel.is_set)
                    ids.append(st.create_document(res.sha256, metas[f], [link]))
            return ids

        def done(ids: list[int]) -> None:
            self.result_ids = ids
            self.status.setText(
                self.ctx.text(T_UPLOADED).format(n=len(ids), ids=", ".join(map(str, ids)))
            )
            self.upload_button.setEnabled(True)

        def failed(exc: BaseException) -> None:
            self.upload_button.setEnabled(True)
            if isinstance(exc, UploadCancelled):
                self.status.setText(self.ctx.text(T_STOPPED))
            else:
                self.status.setText(str(exc))

        self.ctx.run_in_background(work, done, failed)


# --- batch import -----------------------------------------------------------------------------
class BatchImportDialog(QDialog):
    """Import a folder named by the convention; report unmatched and duplicate files."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        from app.dossier.naming import DEFAULT_PATTERN

        super().__init__(parent or ctx.window)
        self.setObjectName("dossierImport")
        self.ctx = ctx
        self.folder: Path | None = None
        self.report_text = ""
        self.setWindowTitle(ctx.text(T_IMPORT))
        self.resize(700, 500)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        pick = QPushButton(ctx.text(T_FOLDER))
        pick.clicked.connect(self._pick)
        self.folder_label = QLabel("—")
        row.addWidget(pick)
        row.addWidget(self.folder_label, 1)
        layout.addLayout(row)
        form = QFormLayout()
        self.pattern = QLineEdit(DEFAULT_PATTERN)
        self.pattern.setObjectName("pattern")
        form.addRow(ctx.text(T_PATTERN), self.pattern)
        hint = QLabel(ctx.text(T_PATTERN_HINT))
        hint.setObjectName("patternHint")
        hint.setWordWrap(True)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setStyleSheet("color: palette(dark);")
        form.addRow("", hint)
        self.classification = _combo(CLASSES, ctx.lang)
        form.addRow(Text("Phân loại", "Classification").get(ctx.lang), self.classification)
        layout.addLayout(form)
        self.progress = _progress_bar()
        layout.addWidget(self.progress)
        self.report = QPlainTextEdit()
        self.report.setObjectName("importReport")
        self.report.setReadOnly(True)
        layout.addWidget(self.report, 1)
        buttons = QDialogButtonBox()  # no Qt translation is loaded: name it ourselves
        self.start_button = buttons.addButton(
            ctx.text(T_START), QDialogButtonBox.ButtonRole.ActionRole
        )
        close = buttons.addButton(ctx.text(T_CLOSE), QDialogButtonBox.ButtonRole.RejectRole)
        close.setObjectName("close")
        self.start_button.clicked.connect(self.start)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.done_event = threading.Event()

    def _pick(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.ctx.text(T_FOLDER))
        if path:
            self.set_folder(Path(path))

    def set_folder(self, folder: Path) -> None:
        self.folder = folder
        self.folder_label.setText(str(folder))

    def start(self) -> None:
        if self.folder is None:
            return
        self.start_button.setEnabled(False)
        self.done_event.clear()
        dsn, folder = self.ctx.dsn, self.folder
        pattern, cls = self.pattern.text().strip(), self.classification.currentData()
        self._sig = sig = _Signals()
        sig.progress.connect(lambda d, t: _show_progress(self.progress, d, t))

        def work() -> str:
            return run_batch_import(dsn, folder, pattern, cls, sig.progress.emit)

        def done(text: str) -> None:
            self.report_text = text
            self.report.setPlainText(text)
            self.start_button.setEnabled(True)
            self.done_event.set()

        def failed(exc: BaseException) -> None:
            done(str(exc))

        self.ctx.run_in_background(work, done, failed)


def run_batch_import(
    dsn: str,
    folder: Path,
    pattern: str,
    classification: str,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Plan and run a folder import; returns the Vietnamese report (also for tests)."""
    from app.dossier.naming import compile_pattern, parse_name, plan_import
    from app.dossier.store import sha256_file

    files = [p for p in sorted(folder.iterdir()) if p.is_file()]
    rx = compile_pattern(pattern)
    keys = [(n.commune, n.sheet, n.parcel) for f in files if (n := parse_name(f, rx))]
    with DossierStore.connect(dsn) as st:
        # One round trip for the whole folder; right and area checked in the database.
        parcels = st.find_parcels(keys)

        def find(commune: str, sheet: int, parcel: int) -> list[int]:
            return parcels.get((commune, sheet, parcel), [])

        plan = plan_import(files, pattern, find, sha256_file)
        stored, failed = [], []
        for n, (parsed, parcel_id) in enumerate(plan.matched, 1):
            try:
                res = st.upload(parsed.path)
                doc = st.create_document(
                    res.sha256,
                    {
                        "doc_type": parsed.doc_type,
                        "number": parsed.number,
                        "classification": classification,
                        "original_name": parsed.path.name,
                    },
                    [{"parcel_id": parcel_id}],
                )
                stored.append((parsed.path.name, doc, res.deduplicated, res.info.byte_size))
            except Exception as exc:  # one bad file does not stop the folder
                failed.append((parsed.path.name, str(exc)))
            if progress:
                progress(n, len(plan.matched))
    lines = [f"Đã nhập {len(stored)}/{len(files)} tệp."]
    for name, doc, dedup, size in stored:
        lines.append(
            f"  ✓ {name} ({formats.size_text(size)}) → hồ sơ {doc}"
            + (" (nội dung đã có, lưu một lần)" if dedup else "")
        )
    sections = [
        ("Tên tệp không theo mẫu", [p.name for p in plan.bad_name]),
        (
            "Không tìm thấy thửa đất (hoặc ngoài địa bàn)",
            [
                f"{p.path.name} (xã {p.commune}, tờ {p.sheet}, thửa {p.parcel})"
                for p in plan.no_parcel
            ],
        ),
        ("Nhiều thửa trùng số, cần gắn tay", [p.path.name for p in plan.ambiguous]),
        ("Tệp trùng nội dung (bỏ qua)", [f"{a.name} = {b.name}" for a, b in plan.duplicates]),
        ("Lỗi", [f"{n}: {e}" for n, e in failed]),
    ]
    for title, items in sections:
        if items:
            lines.append(f"{title}: {len(items)}")
            lines.extend(f"  ✗ {x}" for x in items)
    return "\n".join(lines)


# --- handlers ----------------------------------------------------------------------------------
def _selected_parcel(ctx: AppContext) -> int | None:
    canvas = getattr(ctx.window, "canvas", None)
    sel = list(getattr(canvas, "selection", []) or [])
    return int(sel[0]) if sel else None


def find_documents(ctx: AppContext) -> QDialog | None:
    parcel = _selected_parcel(ctx)
    if parcel is None:
        QMessageBox.information(ctx.window, ctx.text(T_VIEWER), ctx.text(T_NEED_PARCEL))
        return None
    w = DocumentsWindow(ctx, parcel_id=parcel)
    w.show()
    return w


def open_document(ctx: AppContext, document_id: int) -> QDialog:
    """For the parcel panel: open one document in the viewer."""
    w = DocumentsWindow(ctx, document_id=document_id)
    w.show()
    return w


def attach(ctx: AppContext) -> QDialog | None:
    parcel = _selected_parcel(ctx)
    if parcel is None:
        QMessageBox.information(ctx.window, ctx.text(T_ATTACH), ctx.text(T_NEED_PARCEL))
        return None
    d = AttachDialog(ctx, {"parcel_id": parcel})
    d.show()
    return d


def batch_import(ctx: AppContext) -> QDialog:
    d = BatchImportDialog(ctx)
    d.show()
    return d


def signed_out() -> None:
    """Restricted scans leave the disk when the person signs out."""
    from app.dossier.store import wipe_on_sign_out

    wipe_on_sign_out()


def show_document(
    dsn: str, document_id: int, parent: QWidget | None = None, lang: str = "vi"
) -> QDialog:
    """Open one document in a viewer window (for panels that hold a DSN, not a context:
    the parcel panel's "Scanned documents" tab)."""
    dlg = QDialog(parent)
    dlg.setObjectName("dossierDocument")
    dlg.setWindowTitle(T_VIEWER.get(lang))
    dlg.resize(1000, 800)
    layout = QVBoxLayout(dlg)
    viewer = DossierViewer(lang)
    viewer.dsn = dsn
    layout.addWidget(viewer)
    dlg.finished.connect(lambda _r: viewer.release())
    viewer.open_document(dsn, document_id)
    dlg.show()
    return dlg
