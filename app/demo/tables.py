"""Write a generated :class:`~app.demo.province.DemoProvince` with COPY, parents first."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import psycopg

from app.demo.load import DATA_TABLES, copy_rows, ewkb_hex
from app.demo.province import DemoProvince, Table

#: Load order: the reverse of the deletion order, so every foreign key finds its row.
LOAD_ORDER = tuple(reversed(DATA_TABLES))


def column_values(table: Table, name: str, srid: int) -> list:
    values = table.columns[name]
    if name in table.geometry:
        return ewkb_hex(np.asarray(values, dtype=object), srid).tolist()
    if isinstance(values, np.ndarray):
        return values.tolist()  # numpy scalars → Python values psycopg knows
    return list(values)


def write_province(
    conn: psycopg.Connection, province: DemoProvince, srid: int, progress: Callable[[str], None]
) -> dict[str, int]:
    unknown = set(province.tables) - set(LOAD_ORDER)
    if unknown:
        raise ValueError(f"generated tables the loader does not know: {sorted(unknown)}")
    counts: dict[str, int] = {}
    for name in LOAD_ORDER:
        table = province.tables.get(name)
        if table is None or len(table) == 0:
            continue
        progress(f"{name}: {len(table):,} rows")
        columns = list(table.columns)
        values = [column_values(table, c, srid) for c in columns]
        counts[name] = copy_rows(conn, name, columns, zip(*values, strict=True))
    return counts
