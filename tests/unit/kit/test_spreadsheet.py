"""The kit's one spreadsheet writer writes values, never formulas (security review, issue 10, section 2)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

from openpyxl import load_workbook

from kit.spreadsheet import xlsx

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "#N/A",  # openpyxl would make this an error cell
    "=",
]


def formulas(content: bytes) -> list[str]:
    """The <f> elements of the sheet's XML, as a spreadsheet program would find them."""
    return re.findall(r"<f[ >/]", zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode())


def test_text_that_looks_like_a_formula_is_written_as_text_exactly():
    content = xlsx("t", ["value"], [[text] for text in HOSTILE])
    assert formulas(content) == []
    sheet = load_workbook(io.BytesIO(content)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == HOSTILE
    assert {c.data_type for c in cells} == {"s"}
    assert all(c.quotePrefix for c in cells if c.value.startswith(("=", "+", "-", "@", "\t")))


def test_a_carriage_return_is_text_too():
    """XML reads a CR back as LF (end-of-line normalisation); what matters is that it is no formula."""
    content = xlsx("t", ["value"], [["\r=1+1"]])
    assert formulas(content) == []
    cell = load_workbook(io.BytesIO(content)).active["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("\n=1+1", "s", True)


def test_other_values_keep_their_type():
    content = xlsx("名册", ["a", "b", "c", "d"], [["张三", 7, date(2020, 1, 2), None]])
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["名册"]
    row = [c.value for c in book.active[2]]
    assert row[0] == "张三" and row[1] == 7 and row[2].date() == date(2020, 1, 2)
