"""A branch's roster as an Excel workbook (.xlsx, openpyxl), the way the district's offices exchange them:
one header row (Chinese or English column names), one member per row."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from kit.spreadsheet import xlsx

# wire field -> the column title offices use
COLUMNS: dict[str, str] = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "gender": "性别",
    "birth_date": "出生日期",
    "education": "学历",
    "role": "支部职务",
    "joined_party_on": "入党日期",
    "full_member_on": "转正日期",
}
EXPORT_COLUMNS: dict[str, str] = {**COLUMNS, "status": "状态", "id": "编号"}
# Chinese cell values -> wire values (English values are accepted as they are)
VALUES: dict[str, dict[str, str]] = {
    "gender": {"男": "male", "女": "female"},
    "role": {"书记": "secretary", "副书记": "deputy_secretary", "委员": "committee_member", "党员": "member"},
}
# Limits on what a file may make the reader do, checked before openpyxl reads anything: a 10 KiB .xlsx
# can unzip to megabytes of XML (a zip bomb), and openpyxl spends Python time on every element.
MAX_ROWS = 5000
MAX_COLUMNS = 32  # the header's width: the known columns, with room for empty or ignored ones
MAX_CELL_CHARS = 200  # every wire field is far shorter; the reader's answer stays small
MAX_ENTRIES = 64  # parts of the package: a roster saved by Excel has about a dozen
MAX_UNZIPPED_BYTES = 32 * 1024 * 1024  # all parts: 5,000 rows of 7 columns unzip to 2 MB
MAX_ELEMENTS = 400_000  # of all parts: 5,000 rows of 7 columns have 110,000


class RosterUnreadable(ValueError):
    pass


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    if value is None or isinstance(value, bool | float):
        return value
    return str(value)  # a time, a duration: the schema names the field; the reader's answer stays JSON


def check_archive(content: bytes) -> zipfile.ZipFile:
    """Refuse a package with too many parts, too much once unzipped or a compression other than Excel's,
    from the zip's directory alone (microseconds: a service checks this before it starts a reader).

    zipfile stops inflating a part at the size its central directory declares (and then fails its CRC), so
    the declared sizes bound the real ones; bzip2 and lzma inflate a whole chunk at once, so they are refused.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RosterUnreadable("the file is not an .xlsx workbook") from exc
    parts = archive.infolist()
    if len(parts) > MAX_ENTRIES:
        raise RosterUnreadable(f"the workbook has more than {MAX_ENTRIES} parts")
    if sum(p.file_size for p in parts) > MAX_UNZIPPED_BYTES:
        raise RosterUnreadable(f"the workbook unzips to more than {MAX_UNZIPPED_BYTES // 2**20} MiB")
    if any(p.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for p in parts):
        raise RosterUnreadable("the workbook uses a compression Excel does not")
    return archive


def check_package(content: bytes) -> None:
    """`check_archive`, then refuse a DTD or more than MAX_ELEMENTS XML elements in all parts together (what
    openpyxl would spend its time on), before openpyxl opens the file."""
    with check_archive(content) as archive:
        elements = [0]
        for part in archive.infolist():
            try:
                _count_elements(archive, part, elements)
            except RosterUnreadable:
                raise
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise RosterUnreadable("the file is not an .xlsx workbook") from exc


def _count_elements(archive: zipfile.ZipFile, part: zipfile.ZipInfo, elements: list[int]) -> None:
    """Count `part`'s XML elements into `elements[0]` (expat, streaming); stop where it stops being XML (a
    picture, say): openpyxl's parser is expat too and would stop at the same place."""

    def start(_name: str, _attributes: Any) -> None:
        elements[0] += 1
        if elements[0] > MAX_ELEMENTS:
            raise RosterUnreadable(
                f"the workbook holds more than {MAX_ELEMENTS:,} cells and other elements: "
                "keep only the roster's rows and columns"
            )

    def doctype(*_: Any) -> None:
        raise RosterUnreadable("the workbook declares a DTD, which Excel never writes")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    with archive.open(part) as stream:
        while chunk := stream.read(65536):
            try:
                parser.Parse(chunk, False)
            except expat.ExpatError:
                return


def _header_fields(header: tuple[Any, ...]) -> list[str | None]:
    titles = [str(h).strip() if h is not None else "" for h in header]
    width = max((i + 1 for i, title in enumerate(titles) if title), default=0)
    if width > MAX_COLUMNS:
        raise RosterUnreadable(f"the header row is {width} columns wide; a roster has at most {MAX_COLUMNS}")
    by_title = {title: name for name, title in COLUMNS.items()} | {name: name for name in COLUMNS}
    fields = [by_title.get(title) for title in titles[:width]]
    unknown = [title[:40] for title, field in zip(titles, fields, strict=False) if title and field is None]
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise RosterUnreadable(f"unknown columns: {', '.join(unknown[:5])}{more}")
    if "name" not in fields or "id_number" not in fields:
        raise RosterUnreadable("the header row needs at least 姓名 (name) and 身份证号 (id_number)")
    return fields


def read_roster(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(Excel row number, {wire field: value}) for every non-empty row; empty cells are left out.

    Reads the first sheet only as wide as its header and at most MAX_ROWS rows below it, after
    `check_package` has bounded what openpyxl will parse. CPU-heavy even so: a service runs it in a child
    process (kit.isolated), so the values are JSON's (strings, numbers)."""
    check_package(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterUnreadable("the file is not an .xlsx workbook") from exc
    try:
        sheet = book.worksheets[0]
        # Read-only openpyxl stops at the sheet's declared <dimension>, which a file may state wrongly (rows
        # silently left out) or hugely: the limits here are ours, not the file's.
        sheet.reset_dimensions()
        header = next(sheet.iter_rows(max_row=1, values_only=True), None)
        if header is None:
            raise RosterUnreadable("the workbook is empty")
        fields = _header_fields(header)
        found = []
        rows = sheet.iter_rows(min_row=2, max_col=len(fields), values_only=True)
        for number, values in enumerate(rows, start=2):
            if number - 1 > MAX_ROWS:
                raise RosterUnreadable(f"at most {MAX_ROWS} members per file")
            record = {}
            for name, value in zip(fields, values, strict=False):
                cell = _cell(value)
                if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                    raise RosterUnreadable(f"row {number}: a cell holds more than {MAX_CELL_CHARS} characters")
                if name is not None and cell is not None:
                    record[name] = VALUES.get(name, {}).get(cell, cell) if isinstance(cell, str) else cell
            if record:
                found.append((number, record))
        return found
    finally:
        book.close()


def _export_value(mapping: dict[str, str], value: Any) -> Any:
    return mapping.get(value, value) if isinstance(value, str) else value


def write_roster(records: Iterable[dict[str, Any]]) -> bytes:
    """The roster as .xlsx, through the kit's one writer: values only, never a formula."""
    back = {field: {v: k for k, v in mapping.items()} for field, mapping in VALUES.items()}
    rows = ([_export_value(back.get(name, {}), record.get(name)) for name in EXPORT_COLUMNS] for record in records)
    return xlsx("党员名册", list(EXPORT_COLUMNS.values()), rows)
