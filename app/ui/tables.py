"""Small table-widget helpers the panels and dialogs share."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QTableWidget


def read_only_table(headers: list[str], name: str) -> QTableWidget:
    """An empty table of ``headers`` columns the person reads but cannot edit, without row
    numbers; ``name`` is its object name (tests and style sheets find it by that)."""
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    return table
