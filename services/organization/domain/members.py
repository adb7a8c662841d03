"""Party members: registration in a branch, updates under optimistic versions, transfers between branches
(history kept), leaving (never deleted), and who may see a member's unmasked ID number and phone.

The member aggregate holds only masked personal data; the handler encrypts the real values (an adapter's
job) and hands the domain what it needs to decide.

Mainland identity numbers and mobile numbers: the GB 11643 checksum, format checks and the masks every
response and log line shows in place of the real values (`530102********1234`, `138****5678`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

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


BRANCH_ROLES = ("secretary", "deputy_secretary", "committee_member", "member")


GENDERS = ("male", "female")


LEAVE_REASONS = ("moved_away", "deceased", "withdrew", "expelled", "other")


STATUSES = ("active", "left")


WRITER_ROLES = frozenset({"district_admin", "street_secretary", "community_secretary"})


READER_ROLES = WRITER_ROLES | {"branch_secretary", "member"}


# Roles that may ask for unmasked values of the members in their scope (a member always may, for themself).
REVEALING_ROLES = frozenset({"district_admin", "street_secretary", "community_secretary"})


PERSONAL_FIELDS = ("id_number", "phone")


class MemberError(Exception):
    kind = "invalid"
    code = "MEMBER_INVALID"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class MemberNotFound(MemberError):
    kind = "not_found"
    code = "MEMBER_NOT_FOUND"


class NotABranch(MemberError):
    code = "MEMBER_NOT_A_BRANCH"


class BranchClosed(MemberError):
    kind = "conflict"
    code = "MEMBER_BRANCH_CLOSED"


class InvalidPersonalData(MemberError):
    code = "MEMBER_PERSONAL_DATA_INVALID"


class InvalidDates(MemberError):
    code = "MEMBER_DATES_INVALID"


class DuplicateIdNumber(MemberError):
    kind = "conflict"
    code = "MEMBER_ID_NUMBER_TAKEN"

    def __init__(self) -> None:
        super().__init__("a member with this ID number is already registered", {"id_number": ["registered"]})


class MemberStale(MemberError):
    kind = "conflict"
    code = "MEMBER_STALE"


class MemberHasLeft(MemberError):
    kind = "conflict"
    code = "MEMBER_HAS_LEFT"


class SameBranch(MemberError):
    code = "MEMBER_SAME_BRANCH"


class RoleMayNotManageMembers(MemberError):
    kind = "forbidden"
    code = "MEMBER_ROLE_FORBIDDEN"


class RevealForbidden(MemberError):
    kind = "forbidden"
    code = "MEMBER_REVEAL_FORBIDDEN"


def check_may_write(role: str) -> None:
    if role not in WRITER_ROLES and role != "system":
        raise RoleMayNotManageMembers(f"a {role} may not change members")


def check_may_read(role: str) -> None:
    if role not in READER_ROLES and role != "system":
        raise RoleMayNotManageMembers(f"a {role} may not read members")


def may_reveal(role: str, scope_path: str, caller_member_id: str | None, member_id: str, member_path: str) -> bool:
    """Unmasked values: the member themself, or a revealing role whose scope holds the member."""
    if caller_member_id is not None and caller_member_id == member_id:
        return True
    return role in REVEALING_ROLES and bool(scope_path) and member_path.startswith(scope_path)


def check_personal_data(id_number: str | None, phone: str | None) -> None:
    """Field errors that never repeat the value (it would end up in logs and problem bodies)."""
    errors: dict[str, list[str]] = {}
    if id_number is not None and not is_valid_id_number(id_number):
        errors["id_number"] = ["not a valid 18-character resident ID number (GB 11643 checksum)"]
    if phone is not None and not is_valid_phone(phone):
        errors["phone"] = ["not a mainland mobile number (11 digits from 13-19)"]
    if errors:
        raise InvalidPersonalData("invalid personal data", errors)


def check_dates(*, today: date, birth_date: date | None, joined_party_on: date, full_member_on: date | None) -> None:
    errors: dict[str, list[str]] = {}
    if joined_party_on > today:
        errors["joined_party_on"] = ["cannot be in the future"]
    if full_member_on is not None and full_member_on < joined_party_on:
        errors["full_member_on"] = ["cannot be before joined_party_on"]
    if full_member_on is not None and full_member_on > today:
        errors["full_member_on"] = ["cannot be in the future"]
    if birth_date is not None and birth_date >= joined_party_on:
        errors["birth_date"] = ["must be before joined_party_on"]
    if errors:
        raise InvalidDates("inconsistent dates", errors)


@dataclass(frozen=True)
class Branch:
    """What the member rules need of the org node a member belongs to."""

    id: str
    level: str
    status: str
    org_path: str
    street_code: str

    def check_can_hold_members(self, field_name: str = "branch_id") -> None:
        if self.level != "branch":
            raise NotABranch("members belong to a party branch", {field_name: ["not a branch"]})
        if self.status != "active":
            raise BranchClosed("the branch is closed", {field_name: ["closed"]})


@dataclass(frozen=True)
class MemberRegistered:
    member: Member


@dataclass(frozen=True)
class MemberUpdated:
    member: Member
    changed: tuple[str, ...]


@dataclass(frozen=True)
class MemberTransferred:
    member: Member
    from_branch: Branch
    transferred_on: date


@dataclass(frozen=True)
class MemberLeft:
    member: Member


MemberEvent = MemberRegistered | MemberUpdated | MemberTransferred | MemberLeft


UPDATABLE = ("name", "role", "gender", "birth_date", "education", "joined_party_on", "full_member_on", "phone")


@dataclass
class Member:
    id: str
    name: str
    branch_id: str
    org_path: str
    street_code: str
    role: str
    joined_party_on: date
    id_number_masked: str
    registered_at: datetime
    phone_masked: str | None = None
    full_member_on: date | None = None
    gender: str | None = None
    birth_date: date | None = None
    education: str | None = None
    status: str = "active"
    version: int = 1
    left_on: date | None = None
    leave_reason: str | None = None
    events: list[MemberEvent] = field(default_factory=list, compare=False, repr=False)

    @property
    def standing(self) -> str:
        """Probationary (预备党员) until the full-membership date, full (正式党员) from it."""
        return "full" if self.full_member_on is not None else "probationary"

    @classmethod
    def register(
        cls,
        *,
        id: str,
        branch: Branch,
        data: dict[str, Any],
        id_number_masked: str,
        phone_masked: str | None,
        now: datetime,
        today: date,
    ) -> Member:
        branch.check_can_hold_members()
        check_dates(
            today=today,
            birth_date=data.get("birth_date"),
            joined_party_on=data["joined_party_on"],
            full_member_on=data.get("full_member_on"),
        )
        member = cls(
            id=id,
            name=data["name"],
            branch_id=branch.id,
            org_path=branch.org_path,
            street_code=branch.street_code,
            role=data.get("role") or "member",
            joined_party_on=data["joined_party_on"],
            full_member_on=data.get("full_member_on"),
            gender=data.get("gender"),
            birth_date=data.get("birth_date"),
            education=data.get("education"),
            id_number_masked=id_number_masked,
            phone_masked=phone_masked,
            registered_at=now,
        )
        member.events.append(MemberRegistered(replace(member, events=[])))
        return member

    def _check_current(self, expected_version: int) -> None:
        if expected_version != self.version:
            raise MemberStale(
                f"version {expected_version} is stale: the member is at version {self.version}",
                {"version": [f"current version is {self.version}"]},
            )
        if self.status != "active":
            raise MemberHasLeft("the member has left: the record is kept as it was")

    def update(
        self, changes: dict[str, Any], *, expected_version: int, today: date, phone_changed: bool = False
    ) -> tuple[str, ...]:
        """Apply the given fields; the names of those that really changed. The phone comes as its new mask,
        and two numbers can share a mask: the handler, which can compare the real values, says if it changed."""
        self._check_current(expected_version)
        changed = tuple(
            name
            for name in UPDATABLE
            if name in changes and (phone_changed if name == "phone" else getattr(self, _attr(name)) != changes[name])
        )
        if not changed:
            return ()
        check_dates(
            today=today,
            birth_date=changes.get("birth_date", self.birth_date),
            joined_party_on=changes.get("joined_party_on", self.joined_party_on),
            full_member_on=changes.get("full_member_on", self.full_member_on),
        )
        for name in changed:
            setattr(self, _attr(name), changes[name])
        self.version += 1
        self.events.append(MemberUpdated(replace(self, events=[]), changed))
        return changed

    def transfer(self, to: Branch, *, expected_version: int, on: date, from_branch: Branch) -> None:
        self._check_current(expected_version)
        to.check_can_hold_members("to_branch_id")
        if to.id == self.branch_id:
            raise SameBranch("the member is already in this branch", {"to_branch_id": ["the current branch"]})
        self.branch_id, self.org_path, self.street_code = to.id, to.org_path, to.street_code
        self.version += 1
        self.events.append(MemberTransferred(replace(self, events=[]), from_branch, on))

    def leave(self, *, expected_version: int, on: date, reason: str, today: date) -> None:
        self._check_current(expected_version)
        if on > today:
            raise InvalidDates("a member leaves today or earlier", {"left_on": ["cannot be in the future"]})
        if on < self.joined_party_on:
            raise InvalidDates("a member leaves after joining", {"left_on": ["cannot be before joined_party_on"]})
        self.status, self.left_on, self.leave_reason = "left", on, reason
        self.version += 1
        self.events.append(MemberLeft(replace(self, events=[])))


def _attr(name: str) -> str:
    return "phone_masked" if name == "phone" else name
