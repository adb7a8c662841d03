"""Use cases of members: register (one at a time or a whole roster), update, transfer, leave, read (masked,
or revealed with an access-log entry in the same transaction), search, export, and the access log itself.

Plain functions taking the unit of work, the caller and the cipher that seals personal data; the entrypoint
commits (through the kit) before it replies. Nothing personal goes into events, audit entries, idempotency
records or error messages: only masks, field names and member ids.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from kit.bulk import insert_many
from kit.clock import isoformat_z, local_date
from kit.context import CallerContext
from kit.errors import ServiceError
from kit.events import Event
from kit.green import pause
from kit.ids import is_uuid
from kit.isolated import Busy, ChildProcesses, Failed
from kit.logs import get_logger
from kit.uow import UnitOfWork
from organization.adapters.orm.members import MemberRow
from organization.adapters.personal_data import PersonalDataCipher
from organization.adapters.repositories.accounts import AccountRepository
from organization.adapters.repositories.members import MemberRepository, Sealed, Visibility, member_row
from organization.adapters.roster_xlsx import RosterUnreadable, check_archive, read_roster, write_roster
from organization.app.accounts import disable_account
from organization.domain.members import (
    PERSONAL_FIELDS,
    Branch,
    DuplicateIdNumber,
    Member,
    MemberError,
    MemberLeft,
    MemberNotFound,
    MemberRegistered,
    MemberStale,
    MemberTransferred,
    MemberUpdated,
    RevealForbidden,
    RoleMayNotManageMembers,
    check_dates,
    check_may_read,
    check_may_write,
    check_personal_data,
    mask_id_number,
    mask_phone,
    may_reveal,
    normalise_id_number,
)
from organization.schemas.members import RosterRow

LEAVING_REASON = "the member left the party organisation"
MAX_ROW_ERRORS = 20  # bad rows named in an import's 422; the count says how many there are
PAUSE_EVERY = 200  # rows between yields to the service's other green threads (kit.green)
# Rosters are read in child processes, at most two at a time per service process (kit.isolated).
ROSTER_READERS = ChildProcesses(slots=2, timeout=60, memory_bytes=1024 * 1024 * 1024)
log = get_logger("organization.members")


# -- wire shapes ---------------------------------------------------------------------------------------
def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def member_read(member: Member, revealed: tuple[str, str | None] | None = None) -> dict[str, Any]:
    """The member as the API shows it: masked personal data unless `revealed` carries the real values."""
    return {
        "id": member.id,
        "name": member.name,
        "branch_id": member.branch_id,
        "org_path": member.org_path,
        "street_code": member.street_code,
        "role": member.role,
        "gender": member.gender,
        "birth_date": _day(member.birth_date),
        "education": member.education,
        "joined_party_on": member.joined_party_on.isoformat(),
        "full_member_on": _day(member.full_member_on),
        "standing": member.standing,
        "id_number": revealed[0] if revealed else member.id_number_masked,
        "phone": revealed[1] if revealed else member.phone_masked,
        "revealed": revealed is not None,
        "status": member.status,
        "left_on": _day(member.left_on),
        "leave_reason": member.leave_reason,
        "version": member.version,
        "registered_at": isoformat_z(member.registered_at),
    }


def to_message(event: MemberRegistered | MemberTransferred | MemberLeft, now: datetime) -> Event:
    """The event other services see: ids, paths, roles and dates; never a name, ID number or phone."""
    member = event.member
    streets: tuple[str, ...] = (member.street_code,)
    match event:
        case MemberRegistered():
            kind, when = "member.registered", member.registered_at
            data: dict[str, Any] = {
                "id": member.id,
                "branch_id": member.branch_id,
                "org_path": member.org_path,
                "street_code": member.street_code,
                "role": member.role,
                "standing": member.standing,
                "joined_party_on": member.joined_party_on.isoformat(),
                "full_member_on": _day(member.full_member_on),
            }
        case MemberTransferred(from_branch=old, transferred_on=on):
            kind, when = "member.transferred", now
            data = {
                "id": member.id,
                "from_branch_id": old.id,
                "to_branch_id": member.branch_id,
                "old_path": old.org_path,
                "new_path": member.org_path,
                "old_street_code": old.street_code,
                "new_street_code": member.street_code,
                "transferred_on": on.isoformat(),
            }
            streets = tuple(dict.fromkeys((old.street_code, member.street_code)))
        case MemberLeft():
            kind, when = "member.left", now
            data = {
                "id": member.id,
                "branch_id": member.branch_id,
                "org_path": member.org_path,
                "street_code": member.street_code,
                "left_on": _day(member.left_on),
                "reason": member.leave_reason,
            }
    return Event(
        type=kind,
        subject=member.id,
        data=data,
        street_codes=streets,
        org_path=member.org_path,
        time=when,
    )


def _publish(uow: UnitOfWork, member: Member) -> None:
    now = uow.clock.now()
    for event in member.events:
        if isinstance(event, MemberUpdated):
            uow.audit("member.update", "member", member.id, {"changed": list(event.changed)})
            continue
        message = to_message(event, now)
        uow.add_event(message)
        uow.audit(message.type, "member", member.id, message.data)
    member.events.clear()


# -- helpers -------------------------------------------------------------------------------------------
def visibility(ctx: CallerContext) -> Visibility:
    if ctx.role == "member":
        return Visibility(ctx.scope_path, member_id=ctx.member_id or "")
    return Visibility(ctx.scope_path)


def _load(repo: MemberRepository, ctx: CallerContext, member_id: str, *, for_update: bool = False) -> Member:
    member = repo.get(member_id, visibility(ctx), for_update=for_update) if is_uuid(member_id) else None
    if member is None:
        raise MemberNotFound("member not found")
    return member


def _branch(repo: MemberRepository, ctx: CallerContext, branch_id: str, field_name: str = "branch_id") -> Branch:
    branch = repo.branch(str(branch_id), ctx.scope_path) if is_uuid(str(branch_id)) else None
    if branch is None:
        raise ServiceError("not_found", "MEMBER_BRANCH_NOT_FOUND", "branch not found", {field_name: ["not found"]})
    return branch


def seal(cipher: PersonalDataCipher, field_name: str, value: str) -> Sealed:
    mask = mask_id_number if field_name == "id_number" else mask_phone
    return Sealed(
        cipher=cipher.encrypt(value, purpose=field_name),
        hash=cipher.lookup_hash(value, purpose=field_name),
        masked=mask(value),
    )


def redacted(payload: Any, cipher: PersonalDataCipher) -> Any:
    """A request as the idempotency record fingerprints it: personal values replaced by their keyed hash
    (a plain SHA-256 of an ID number could be reversed by trying every plausible number)."""
    if isinstance(payload, dict):
        return {
            k: cipher.lookup_hash(str(v), purpose=k) if k in PERSONAL_FIELDS and v is not None else redacted(v, cipher)
            for k, v in payload.items()
        }
    if isinstance(payload, list):
        return [redacted(v, cipher) for v in payload]
    return payload


def _save(repo: MemberRepository, member: Member, phone: Sealed | None = None, *, phone_removed: bool = False) -> None:
    try:
        repo.save(member, phone, phone_removed=phone_removed)
    except StaleDataError:
        raise MemberStale("someone else changed this member first: reload and try again") from None


def _today(uow: UnitOfWork) -> date:
    return local_date(uow.clock.now())


# -- commands ------------------------------------------------------------------------------------------
def _register(
    uow: UnitOfWork,
    repo: MemberRepository,
    branch: Branch,
    data: dict[str, Any],
    cipher: PersonalDataCipher,
    member_id: str | None = None,
) -> Member:
    id_number = normalise_id_number(data["id_number"])
    phone = str(data["phone"]).strip() if data.get("phone") else None
    check_personal_data(id_number, phone)
    sealed_id = seal(cipher, "id_number", id_number)
    if repo.id_number_taken([sealed_id.hash]):
        raise DuplicateIdNumber()
    sealed_phone = seal(cipher, "phone", phone) if phone else None
    member = Member.register(
        id=member_id or str(uuid.uuid4()),
        branch=branch,
        data=data,
        id_number_masked=sealed_id.masked,
        phone_masked=sealed_phone.masked if sealed_phone else None,
        now=uow.clock.now(),
        today=_today(uow),
    )
    repo.add(member, sealed_id, sealed_phone)
    _publish(uow, member)
    return member


def register_many(
    uow: UnitOfWork, entries: Iterable[tuple[Branch, dict[str, Any], str]], cipher: PersonalDataCipher
) -> int:
    """Register many members in one transaction (the demo load, a roster import): each through the same rules
    and events as `register_member`, the rows written with executemany. ID numbers must be new: the unique
    index on their keyed hash refuses the whole batch otherwise. Returns how many."""
    members: list[Member] = []
    rows: list[dict[str, Any]] = []
    now, today = uow.clock.now(), _today(uow)
    for count, (branch, data, member_id) in enumerate(entries, start=1):
        if count % PAUSE_EVERY == 0:
            pause()
        id_number = normalise_id_number(data["id_number"])
        phone = str(data["phone"]).strip() if data.get("phone") else None
        check_personal_data(id_number, phone)
        sealed_id = seal(cipher, "id_number", id_number)
        sealed_phone = seal(cipher, "phone", phone) if phone else None
        member = Member.register(
            id=member_id,
            branch=branch,
            data=data,
            id_number_masked=sealed_id.masked,
            phone_masked=sealed_phone.masked if sealed_phone else None,
            now=now,
            today=today,
        )
        members.append(member)
        rows.append(member_row(member, sealed_id, sealed_phone))
    insert_many(uow.session, MemberRow, rows)
    for member in members:
        _publish(uow, member)
    return len(members)


def register_member(
    uow: UnitOfWork,
    ctx: CallerContext,
    data: dict[str, Any],
    cipher: PersonalDataCipher,
    *,
    member_id: str | None = None,
) -> dict[str, Any]:
    check_may_write(ctx.role)
    repo = MemberRepository(uow.session)
    branch = _branch(repo, ctx, data["branch_id"])
    return member_read(_register(uow, repo, branch, data, cipher, member_id))


def update_member(
    uow: UnitOfWork, ctx: CallerContext, member_id: str, data: dict[str, Any], cipher: PersonalDataCipher
) -> dict[str, Any]:
    check_may_write(ctx.role)
    repo = MemberRepository(uow.session)
    member = _load(repo, ctx, member_id)
    changes = {k: v for k, v in data.items() if k != "version"}
    sealed_phone: Sealed | None = None
    phone_changed = False
    if "phone" in changes:
        phone = changes["phone"].strip() if changes["phone"] else None
        check_personal_data(None, phone)
        new_hash = cipher.lookup_hash(phone, purpose="phone") if phone else None
        phone_changed = new_hash != repo.phone_hash(member.id)
        if phone and phone_changed:
            sealed_phone = seal(cipher, "phone", phone)
        changes["phone"] = sealed_phone.masked if sealed_phone else (member.phone_masked if phone else None)
    changed = member.update(changes, expected_version=data["version"], today=_today(uow), phone_changed=phone_changed)
    if changed:
        _save(repo, member, sealed_phone, phone_removed="phone" in changed and sealed_phone is None)
        _publish(uow, member)
    return member_read(member)


def transfer_member(uow: UnitOfWork, ctx: CallerContext, member_id: str, data: dict[str, Any]) -> dict[str, Any]:
    check_may_write(ctx.role)
    repo = MemberRepository(uow.session)
    member = _load(repo, ctx, member_id, for_update=True)
    from_branch = repo.branch(member.branch_id, "/")
    assert from_branch is not None
    to = _branch(repo, ctx, str(data["to_branch_id"]), "to_branch_id")
    member.transfer(to, expected_version=data["version"], on=data["transferred_on"], from_branch=from_branch)
    _save(repo, member)
    repo.add_transfer(member, from_branch, data["transferred_on"], uow.clock.now(), ctx.account_id)
    _publish(uow, member)
    return member_read(member)


def leave_member(uow: UnitOfWork, ctx: CallerContext, member_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The member leaves (the record stays); their accounts are disabled and their sessions revoked."""
    check_may_write(ctx.role)
    repo = MemberRepository(uow.session)
    member = _load(repo, ctx, member_id, for_update=True)
    member.leave(expected_version=data["version"], on=data["left_on"], reason=data["reason"], today=_today(uow))
    _save(repo, member)
    _publish(uow, member)
    for account in AccountRepository(uow.session).for_member(member.id):
        disable_account(uow, account, LEAVING_REASON)
    return member_read(member)


