"""Made-up members for tests: valid (checksummed) ID numbers and mobile numbers no real person holds in
this suite, each different per seed, and an .xlsx roster builder."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from typing import Any

from openpyxl import Workbook

from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.uow import UnitOfWork
from organization.app import accounts
from organization.domain.members import id_checksum

TITLES = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "gender": "性别",
    "joined_party_on": "入党日期",
    "full_member_on": "转正日期",
    "role": "支部职务",
}


# A region code no demo member is born in (the demo draws from Kunming's real codes, see names.yaml), so a
# test's member never collides with one of the 21,000 demo members the end-to-end suite runs beside.
TEST_AREA = "530199"


def id_number(seed: int, area: str = TEST_AREA) -> str:
    """An 18-character ID number with a valid birth date and checksum; distinct for seeds below 16,800,000."""
    year = 1950 + seed % 50
    month = 1 + (seed // 50) % 12
    day = 1 + (seed // 600) % 28
    serial = (seed // 16800) % 1000
    first17 = f"{area}{year:04d}{month:02d}{day:02d}{serial:03d}"
    return first17 + id_checksum(first17)


def phone(seed: int) -> str:
    return f"139{seed:08d}"[-11:]


def unique_seed() -> int:
    return uuid.uuid4().int % 16_000_000


def member_body(branch_id: str, seed: int, **extra: Any) -> dict[str, Any]:
    return {
        "branch_id": branch_id,
        "name": f"测试党员{seed}",
        "id_number": id_number(seed),
        "phone": phone(seed),
        "gender": "female",
        "joined_party_on": "2015-07-01",
        **extra,
    }


def roster(rows: list[dict[str, Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(TITLES.values()))
    for row in rows:
        sheet.append([row.get(name) for name in TITLES])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def member_account(db_url: str, member_id: str, org_id: str) -> str:
    """A `member` account for a registered member, written straight to the database (as the demo loader
    does); the accounts API has its own tests."""
    db = Database(db_url)
    username = f"m{uuid.uuid4().hex[:10]}"
    try:
        with UnitOfWork(db, service="organization", clock=SystemClock(), context=CallerContext.system()) as uow:
            accounts.add_account(
                uow,
                username=username,
                password="Guandu@2026",
                display_name="党员",
                role="member",
                org_id=org_id,
                member_id=member_id,
            )
            uow.commit()
    finally:
        db.dispose()
    return username


def crafted_roster(rows: int = 1000, empty_cells: int = 1000, *, target_bytes: int | None = None) -> bytes:
    """A roster header and then `rows` rows of `empty_cells` empty cells each (`<c/>`), deflated: a small
    file that unzips to megabytes of sheet XML (the security review's file: 1,000 x 1,000 is 10 KiB, 4 MB
    of XML). With `target_bytes`, rows are added until the file is about that size (a 1 MiB upload)."""
    base = zipfile.ZipFile(io.BytesIO(roster([])))
    row = b"<row>" + b"<c/>" * empty_cells + b"</row>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in base.infolist():
            data = base.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, data)
                continue
            head, rest = data.split(b"<sheetData>")
            header = rest.split(b"</row>")[0] + b"</row>"
            head = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:ALL1001"', head)
            with archive.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head + b"<sheetData>" + header)
                written = 0
                while written < rows or (target_bytes is not None and out.tell() < target_bytes):
                    sheet.write(row * 100)
                    written += 100
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()
