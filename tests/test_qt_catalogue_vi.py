"""Qt's own dialogs and widgets speak Vietnamese through resources/i18n/qtbase_vi.ts.

Qt 6 ships no qtbase_vi.qm; ours only works when every (context, source, comment) is
exactly Qt's msgid, so the ids are checked against Qt's shipped catalogues and against
what Qt asks for at run time.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import QFileInfo, QLibraryInfo, Qt, QTranslator
from PySide6.QtPrintSupport import QPageSetupDialog, QPrintDialog, QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialogButtonBox,
    QFileDialog,
    QFileIconProvider,
    QFileSystemModel,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTabWidget,
    QTextEdit,
    QTreeView,
)

from app.ui.i18n import QT_QM_FILE, QT_TS_FILE, install_language, release_qm

Key = tuple[str, str, str]  # context, source text, disambiguation


def _ts_entries() -> dict[Key, ET.Element]:
    root = ET.parse(QT_TS_FILE).getroot()
    out = {}
    for ctx in root.iter("context"):
        for m in ctx.iter("message"):
            key = (ctx.findtext("name"), m.findtext("source"), m.findtext("comment") or "")
            assert key not in out, f"duplicate entry {key}"
            out[key] = m
    return out


_QM_MAGIC = bytes.fromhex("3cb86418caef9c95cd211cbf60a1bddd")


def _qm_ids(path: Path) -> set[Key]:
    """(context, source, comment) of every message in a .qm (Qt's documented layout:
    tagged sections; the messages section is tagged records ending with tag 1)."""
    data = path.read_bytes()
    assert data[:16] == _QM_MAGIC
    pos, messages = 16, b""
    while pos < len(data):
        tag, length = data[pos], struct.unpack(">I", data[pos + 1 : pos + 5])[0]
        if tag == 0x69:
            messages = data[pos + 5 : pos + 5 + length]
        pos += 5 + length
    ids: set[Key] = set()
    cur: dict[int, str] = {}
    p = 0
    while p < len(messages):
        tag = messages[p]
        p += 1
        if tag == 1:  # end of a message
            ids.add((cur.get(7, ""), cur.get(6, ""), cur.get(8, "")))
            cur = {}
        elif tag in (3, 6, 7, 8):  # translation (UTF-16), source, context, comment (UTF-8)
            (n,) = struct.unpack(">I", messages[p : p + 4])
            p += 4
            if n != 0xFFFFFFFF:
                if tag != 3:
                    cur[tag] = messages[p : p + n].decode("utf-8")
                p += n
        elif tag == 5:  # obsolete hash
            p += 4
        elif tag != 9:
            raise ValueError(f"unknown .qm tag {tag} in {path}")
    return ids


class _Recorder(QTranslator):
    """Answers nothing, notes every id Qt asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[Key] = set()

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        self.asked.add((context, source, disambiguation or ""))
        return None


@contextmanager
def _language(qapp, lang: str) -> Iterator[None]:
    assert install_language(qapp, lang)
    try:
        yield
    finally:
        install_language(qapp, "vi")


def _file_dialog(save: bool) -> QFileDialog:
    dialog = QFileDialog(None, "LandRec")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    if save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    return dialog


def _file_dialog_texts(dialog: QFileDialog) -> dict[str, str]:
    labels = {w.objectName(): w.text() for w in dialog.findChildren(QLabel) if w.objectName()}
    tips = {
        w.objectName(): w.toolTip() for w in dialog.findChildren(QAbstractButton) if w.objectName()
    }
    box = dialog.findChild(QDialogButtonBox)
    header = dialog.findChild(QTreeView).model()
    return {
        "look_in": labels["lookInLabel"],
        "file_name": labels["fileNameLabel"],
        "file_type": labels["fileTypeLabel"],
        "new_folder": tips["newFolderButton"],
        "detail": tips["detailModeButton"],
        "parent": tips["toParentButton"],
        "accept": box.button(QDialogButtonBox.StandardButton.Save).text()
        if dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
        else box.button(QDialogButtonBox.StandardButton.Open).text(),
        "cancel": box.button(QDialogButtonBox.StandardButton.Cancel).text(),
        "columns": [
            header.headerData(i, Qt.Orientation.Horizontal) for i in range(header.columnCount())
        ],
    }


def _menu_texts(widget: QLineEdit | QTextEdit) -> list[str]:
    menu = widget.createStandardContextMenu()
    try:
        return [a.text().split("\t")[0] for a in menu.actions() if not a.isSeparator()]
    finally:
        menu.deleteLater()


def test_file_dialog_is_vietnamese_and_english_again(qapp):
    with _language(qapp, "vi"):
        texts = _file_dialog_texts(_file_dialog(save=True))
        assert texts == {
            "look_in": "&Tìm trong:",
            "file_name": "&Tên tệp:",
            "file_type": "&Kiểu tệp:",
            "new_folder": "Tạo thư mục mới",
            "detail": "Xem chi tiết",
            "parent": "Thư mục cha",
            "accept": "&Lưu",
            "cancel": "Hủy",
            "columns": ["Tên", "Kích thước", "Kiểu", "Ngày sửa đổi"],
        }
        assert _file_dialog_texts(_file_dialog(save=False))["accept"] == "&Mở"
        assert QFileIconProvider().type(QFileInfo(str(QT_TS_FILE.parent))) == "Thư mục"
    with _language(qapp, "en"):
        texts = _file_dialog_texts(_file_dialog(save=True))
        assert (texts["look_in"], texts["file_name"], texts["accept"], texts["cancel"]) == (
            "&Look in:",
            "File &name:",
            "&Save",
            "Cancel",
        )
        assert texts["columns"] == ["Name", "Size", "Type", "Date Modified"]