def read_roster_file(ctx: CallerContext, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The rows of an uploaded roster. Called before any transaction opens (on SQLite a writer holds the one
    write lock): the file is read in a child process (kit.isolated), so a slow or hostile file neither holds
    up the service's other callers nor takes its memory; the reader's limits are in adapters/roster_xlsx."""
    check_may_write(ctx.role)
    try:
        check_archive(content).close()  # the zip's directory alone refuses the worst bombs without a reader
        rows = ROSTER_READERS.run(read_roster, content, refusal=RosterUnreadable)
    except RosterUnreadable as exc:
        raise ServiceError("invalid", "MEMBER_ROSTER_UNREADABLE", str(exc), {"file": [str(exc)]}) from None
    except Busy:
        raise ServiceError(
            "rate_limited", "MEMBER_ROSTER_BUSY", "other rosters are being read: try again in a minute"
        ) from None
    except Failed as exc:
        log.warning("roster unreadable", reason=str(exc))
        detail = "the file could not be read (too large or malformed)"
        raise ServiceError("invalid", "MEMBER_ROSTER_UNREADABLE", detail, {"file": [detail]}) from None
    return [(int(number), dict(record)) for number, record in rows]


def import_roster(
    uow: UnitOfWork,
    ctx: CallerContext,
    branch_id: str,
    rows: list[tuple[int, dict[str, Any]]],
    cipher: PersonalDataCipher,
) -> dict[str, Any]:
    """Every row is checked first; one bad row and nothing is imported (422 naming the first
    MAX_ROW_ERRORS bad rows and how many there are). `rows` come from `read_roster_file`."""
    check_may_write(ctx.role)
    repo = MemberRepository(uow.session)
    branch = _branch(repo, ctx, branch_id)
    branch.check_can_hold_members()
    if not rows:
        raise ServiceError("invalid", "MEMBER_ROSTER_EMPTY", "the roster has no members", {"file": ["no rows"]})
    today = _today(uow)
    schema = RosterRow()
    errors: dict[int, dict[str, list[str]]] = {}
    loaded: list[tuple[int, dict[str, Any], str]] = []
    first_row_of: dict[str, int] = {}
    for count, (number, raw) in enumerate(rows, start=1):
        if count % PAUSE_EVERY == 0:
            pause()
        try:
            data = schema.load(raw)
            id_number = normalise_id_number(data["id_number"])
            check_dates(
                today=today,
                birth_date=data.get("birth_date"),
                joined_party_on=data["joined_party_on"],
                full_member_on=data.get("full_member_on"),
            )
        except ValidationError as exc:
            errors[number] = _field_errors(exc.messages)
            continue
        except MemberError as exc:
            errors[number] = exc.errors
            continue
        digest = cipher.lookup_hash(id_number, purpose="id_number")
        if digest in first_row_of:
            errors[number] = {"id_number": [f"the same ID number as row {first_row_of[digest]}"]}
            continue
        first_row_of[digest] = number
        loaded.append((number, data, digest))
    for digest in repo.id_number_taken([d for _, _, d in loaded]):
        errors[first_row_of[digest]] = {"id_number": ["already registered"]}
    if errors:
        raise _roster_invalid(errors)
    entries = [({**data, "branch_id": branch.id}, str(uuid.uuid4())) for _, data, _ in loaded]
    try:
        register_many(uow, ((branch, data, member_id) for data, member_id in entries), cipher)
    except IntegrityError:  # a concurrent registration of one of these ID numbers committed first
        raise DuplicateIdNumber() from None
    member_ids = [member_id for _, member_id in entries]
    uow.audit("member.import", "org", branch.id, {"imported": len(member_ids)})
    return {"branch_id": branch.id, "imported": len(member_ids), "member_ids": member_ids}


def _roster_invalid(errors: dict[int, dict[str, list[str]]]) -> ServiceError:
    """The first MAX_ROW_ERRORS bad rows, in order, and how many there are: a short answer however bad the file."""
    first = {f"row {number}": errors[number] for number in sorted(errors)[:MAX_ROW_ERRORS]}
    listed = "; ".join(f"{row}: {', '.join(fields)}" for row, fields in first.items())
    more = f" (the first {MAX_ROW_ERRORS} listed)" if len(errors) > MAX_ROW_ERRORS else ""
    detail = f"nothing was imported: {len(errors)} rows have errors{more}. {listed}"
    return ServiceError("invalid", "MEMBER_ROSTER_INVALID", detail, first)


def _field_errors(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in messages.items()}
    return {"_schema": [str(messages)]}


# -- reads ---------------------------------------------------------------------------------------------
def get_member(
    uow: UnitOfWork, ctx: CallerContext, member_id: str, reveal: bool, cipher: PersonalDataCipher
) -> dict[str, Any]:
    """A member, masked; with `reveal` and a caller allowed, unmasked and logged in this transaction."""
    check_may_read(ctx.role)
    repo = MemberRepository(uow.session)
    member = _load(repo, ctx, member_id)
    if not reveal:
        return member_read(member)
    if not may_reveal(ctx.role, ctx.scope_path, ctx.member_id, member.id, member.org_path):
        raise RevealForbidden(f"a {ctx.role} may not see unmasked personal data")
    id_cipher, phone_cipher = repo.sealed(member.id)
    revealed = (
        cipher.decrypt(id_cipher, purpose="id_number"),
        cipher.decrypt(phone_cipher, purpose="phone") if phone_cipher else None,
    )
    repo.log_access(
        now=uow.clock.now(),
        account_id=ctx.account_id,
        role=ctx.role,
        member_ids=[member.id],
        fields=PERSONAL_FIELDS if phone_cipher else ("id_number",),
        action="read",
        correlation_id=ctx.correlation_id,
    )
    return member_read(member, revealed)


def list_members(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    check_may_read(ctx.role)
    members, cursor = MemberRepository(uow.session).search(
        visibility(ctx), query, limit=query.get("limit", 50), cursor=query.get("cursor")
    )
    return {"items": [member_read(m) for m in members], "next_cursor": cursor}


def list_transfers(uow: UnitOfWork, ctx: CallerContext, member_id: str) -> dict[str, Any]:
    check_may_read(ctx.role)
    repo = MemberRepository(uow.session)
    member = _load(repo, ctx, member_id)
    return {
        "items": [
            {
                "from_branch_id": t.from_branch_id,
                "from_org_path": t.from_org_path,
                "to_branch_id": t.to_branch_id,
                "to_org_path": t.to_org_path,
                "transferred_on": t.transferred_on.isoformat(),
                "recorded_at": isoformat_z(t.recorded_at),
            }
            for t in repo.transfers(member.id)
        ]
    }


def export_roster(
    uow: UnitOfWork, ctx: CallerContext, branch_id: str, reveal: bool, cipher: PersonalDataCipher
) -> dict[str, Any]:
    """The branch's roster as .xlsx (base64 on the wire); unmasked only when asked by a revealing role whose
    scope holds the branch, and then every member in it is access-logged in this transaction."""
    check_may_write(ctx.role)
    repo = MemberRepository(uow.session)
    branch = _branch(repo, ctx, branch_id)
    if reveal and not may_reveal(ctx.role, ctx.scope_path, None, "", branch.org_path):
        raise RevealForbidden(f"a {ctx.role} may not see unmasked personal data")
    records = []
    for member, id_cipher, phone_cipher in repo.roster(branch.id, visibility(ctx)):
        revealed = None
        if reveal:
            revealed = (
                cipher.decrypt(id_cipher, purpose="id_number"),
                cipher.decrypt(phone_cipher, purpose="phone") if phone_cipher else None,
            )
        records.append(member_read(member, revealed))
    if reveal and records:
        repo.log_access(
            now=uow.clock.now(),
            account_id=ctx.account_id,
            role=ctx.role,
            member_ids=[r["id"] for r in records],
            fields=PERSONAL_FIELDS,
            action="export",
            correlation_id=ctx.correlation_id,
        )
    return {
        "branch_id": branch.id,
        "count": len(records),
        "revealed": reveal,
        "content": base64.b64encode(write_roster(records)).decode(),
    }


def list_access_log(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    if ctx.role not in ("district_admin", "system"):
        raise RoleMayNotManageMembers("only a district admin reads the access log")
    rows, cursor = MemberRepository(uow.session).access_log(
        query, limit=query.get("limit", 50), cursor=query.get("cursor")
    )
    return {
        "items": [
            {
                "occurred_at": isoformat_z(r.occurred_at),
                "account_id": r.account_id,
                "role": r.role,
                "member_id": r.member_id,
                "fields": r.fields.split(","),
                "action": r.action,
                "correlation_id": r.correlation_id,
            }
            for r in rows
        ],
        "next_cursor": cursor,
    }
