"""A branch's roster as an Excel workbook (.xlsx, openpyxl), the way the district's offices exchange them:
one header row (Chinese or English column names), one member per row."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

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
MAX_ROWS = 5000


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
    return value


def read_roster(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(Excel row number, {wire field: value}) for every non-empty row; empty cells are left out."""
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterUnreadable("the file is not an .xlsx workbook") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise RosterUnreadable("the workbook is empty")
        by_title = {title: name for name, title in COLUMNS.items()} | {name: name for name in COLUMNS}
        fields = [by_title.get(str(h).strip()) if h is not None else None for h in header]
        unknown = [str(h) for h, f in zip(header, fields, strict=True) if h is not None and f is None]
        if unknown:
            raise RosterUnreadable(f"unknown columns: {', '.join(unknown)}")
        if "name" not in fields or "id_number" not in fields:
            raise RosterUnreadable("the header row needs at least 姓名 (name) and 身份证号 (id_number)")
        found = []
        for number, values in enumerate(rows, start=2):
            if number - 1 > MAX_ROWS:
                raise RosterUnreadable(f"at most {MAX_ROWS} members per file")
            record = {}
            for name, value in zip(fields, values, strict=False):
                cell = _cell(value)
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
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "党员名册"
    sheet.append(list(EXPORT_COLUMNS.values()))
    back = {field: {v: k for k, v in mapping.items()} for field, mapping in VALUES.items()}
    for record in records:
        sheet.append([_export_value(back.get(name, {}), record.get(name)) for name in EXPORT_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