def test_text_field_context_menus_are_vietnamese(qapp):
    with _language(qapp, "vi"):
        line = QLineEdit("thửa 45")
        line.selectAll()
        assert _menu_texts(line) == [
            "&Hoàn tác",
            "&Làm lại",
            "&Cắt",
            "&Sao chép",
            "&Dán",
            "Xóa",
            "Chọn tất cả",
        ]
        assert _menu_texts(QTextEdit("ghi chú"))[:2] == ["&Hoàn tác", "&Làm lại"]
    with _language(qapp, "en"):
        assert _menu_texts(QLineEdit())[:3] == ["&Undo", "&Redo", "Cu&t"]


def test_print_dialog_and_message_details_are_vietnamese(qapp):
    with _language(qapp, "vi"):
        dialog = QPrintDialog(QPrinter())
        assert dialog.windowTitle() == "In"
        groups = {g.objectName(): g.title() for g in dialog.findChildren(QGroupBox)}
        assert groups["printerGroup"] == "Máy in"
        assert groups["gbPrintRange"] == "Phạm vi in"
        buttons = {b.objectName(): b.text() for b in dialog.findChildren(QAbstractButton)}
        assert (buttons["properties"], buttons["printRange"], buttons["collate"]) == (
            "&Thuộc tính",
            "Trang từ",
            "Sắp theo bộ",
        )
        tabs = dialog.findChild(QTabWidget)
        assert [tabs.tabText(i) for i in range(tabs.count())] == ["Bản sao", "Tùy chọn"]
        box = QMessageBox(
            QMessageBox.Icon.Information, "LandRec", "?", QMessageBox.StandardButton.Ok
        )
        box.setDetailedText("chi tiết")
        assert {b.text() for b in box.buttons()} == {"Hiện chi tiết…", "Đồng ý"}
    with _language(qapp, "en"):
        dialog = QPrintDialog(QPrinter())
        groups = {g.objectName(): g.title() for g in dialog.findChildren(QGroupBox)}
        assert (dialog.windowTitle(), groups["printerGroup"]) == ("Print", "Printer")


@pytest.fixture(scope="module")
def asked_at_run_time(qapp) -> set[Key]:
    """The ids Qt 6.11 asks for while building the dialogs the catalogue covers."""
    recorder = _Recorder()
    qapp.installTranslator(recorder)
    try:
        for save in (True, False):
            _file_dialog(save)
        QFileSystemModel().headerData(2, Qt.Orientation.Horizontal)
        QFileIconProvider().type(QFileInfo(str(QT_TS_FILE.parent)))
        QFileIconProvider().type(QFileInfo("/"))
        _menu_texts(QLineEdit())
        _menu_texts(QTextEdit())
        box = QMessageBox()
        box.setDetailedText("x")
        box.show()
        box.close()
        printer = QPrinter()
        QPrintDialog(printer)
        QPageSetupDialog(printer)
        preview = QPrintPreviewDialog(printer)
        preview.show()
        preview.close()
        QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Yes)
    finally:
        qapp.removeTranslator(recorder)
    return recorder.asked


def test_every_id_is_one_qt_knows_and_every_entry_is_translated(asked_at_run_time, tmp_path):
    entries = _ts_entries()
    shipped = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
    known: set[Key] = set(asked_at_run_time)
    for qm in shipped.glob("qtbase_*.qm"):
        known |= _qm_ids(qm)
    unknown = sorted(set(entries) - known)
    assert not unknown, f"not a Qt 6 msgid (typo?): {unknown}"
    unfinished = [k for k, m in entries.items() if m.find("translation").get("type")]
    assert not unfinished, f"translate these in {QT_TS_FILE.name}: {unfinished}"
    empty = [k for k, m in entries.items() if not (m.findtext("translation") or "").strip()]
    assert not empty
    # Placeholders and mnemonics survive translation.
    for (ctx, src, _), m in entries.items():
        tr = m.findtext("translation")
        for ph in ("%1", "%2", "%3"):
            assert (ph in src) == (ph in tr), (ctx, src, tr)
        if "&" in src.replace("&&", "") and ctx != "QGnomeTheme":
            assert "&" in tr, (ctx, src, tr)
    fresh = tmp_path / "qtbase_vi.qm"
    release_qm(QT_TS_FILE, fresh)
    assert fresh.read_bytes() == QT_QM_FILE.read_bytes(), "run: python -m app.ui.i18n release"


def test_what_the_covered_dialogs_ask_is_in_the_catalogue(asked_at_run_time):
    """Qt's texts in the covered dialogs, less paper-size names and key names (A4, Ctrl
    stay as they are), are all translated: a Qt upgrade that renames one fails here."""
    entries = set(_ts_entries())
    skipped = {"QPageSize", "QShortcut", "QProgressBar"}
    missing = sorted(k for k in asked_at_run_time if k[0] not in skipped and k not in entries)
    assert not missing, f"add these to {QT_TS_FILE.name}: {missing}"
