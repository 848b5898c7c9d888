"""Cells of every CSV and XLSX export, made safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel and LibreOffice as a formula: a study note ``=HYPERLINK("http://evil", "click")`` would
become a live link in the pharmacist's registry file (OWASP "CSV injection"). OWASP's advice is
to prefix such a cell with a single quote, which both programs show as text. Real numbers
(``int``, ``Decimal``, ``float``) stay numbers, negative ones included: only text can smuggle a
formula, so ``"-2+3"`` is neutralised and ``-2`` is not.

Every export writes its cells through :func:`cell_safe` (CSV) or :func:`xlsx_append` (XLSX).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: Any) -> Any:
    """The value to write in one cell: text that a spreadsheet would run is quoted with ``'``;
    numbers, dates, booleans and empty cells are left as they are."""
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime | time):
        return value
    text = str(value) if isinstance(value, Promise) else value
    if not isinstance(text, str):
        text = str(text)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_writer(buffer: Any) -> Any:
    """A ``csv.writer`` whose rows go through :func:`cell_safe`."""
    return _SafeCsvWriter(csv.writer(buffer))


class _SafeCsvWriter:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell_safe(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def xlsx_append(sheet: Any, row: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet: text cells are written as text (data type
    ``s``), never as formulas, and quoted like the CSV; numbers stay numbers."""
    from openpyxl.cell.cell import Cell

    cells = []
    for value in (cell_safe(value) for value in row):
        if isinstance(value, str):
            # Cell(value="=...") would be stored as a formula: set the text and its type by
            # hand, so the file holds a plain string whatever it starts with.
            cell = Cell(sheet)
            cell._value = value
            cell.data_type = "s"
            cell.quotePrefix = value.startswith("'")
        else:
            cell = Cell(sheet, value=value)
        cells.append(cell)
    sheet.append(cells)
