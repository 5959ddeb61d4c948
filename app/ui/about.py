"""Help → About: versions of LandRec, Python, Qt/PySide and of the connected store."""

from __future__ import annotations

import html
import importlib.metadata
import platform
import tomllib

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.config import REPO_ROOT
from app.store.summary import StoreSummary, crs_label
from app.ui.i18n import translate


def app_version() -> str:
    try:
        return importlib.metadata.version("landrec")
    except importlib.metadata.PackageNotFoundError:  # running from a source checkout
        with open(REPO_ROOT / "pyproject.toml", "rb") as f:
            return tomllib.load(f)["project"]["version"]


def about_rows(summary: StoreSummary | None, error: str | None) -> list[tuple[str, str]]:
    rows = [
        (translate("About", "LandRec version"), app_version()),
        (translate("About", "Python"), platform.python_version()),
        (translate("About", "Qt / PySide6"), f"{qVersion()} / {PySide6.__version__}"),
    ]
    if summary is None:
        rows.append(
            (
                translate("About", "Store"),
                translate("About", "not connected") + (f" ({error})" if error else ""),
            )
        )
        return rows
    rows += [
        (translate("About", "Store server"), f"PostgreSQL {summary.server_version}"),
        (
            translate("About", "PostGIS"),
            summary.postgis_version or translate("About", "not installed"),
        ),
        (
            translate("About", "Database"),
            f"{summary.database} — {summary.address.split('@', 1)[1]}",
        ),
        (translate("About", "Signed in as"), summary.user),
    ]
    if summary.srid:
        rows.append((translate("About", "Coordinate system"), crs_label(summary.srid)))
    return rows


class AboutDialog(QDialog):
    def __init__(
        self, summary: StoreSummary | None, error: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(translate("About", "About LandRec"))
        layout = QVBoxLayout(self)
        head = QLabel(
            "<h2>LandRec</h2><p>"
            + html.escape(translate("About", "Land information system — land-records client"))
            + "</p>"
        )
        layout.addWidget(head)
        table = "".join(
            f"<tr><td style='color:#5d7384; padding-right:16px'>{html.escape(k)}</td>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in about_rows(summary, error)
        )
        self.details = QLabel(f"<table>{table}</table>")
        self.details.setObjectName("aboutDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        close = QPushButton(translate("About", "Close"))
        close.setDefault(True)
        close.clicked.connect(self.accept)
        buttons.addWidget(close)
        layout.addLayout(buttons)
