"""Every spreadsheet the suite writes (.xlsx), through one writer that writes values, never formulas.

openpyxl turns any string that starts with "=" into a formula (`<f>`) and "#N/A"-like strings into error
cells (`Cell._bind_value`). A member's name or education is the caller's text: written that way, a value
such as `=HYPERLINK("http://evil.example","x")` becomes a live formula on the office computer that opens
the export (CSV/formula injection, OWASP). Here every string is an inline string cell; one that a
spreadsheet program would read as a formula if the cell were edited (it starts with = + - @, a tab or a
carriage return) also gets Excel's quote prefix. The text itself is kept as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from kit.green import pause

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAUSE_EVERY = 500  # rows between yields to the service's other green threads (kit.green)


def xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One sheet: the header row, then `rows` (strings, numbers, dates or None), as .xlsx bytes."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append([_cell(sheet, value) for value in header])
    for count, row in enumerate(rows, start=1):
        sheet.append([_cell(sheet, value) for value in row])
        if count % PAUSE_EVERY == 0:
            pause()
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"  # text, whatever openpyxl guessed from its first character
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell
