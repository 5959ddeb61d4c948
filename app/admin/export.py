"""CSV and XLSX files of the administrators' tables (Qt-free).

CSV is UTF-8 with a byte-order mark and ";"-free commas quoted by the csv module, so
Excel opens Vietnamese text correctly. XLSX is written with openpyxl (a well-kept,
pure-Python library): bold header, frozen first row, real numbers and dates (shown
dd/mm/yyyy), column widths from the content.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def cell_value(value: Any) -> Any:
    """A value a spreadsheet can hold: numbers and dates as they are (times in Vietnam time,
    without zone: Excel has none), JSON as text, the rest as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(VN).replace(tzinfo=None)
        return value.replace(microsecond=0)  # a spreadsheet keeps milliseconds at best
    if isinstance(value, date):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def text_value(value: Any) -> str:
    """The CSV form: dates dd/mm/yyyy, times dd/mm/yyyy HH:MM:SS (Vietnam time)."""
    value = cell_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def write_csv(path: str | Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Write the table; returns the number of data rows."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(headers)
        for row in rows:
            out.writerow([text_value(v) for v in row])
    return len(rows)


def write_xlsx(
    path: str | Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    sheet: str = "LandRec",
) -> int:
    """Write one sheet; returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    # Sheet names: at most 31 characters, none of []:*?/\
    ws.title = "".join(ch for ch in sheet if ch not in "[]:*?/\\")[:31] or "LandRec"
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) for h in headers]
    for row in rows:
        values = [cell_value(v) for v in row]
        ws.append(values)
        for i, v in enumerate(values[: len(widths)]):
            widths[i] = max(widths[i], min(60, len(text_value(v))))
    for col in ws.iter_cols(min_row=2):
        for cell in col:
            if isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm:ss"
            elif isinstance(cell.value, date):
                cell.number_format = "dd/mm/yyyy"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w + 2
    ws.freeze_panes = "A2"
    wb.save(path)
    return len(rows)


def write_table(
    path: str | Path, headers: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str = ""
) -> int:
    """By the file's extension: .xlsx or .csv."""
    if str(path).lower().endswith(".xlsx"):
        return write_xlsx(path, headers, rows, sheet or "LandRec")
    return write_csv(path, headers, rows)
