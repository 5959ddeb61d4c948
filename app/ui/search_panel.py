"""Search dock: one line for names, ID numbers, certificate serials, parcel keys, addresses
and national parcel IDs (api.search, migration 0009).

Typing waits for a pause (debounce), then the query runs on the runner's thread pool; a
newer query makes older answers stale, and they are dropped when they arrive. Enter or a
double-click on a row emits ``zoomRequested(minx, miny, maxx, maxy)`` and
``parcelChosen(parcel_id)``; the main window wires them to the canvas and parcel panel.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.store.search import SearchHit, search_dsn
from app.ui.i18n import translate
from app.ui.tasks import TaskRunner

DEBOUNCE_MS = 300
HIT_ROLE = Qt.ItemDataRole.UserRole


def kind_labels() -> dict[str, str]:
    return {
        "owner": translate("SearchPanel", "Owner"),
        "id_number": translate("SearchPanel", "ID number"),
        "certificate": translate("SearchPanel", "Certificate"),
        "parcel_key": translate("SearchPanel", "Parcel"),
        "national_id": translate("SearchPanel", "National parcel ID"),
        "address": translate("SearchPanel", "Address"),
    }


_KIND_ICONS = {
    "owner": QStyle.StandardPixmap.SP_DirHomeIcon,
    "id_number": QStyle.StandardPixmap.SP_FileDialogInfoView,
    "certificate": QStyle.StandardPixmap.SP_FileIcon,
    "parcel_key": QStyle.StandardPixmap.SP_FileDialogDetailedView,
    "national_id": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "address": QStyle.StandardPixmap.SP_DirIcon,
}


class SearchPanel(QDockWidget):
    zoomRequested = Signal(float, float, float, float)
    parcelChosen = Signal(int)

    def __init__(
        self,
        dsn: Callable[[], str],
        runner: TaskRunner,
        parent: QWidget | None = None,
        limit: int = 50,
    ) -> None:
        super().__init__(translate("SearchPanel", "Search"), parent)
        self.setObjectName("searchPanel")
        self._dsn = dsn
        self._runner = runner
        self._limit = limit
        self._generation = 0  # the query whose answer we still want

        body = QWidget()
        layout = QVBoxLayout(body)
        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText(
            translate("SearchPanel", "Name, ID number, certificate, sheet and parcel, address…")
        )
        self.results = QListWidget()
        self.results.setObjectName("searchResults")
        self.status = QLabel("")
        self.status.setObjectName("searchStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.edit)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.status)
        self.setWidget(body)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_search)
        self.edit.textChanged.connect(self._typed)
        self.edit.returnPressed.connect(self._enter)
        self.results.itemActivated.connect(self._choose)
        self.results.itemDoubleClicked.connect(self._choose)

    # -- querying -----------------------------------------------------------------------
    def _typed(self, _text: str) -> None:
        self._generation += 1  # answers to the previous text are stale now
        self._timer.start()

    def run_search(self) -> None:
        self._timer.stop()
        text = self.edit.text().strip()
        self._generation += 1
        generation = self._generation
        if len(text) < 2:
            self.results.clear()
            self.status.setText("")
            return
        self.status.setText(translate("SearchPanel", "Searching…"))
        dsn, limit = self._dsn(), self._limit
        self._runner.submit(
            lambda: search_dsn(dsn, text, limit),
            lambda hits: self._show(generation, hits),
            lambda exc: self._failed(generation, exc),
        )

    def _show(self, generation: int, hits: list[SearchHit]) -> None:
        if generation != self._generation:
            return  # stale: the user typed on
        labels = kind_labels()
        self.results.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.label}\n{labels.get(hit.kind, hit.kind)} · {hit.detail}")
            item.setIcon(
                self.style().standardIcon(_KIND_ICONS.get(hit.kind, _KIND_ICONS["parcel_key"]))
            )
            item.setToolTip(hit.detail)
            item.setData(HIT_ROLE, hit)
            self.results.addItem(item)
        if hits:
            self.results.setCurrentRow(0)
            self.status.setText(translate("SearchPanel", "%n result(s)", "", len(hits)))
        else:
            self.status.setText(translate("SearchPanel", "Nothing found in your area"))

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        diag = getattr(exc, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc)
        self.results.clear()
        self.status.setText(translate("SearchPanel", "Search failed: %1").replace("%1", message))

    # -- choosing -----------------------------------------------------------------------
    def _enter(self) -> None:
        if self._timer.isActive() or self.results.count() == 0:
            self.run_search()  # Enter before the pause: search now, choose next time
            return
        item = self.results.currentItem() or self.results.item(0)
        self._choose(item)

    def _choose(self, item: QListWidgetItem | None) -> None:
        hit: SearchHit | None = item.data(HIT_ROLE) if item is not None else None
        if hit is None:
            return
        if hit.bbox is not None:
            self.zoomRequested.emit(*hit.bbox)
        self.parcelChosen.emit(hit.parcel_id)
