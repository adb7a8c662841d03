"""The roster workbook adapter: what a file may make the reader do (security review, issue 10, section 1),
and an export that writes values, never formulas (section 2). No timings here (bench/roster_import.py has
them): each refusal is shown by its message."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from organization.adapters.roster_xlsx import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_ENTRIES,
    RosterUnreadable,
    check_archive,
    read_roster,
    write_roster,
)
from tests.member_data import crafted_roster, id_number, roster

ROW = {"name": "张三", "id_number": id_number(1), "joined_party_on": "2015-07-01"}


def repack(content: bytes, *, compression: int = zipfile.ZIP_DEFLATED, sheet=None, extra: int = 0) -> bytes:
    """The same workbook with its sheet XML changed by `sheet`, another compression or `extra` more parts."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if sheet is not None and info.filename == "xl/worksheets/sheet1.xml":
                data = sheet(data)
            archive.writestr(info.filename, data)
        for i in range(extra):
            archive.writestr(f"docProps/extra{i}.xml", b"<x/>")
    return out.getvalue()


def refused(content: bytes) -> str:
    with pytest.raises(RosterUnreadable) as caught:
        read_roster(content)
    return str(caught.value)


def test_the_review_file_is_refused_by_counting_before_openpyxl_reads_it():
    """10 KiB, 1,000 rows of 1,000 empty cells, 4 MB of sheet XML: it kept the service busy 5.7 s."""
    content = crafted_roster(rows=1000, empty_cells=1000)
    assert len(content) < 16 * 1024
    assert "more than 400,000 cells" in refused(content)


def test_a_file_that_unzips_too_far_is_refused_from_the_zip_directory_alone():
    content = crafted_roster(rows=10_000, empty_cells=1000)  # 40 MB of XML in about 100 KiB
    with pytest.raises(RosterUnreadable, match="unzips to more than 32 MiB"):
        check_archive(content)
    assert "unzips to more than" in refused(content)


def test_too_many_parts_or_a_compression_excel_never_uses_is_refused():
    good = roster([ROW])
    assert "more than 64 parts" in refused(repack(good, extra=MAX_ENTRIES))
    assert "compression" in refused(repack(good, compression=zipfile.ZIP_BZIP2))


def test_a_dtd_is_refused():
    with_dtd = repack(roster([ROW]), sheet=lambda xml: b'<!DOCTYPE worksheet [<!ENTITY a "aaaa">]>' + xml)
    assert "DTD" in refused(with_dtd)


def test_rows_past_a_wrong_dimension_are_read_not_silently_dropped():
    """Read-only openpyxl stops at the sheet's declared <dimension>: a file claiming A1:G1 lost its rows."""
    two = roster([ROW, {**ROW, "name": "李四", "id_number": id_number(2)}])
    lying = repack(two, sheet=lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:G1"', xml))
    assert [number for number, _ in read_roster(lying)] == [2, 3]


def test_only_the_header_is_read_wide_and_its_width_is_bounded():
    # a value far right of the header is not read
    wide_row = repack(
        roster([ROW]),
        sheet=lambda xml: xml.replace(
            b"</row></sheetData>", b'<c r="ZZ2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
        ),
    )
    assert read_roster(wide_row) == [(2, {"name": "张三", "id_number": id_number(1), "joined_party_on": "2015-07-01"})]
    far = '<c r="AZ1" t="inlineStr"><is><t>手机号</t></is></c></row>'.encode()
    far_header = repack(roster([ROW]), sheet=lambda xml: xml.replace(b"</row>", far, 1))
    assert f"at most {MAX_COLUMNS}" in refused(far_header)


def test_refusals_stay_short():
    titles = [f"column {i} " + "x" * 500 for i in range(30)]
    book = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(["姓名", "身份证号", *titles])
    workbook.save(book)
    message = refused(book.getvalue())
    assert message.startswith("unknown columns") and "and 25 more" in message and len(message) < 400
    long_cell = roster([{**ROW, "name": "长" * (MAX_CELL_CHARS + 1)}])
    assert refused(long_cell) == f"row 2: a cell holds more than {MAX_CELL_CHARS} characters"


def test_the_export_writes_text_never_a_formula():
    hostile = '=HYPERLINK("http://evil.example","x")'
    content = write_roster([{"name": "=cmd|' /C calc'!A0", "education": hostile, "gender": "female"}])
    xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r"<f[ >/]", xml) == []
    sheet = load_workbook(io.BytesIO(content)).active
    values = {sheet.cell(1, c).value: sheet.cell(2, c) for c in range(1, sheet.max_column + 1)}
    assert (values["姓名"].value, values["学历"].value, values["性别"].value) == ("=cmd|' /C calc'!A0", hostile, "女")
    assert values["学历"].data_type == "s"
