"""Cells of every CSV and XLSX export, made safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel and LibreOffice as a formula: a study note ``=HYPERLINK("http://evil", "click")`` would
become a live link in the pharmacist's registry file (OWASP "CSV injection"). OWASP's advice is
to prefix such a cell with a single quote, which both programs show as text. Real numbers
(``int``, ``Decimal``, ``float``) stay numbers, negative ones included: only text can smuggle a
formula, so ``"-2+3"`` is neutralised and ``-2`` is not.

Every export writes its cells through :func:`cell_safe` (CSV) or :func:`xlsx_append` (XLSX).

Money (``offlabel.i18n.Money``) is written for machines, the same from every desk: in the XLSX a
number with a currency format (the spreadsheet shows it in its own locale and can add it up),
in the CSV a plain decimal with two places ("4961.55") and the currency in the next column
(:func:`csv_money_cells`), so no locale's separators or symbol get in a program's way. Times
in a CSV are ISO 8601 with the offset of the hospital's time zone (:func:`csv_time`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise

from offlabel.i18n import CURRENCY_SYMBOLS, Money, money_amount

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


def csv_time(moment: datetime, time_zone: str) -> str:
    """An aware time as ISO 8601 in the hospital's zone, with its offset
    ("2026-11-24T10:30:00+01:00"): a reader elsewhere still knows the instant."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(time_zone)).isoformat(timespec="seconds")


def csv_money_cells(
    headers: Iterable[Any], rows: Iterable[Iterable[Any]], *, currency_header: str = "Currency"
) -> tuple[list[Any], list[list[Any]]]:
    """Headers and rows for a CSV: each column holding ``Money`` becomes two, the amount as a
    plain decimal with two places and its currency."""
    rows = [list(r) for r in rows]
    headers = list(headers)
    money = {i for r in rows for i, c in enumerate(r) if isinstance(c, Money)}
    out_headers: list[Any] = []
    for i, h in enumerate(headers):
        out_headers += [h, currency_header] if i in money else [h]
    out_rows = []
    for r in rows:
        out: list[Any] = []
        for i, c in enumerate(r):
            if i not in money:
                out.append(c)
            elif isinstance(c, Money):
                out += [str(money_amount(c.amount)), c.currency]
            else:
                out += ["", ""]
        out_rows.append(out)
    return out_headers, out_rows


def xlsx_money_format(currency: str) -> str:
    """A spreadsheet number format with the currency's symbol, two decimals and grouping."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
    return f'"{symbol}" #,##0.00;-"{symbol}" #,##0.00'


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
    for value in (v if isinstance(v, Money) else cell_safe(v) for v in row):
        if isinstance(value, Money):
            cell = Cell(sheet, value=money_amount(value.amount))
            cell.number_format = xlsx_money_format(value.currency)
        elif isinstance(value, str):
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
