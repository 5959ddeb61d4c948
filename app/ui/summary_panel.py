"""Central placeholder until the map canvas arrives: where the map will be + store summary."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.store.summary import StoreSummary, crs_label
from app.ui.i18n import format_int, translate


def table_labels() -> dict[str, str]:
    """Display names of the summarised tables, in the current language."""
    return {
        "ref.admin_unit": translate("SummaryPanel", "Administrative units"),
        "cad.map_sheet": translate("SummaryPanel", "Map sheets"),
        "cad.parcel": translate("SummaryPanel", "Parcels"),
        "cad.party": translate("SummaryPanel", "Land users and owners"),
        "cad.certificate": translate("SummaryPanel", "Certificates"),
        "cad.land_right": translate("SummaryPanel", "Land rights"),
        "cad.mutation": translate("SummaryPanel", "Mutations"),
        "price.road_segment": translate("SummaryPanel", "Priced road segments"),
        "plan.zone": translate("SummaryPanel", "Planning zones"),
        "inv.period": translate("SummaryPanel", "Inventory periods"),
        "doc.document": translate("SummaryPanel", "Scanned documents"),
    }


STYLE = """
QFrame#mapPlaceholder {
    background: #e9f0f5;
    border: 2px dashed #9fb3c3;
    border-radius: 6px;
}
QFrame#summaryCard {
    background: #ffffff;
    border: 1px solid #c9d6e0;
    border-radius: 8px;
}
QLabel#placeholderTitle { color: #2c4a5e; font-size: 20pt; font-weight: bold; }
QLabel#placeholderNote { color: #5d7384; font-size: 10pt; }
QLabel#sectionTitle { color: #2c4a5e; font-weight: bold; padding-top: 8px; }
QLabel[role="key"] { color: #5d7384; }
QLabel#summaryState { color: #5d7384; font-style: italic; }
QLabel#summaryState[failed="true"] { color: #b00020; font-style: normal; }
"""


class SummaryPanel(QFrame):
    """Styled panel: "the map will be here", then province, CRS, store and record counts."""

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.setObjectName("mapPlaceholder")
        self.setStyleSheet(STYLE)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(1)

        title = QLabel(translate("SummaryPanel", "The map will be shown here"))
        title.setObjectName("placeholderTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note = QLabel(
            translate(
                "SummaryPanel",
                "The map canvas comes in a later version. This is the store you are connected to.",
            )
        )
        note.setObjectName("placeholderNote")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setWordWrap(True)
        outer.addWidget(title)
        outer.addWidget(note)
        outer.addSpacing(16)

        self.card = QFrame()
        self.card.setObjectName("summaryCard")
        self.card.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
        self.card.setMinimumWidth(560)
        self.grid = QGridLayout(self.card)
        self.grid.setContentsMargins(24, 16, 24, 16)
        self.grid.setHorizontalSpacing(24)
        self.grid.setVerticalSpacing(4)
        outer.addWidget(self.card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

        self.state = QLabel(translate("SummaryPanel", "Reading the store summary…"))
        self.state.setObjectName("summaryState")
        self.grid.addWidget(self.state, 0, 0, 1, 2)
        self.values: dict[str, QLabel] = {}

    # -- content ------------------------------------------------------------------------
    def _clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None and item.widget() is not self.state:
                item.widget().deleteLater()
        self.values.clear()

    def _row(self, row: int, key: str, value: str, name: str) -> int:
        k = QLabel(key)
        k.setProperty("role", "key")
        v = QLabel(value)
        v.setObjectName(name)
        v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.grid.addWidget(k, row, 0)
        self.grid.addWidget(v, row, 1)
        self.values[name] = v
        return row + 1

    def show_summary(self, s: StoreSummary) -> None:
        self._clear()
        self.state.hide()
        row = 0
        row = self._row(
            row,
            translate("SummaryPanel", "Province"),
            s.province or translate("SummaryPanel", "not set"),
            "province",
        )
        crs = crs_label(s.srid) if s.srid else translate("SummaryPanel", "not set yet")
        row = self._row(row, translate("SummaryPanel", "Coordinate system"), crs, "crs")
        pg = s.server_version.split(" ")[0]
        postgis = s.postgis_version or translate("SummaryPanel", "not installed")
        row = self._row(
            row,
            translate("SummaryPanel", "Store"),
            translate(
                "SummaryPanel", "{db} on {address} — PostgreSQL {pg}, PostGIS {postgis}"
            ).format(db=s.database, address=s.address.split("@", 1)[1], pg=pg, postgis=postgis),
            "store",
        )
        section = QLabel(translate("SummaryPanel", "Records"))
        section.setObjectName("sectionTitle")
        self.grid.addWidget(section, row, 0, 1, 2)
        row += 1
        labels = table_labels()
        if not s.counts:
            row = self._row(
                row,
                "",
                translate("SummaryPanel", "no LandRec tables in this database yet"),
                "no_tables",
            )
            return
        # Two columns of "label  number" pairs, filled top to bottom.
        box = QWidget()
        counts = QGridLayout(box)
        counts.setContentsMargins(0, 0, 0, 0)
        counts.setHorizontalSpacing(16)
        counts.setVerticalSpacing(4)
        counts.setColumnMinimumWidth(2, 24)
        per_column = (len(s.counts) + 1) // 2
        for i, (table, n) in enumerate(s.counts.items()):
            r, c = i % per_column, 0 if i < per_column else 3
            text = format_int(n, self.lang)
            if table in s.approximate:
                text = "≈ " + text
            key = QLabel(labels.get(table, table))
            key.setProperty("role", "key")
            value = QLabel(text)
            value.setObjectName(f"count:{table}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setToolTip(
                translate("SummaryPanel", "estimate from the table statistics")
                if table in s.approximate
                else table
            )
            counts.addWidget(key, r, c)
            counts.addWidget(value, r, c + 1)
            self.values[f"count:{table}"] = value
        self.grid.addWidget(box, row, 0, 1, 2)

    def show_error(self, message: str) -> None:
        self._clear()
        self.state.setText(
            translate("SummaryPanel", "Cannot read the store: {error}").format(error=message)
        )
        self.state.setProperty("failed", True)
        self.state.setWordWrap(True)
        # The card is centred at its size hint, which ignores word wrapping: give the label
        # the height its wrapped text needs at the card's width.
        width = 560
        self.state.setFixedWidth(width)
        self.state.setMinimumHeight(self.state.heightForWidth(width))
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)
        self.state.show()
        self.grid.addWidget(self.state, 0, 0, 1, 2)
