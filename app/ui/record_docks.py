"""The search and parcel docks, wired to the map canvas of the main window.

Search → zoom the map to the result, highlight it and show it in the parcel panel;
identify or select on the map → show the parcel. Both docks query as the signed-in
person (row-level security and the area rule apply) on the window's task runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from app.ui.parcel_panel import ParcelPanel
from app.ui.search_panel import SearchPanel

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


def install_record_docks(window: MainWindow) -> tuple[SearchPanel, ParcelPanel]:
    def person_dsn() -> str:
        return window.session.dsn

    search = SearchPanel(person_dsn, window.runner, window)
    parcel = ParcelPanel(person_dsn, window.runner, window)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, search)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, parcel)
    canvas = window.canvas
    search.zoomRequested.connect(canvas.zoom_to_bbox)
    search.parcelChosen.connect(lambda pid: canvas.highlight([pid]))
    search.parcelChosen.connect(parcel.show_parcel)
    canvas.identified.connect(parcel.show_parcel)

    def show_last_selected(ids: list) -> None:
        if ids:
            parcel.show_parcel(int(ids[-1]))

    canvas.selectionChanged.connect(show_last_selected)

    def open_document(document_id: int) -> None:
        # The dossier subsystem's viewer, loaded on first use (the plugin owns it).
        from plugins.dossier.views import show_document

        window.document_viewer = show_document(person_dsn(), document_id, window, window.lang)

    if "dossier" in {p.id for p in window.registry.plugins()}:
        parcel.documentRequested.connect(open_document)
    return search, parcel
