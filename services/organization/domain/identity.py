"""Mainland identity numbers and mobile numbers: the GB 11643 checksum, format checks and the masks every
response and log line shows in place of the real values (`530102********1234`, `138****5678`)."""

from __future__ import annotations

import re
from datetime import date

ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# GB 11643-1999: weight of each of the first 17 digits, and the check character for (sum mod 11).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalise_id_number(value: str) -> str:
    """Surrounding blanks dropped and a lowercase check `x` raised: what is stored and hashed."""
    return value.strip().upper()


def id_checksum(first17: str) -> str:
    """The check character (0-9 or X) of the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("the checksum is computed over exactly 17 digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def birth_date_of(id_number: str) -> date | None:
    """The birth date an ID number encodes, or None when it is not a calendar date."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def is_valid_id_number(value: str) -> bool:
    """18 characters, a real birth date in positions 7-14 and the right GB 11643 check character."""
    number = normalise_id_number(value)
    if not ID_NUMBER_RE.match(number):
        return False
    born = birth_date_of(number)
    if born is None or born.year < 1900:
        return False
    return id_checksum(number[:17]) == number[17]


def is_valid_phone(value: str) -> bool:
    """A mainland mobile number: 11 digits starting 13-19."""
    return bool(PHONE_RE.match(value.strip()))


def mask_id_number(value: str) -> str:
    """`530102199001011234` -> `530102********1234` (the first 6 and last 4 kept)."""
    number = normalise_id_number(value)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(value: str) -> str:
    """`13812345678` -> `138****5678` (the first 3 and last 4 kept)."""
    phone = value.strip()
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
