"""Use cases of whistles: collect, blow, report in, return, re-dispatch, handle, feedback, assessment, close and
reopen; read one or a page in the caller's scope; and the deadline scan the timer runs.

Each command loads the aggregate in the caller's scope (out of scope is not found, like a whistle that does
not exist), lets the domain decide (an illegal move raises and nothing is written), saves it with a guarded
UPDATE, and hands each fact the domain recorded to the unit of work as an event and an audit entry."""

from __future__ import annotations

import uuid
from base64 import b64encode
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kit.blobs import BlobStore, decode_photo, sniff_image
from kit.clock import isoformat_z, local_date
from kit.context import CallerContext
from kit.errors import ServiceError
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from whistle.adapters.repositories.catalogue import DepartmentRepository
from whistle.adapters.repositories.whistles import SECRETARY_ROLES, Stored, WhistleRepository, clock_rows
from whistle.app.catalogue import calendar, version_in_effect
from whistle.domain.calendar import Limit, Unit
from whistle.domain.duplicates import DUPLICATE_METRES, DUPLICATE_WINDOW, Point, bounding_box, is_likely_duplicate
from whistle.domain.errors import NotAllowed, NotRaiser, PlaceNotFound, WhistleError, WhistleNotFound
from whistle.domain.lifecycle import Fact, Source, Whistle
from whistle.domain.roles import check_may
from whistle.schemas.whistles import PHOTO_BYTES

SCAN_BATCH = 200
DUPLICATES_MAX = 50  # likely duplicates listed for one whistle


# -- wire shapes ---------------------------------------------------------------------------------------
def wire(value: Any) -> Any:
    """Facts hold datetimes (and tuples) at any depth: the wire has ISO-8601 with Z and lists."""
    if isinstance(value, datetime):
        return isoformat_z(value)
    if isinstance(value, dict):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    return value


def _when(value: datetime | None) -> str | None:
    return None if value is None else isoformat_z(value)


def whistle_read(w: Whistle, title: str | None, updated_at: datetime) -> dict[str, Any]:
    cal = calendar()
    clocks = clock_rows(w, cal)
    departments = [
        {
            "code": code,
            "role": str(a.role),
            "stage": str(a.stage),
            "summoned_at": isoformat_z(a.summoned_at),
            "reported_in_at": _when(a.reported_in_at),
            "handled_at": _when(a.handled_at),
            "returned_at": _when(a.returned_at),
            "return_reason": a.return_reason,
            "report_in_due": _when(a.report_in.due_at(cal)),
            "resolution_due": _when(a.resolution.due_at(cal)),
        }
        for code, a in sorted(w.departments.items())
    ]
    return {
        "id": w.id,
        "street_code": w.street_code,
        "org_path": w.org_path,
        "source": str(w.source),
        "kind": None if w.kind is None else str(w.kind),
        "situation_code": w.situation_code,
        "catalogue_version": w.catalogue_version,
        "state": str(w.state),
        "title": title,
        "description": w.description,
        "location": None if w.location is None else {"type": "Point", "coordinates": [w.location.lon, w.location.lat]},
        "raiser_account_id": w.raiser_account_id,
        "raiser_member_id": w.raiser_member_id,
        "lead": w.lead,
        "departments": departments,
        "deadlines": [
            {
                "department": c["department_code"],
                "stage": c["stage"],
                "due_at": _when(c["due_at"]),
                "status": c["status"],
            }
            for c in clocks
        ],
        "overdue": any(c["status"] == "overdue" for c in clocks),
        "round": w.round,
        "result": w.result,
        "evidence": list(w.evidence),
        "photos": list(w.photos),
        "satisfaction": None if w.satisfaction is None else str(w.satisfaction),
        "rating": w.rating,
        "reopens": w.reopens,
        "merged_into": w.merged_into,
        "created_at": isoformat_z(w.collected_at),
        "blown_at": _when(w.blown_at),
        "handled_at": _when(w.handled_at),
        "feedback_at": _when(w.feedback_at),
        "assessed_at": _when(w.assessed_at),
        "closed_at": _when(w.closed_at),
        "updated_at": isoformat_z(updated_at),
    }


def _publish(uow: UnitOfWork, w: Whistle, facts: list[Fact]) -> None:
    for fact in facts:
        data = wire({**fact.data, "departments": list(fact.department_codes)})
        uow.add_event(
            Event(
                type=fact.type,
                subject=w.id,
                data=data,
                street_codes=(w.street_code,),
                org_path=w.org_path,
                time=fact.at,
                department_codes=fact.department_codes,
            )
        )
        uow.audit(fact.type, "whistle", w.id, data)


# -- loading and saving --------------------------------------------------------------------------------
def _load(repo: WhistleRepository, ctx: CallerContext, whistle_id: str) -> tuple[Whistle, Stored]:
    found = repo.get(whistle_id, ctx, for_update=True) if is_uuid(whistle_id) else None
    if found is None:
        raise WhistleNotFound("whistle not found")
    return found


def _change(
    uow: UnitOfWork, ctx: CallerContext, whistle_id: str, action: str, move: Callable[[Whistle, datetime], list[Fact]]
) -> dict[str, Any]:
    """The shape of every command on an existing whistle: role, scope, decide, guarded save, facts."""
    check_may(ctx.role, action)
    repo = WhistleRepository(uow.session)
    w, row = _load(repo, ctx, whistle_id)
    now = uow.clock.now()
    facts = move(w, now)
    if not repo.save(w, row.version, now=now, cal=calendar()):
        raise ServiceError("conflict", "CONFLICT", "the whistle changed meanwhile; try again")
    _publish(uow, w, facts)
    return whistle_read(w, row.title, now)


def _department(ctx: CallerContext) -> str:
    if not ctx.department_code:
        raise NotAllowed("this account acts for no department")
    return ctx.department_code


def _place(ctx: CallerContext, org_path: str | None) -> str:
    """Where a new whistle belongs: a resident's or member's own community (their scope), a secretary's own node
    or a place within it, any place the suite names."""
    if ctx.role == "system":
        if org_path is None:
            raise WhistleError("the place is required", {"org_path": ["required"]})
        return org_path
    if org_path is None or org_path == ctx.scope_path:
        return ctx.scope_path
    if ctx.role in ("resident", "member") or not ctx.can_see(org_path):
        raise PlaceNotFound("no such place in your scope")
    return org_path


def _source(ctx: CallerContext, asked: str | None) -> Source:
    """A resident's and a member's whistles are theirs; a secretary's are their own or a patrol finding they
    pass on; the suite says which."""
    own = {"resident": Source.RESIDENT, "member": Source.MEMBER}.get(ctx.role, Source.SECRETARY)
    if asked is None or asked == own:
        return Source.PATROL if ctx.role == "system" and asked is None else own
    if ctx.role == "system" or (own is Source.SECRETARY and asked == Source.PATROL):
        return Source(asked)
    raise WhistleError(f"a {ctx.role} raises whistles as {own}", {"source": [f"not {asked}"]})


def _street_of(org_path: str) -> str:
    parts = org_path.strip("/").split("/")
    if len(parts) < 2:
        raise WhistleError("a whistle belongs to a street or a place within one", {"org_path": ["below a street"]})
    return parts[1]


# -- commands ------------------------------------------------------------------------------------------
def create_whistle(
    uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any], *, whistle_id: str | None = None
) -> dict[str, Any]:
    """Collect a whistle. A resident or member raises one in their own community (their scope); a secretary
    in a place within their scope (their own by default); the suite (patrol findings) anywhere it names.
    `whistle_id` is the demo loader's (stable ids across loads, `kit.demo_tree.demo_uid`); callers leave it out."""
    check_may(ctx.role, "create")
    org_path = _place(ctx, data.get("org_path"))
    source = _source(ctx, data.get("source"))
    if data.get("situation_code"):
        version_in_effect(uow).situation(data["situation_code"])  # an unknown one is refused now, not at blow
    location = data.get("location")
    now = uow.clock.now()
    w, facts = Whistle.collect(
        id=whistle_id or str(uuid.uuid4()),
        street_code=_street_of(org_path),
        org_path=org_path,
        source=source,
        description=data["description"],
        at=now,
        raiser_account_id=ctx.account_id,
        raiser_member_id=ctx.member_id if ctx.role == "member" else None,
        situation_code=data.get("situation_code"),
        location=None if location is None else Point(*location["coordinates"]),
    )
    repo = WhistleRepository(uow.session)
    repo.add(w, title=data.get("title"), now=now, cal=calendar())
    _publish(uow, w, facts)
    return whistle_read(w, data.get("title"), now)


def blow(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Summon the situation's lead and assisting departments (or those given) under the catalogue version in
    effect today; the whistle keeps that version for life."""

    def move(w: Whistle, now: datetime) -> list[Fact]:
        return w.blow(
            version_in_effect(uow, local_date(now)),
            calendar(),
            at=now,
            situation_code=data.get("situation_code"),
            lead=data.get("lead"),
            assisting=data.get("assisting"),
            known_departments=DepartmentRepository(uow.session).active_codes(),
        )

    return _change(uow, ctx, whistle_id, "blow", move)


def redispatch(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    def move(w: Whistle, now: datetime) -> list[Fact]:
        return w.redispatch(
            calendar(),
            at=now,
            lead=data["lead"],
            assisting=data.get("assisting") or (),
            reason=data.get("reason", ""),
            known_departments=DepartmentRepository(uow.session).active_codes(),
        )

    return _change(uow, ctx, whistle_id, "redispatch", move)


def report_in(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    department = _department(ctx)
    return _change(uow, ctx, whistle_id, "report_in", lambda w, now: w.report_in(department, calendar(), at=now))


def send_back(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    department = _department(ctx)
    return _change(
        uow, ctx, whistle_id, "send_back", lambda w, now: w.send_back(department, reason=data["reason"], at=now)
    )


def handle(
    uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any], blobs: BlobStore | None = None
) -> dict[str, Any]:
    """The lead hands in the result, its evidence and photos. Each photo must really be a JPEG, PNG or WebP; it
    is stored (content-addressed, so a retry stores nothing twice) before the change commits: a refused change
    leaves at most an unreferenced blob, never a whistle pointing at a missing one."""
    department = _department(ctx)
    photos = [
        decode_photo(p, max_bytes=PHOTO_BYTES, field=f"photos[{i}]") for i, p in enumerate(data.get("photos") or ())
    ]
    if photos and blobs is None:
        raise ServiceError("unavailable", "BLOBS_UNAVAILABLE", "photos cannot be stored here")
    keys = [blobs.put(body, content_type).key for body, content_type in photos] if blobs else []

    def move(w: Whistle, now: datetime) -> list[Fact]:
        return w.handle(department, result=data["result"], at=now, evidence=data.get("evidence") or (), photos=keys)

    return _change(uow, ctx, whistle_id, "handle", move)


def request_extension(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A department asks for more time, as the instant it needs (`requested_due_at`); a secretary decides."""
    department = _department(ctx)

    def move(w: Whistle, now: datetime) -> list[Fact]:
        until = data["requested_due_at"]
        return w.request_extension_until(department, until, calendar(), reason=data["reason"], at=now)

    return _change(uow, ctx, whistle_id, "request_extension", move)


def give_feedback(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The raiser says how satisfied; a secretary records it for a whistle no account raised (a patrol's)."""

    def move(w: Whistle, now: datetime) -> list[Fact]:
        raiser = w.raiser_account_id
        may = ctx.role == "system" or (ctx.account_id == raiser if raiser is not None else ctx.role in SECRETARY_ROLES)
        if not may:
            raise NotRaiser("feedback comes from whoever raised the whistle")
        return w.give_feedback(data["satisfaction"], at=now, comment=data.get("comment", ""))

    return _change(uow, ctx, whistle_id, "give_feedback", move)


def assess(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return _change(
        uow, ctx, whistle_id, "assess", lambda w, now: w.assess(data["rating"], at=now, comment=data.get("comment", ""))
    )


def close(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return _change(uow, ctx, whistle_id, "close", lambda w, now: w.close(calendar(), at=now))


def reopen(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return _change(uow, ctx, whistle_id, "reopen", lambda w, now: w.reopen(at=now, reason=data["reason"]))


def request_extension_by(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A department that reported in asks for a span more to resolve (`limit` {amount, unit}, `reason`); its
    system asks for an instant instead (`request_extension`). The demo loader calls this one."""
    department = _department(ctx)
    limit = Limit(int(data["limit"]["amount"]), Unit(data["limit"]["unit"]))

    def move(w: Whistle, now: datetime) -> list[Fact]:
        return w.request_extension(department, limit=limit, reason=data["reason"], at=now)

    return _change(uow, ctx, whistle_id, "request_extension", move)


def approve_extension(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A secretary grants `department` the time it asked for: its resolution deadline moves."""
    return _change(
        uow,
        ctx,
        whistle_id,
        "approve_extension",
        lambda w, now: w.approve_extension(data["department"], calendar(), at=now),
    )


def refuse_extension(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A secretary refuses `department` the time it asked for: its deadline stands."""
    return _change(
        uow,
        ctx,
        whistle_id,
        "refuse_extension",
        lambda w, now: w.refuse_extension(data["department"], at=now, reason=data.get("reason", "")),
    )


def pause(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Waiting on the resident (a visit, a document): every summoned department's clocks stand still."""
    return _change(uow, ctx, whistle_id, "pause", lambda w, now: w.pause(at=now, reason=data["reason"]))


def resume(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The clocks run again, each due instant later by the pause's length."""
    return _change(uow, ctx, whistle_id, "resume", lambda w, now: w.resume(calendar(), at=now))


def merge(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """重复诉求: a likely duplicate (the same situation within 50 m and 48 h) joins the live whistle it repeats;
    its departments stop and hear so. Both must be in the caller's scope (either one outside it is not found).
    Both rows are locked in id order, so two merges of a pair never deadlock and the target cannot close
    meanwhile. The target's history records what joined it."""
    check_may(ctx.role, "merge")
    into = str(data["into"])
    repo = WhistleRepository(uow.session)
    loaded = {wid: _load(repo, ctx, wid) for wid in sorted({whistle_id, into})}
    (w, row), (target, _) = loaded[whistle_id], loaded[into]
    now = uow.clock.now()
    facts = w.merge_into(target, at=now, reason=data.get("reason", ""))
    if not repo.save(w, row.version, now=now, cal=calendar()):
        raise ServiceError("conflict", "CONFLICT", "the whistle changed meanwhile; try again")
    _publish(uow, w, facts)
    joined = {"state": str(target.state), "from": w.id, "reason": data.get("reason", "")}
    uow.audit("whistle.duplicate_joined", "whistle", target.id, joined)  # the target's trail; no event
    return whistle_read(w, row.title, now)


# -- queries -------------------------------------------------------------------------------------------
def get_photo(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, key: str, blobs: BlobStore) -> dict[str, Any]:
    """One photo of a whistle the caller may read; any other key (or whistle) is not found, as a missing one."""
    found = WhistleRepository(uow.session).get(whistle_id, ctx) if is_uuid(whistle_id) else None
    if found is None or key not in found[0].photos:
        raise WhistleNotFound("photo not found")
    body = blobs.get(key)
    return {
        "key": key,
        "content_type": sniff_image(body) or "application/octet-stream",
        "data": b64encode(body).decode(),
    }


def get_whistle(uow: UnitOfWork, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
    found = WhistleRepository(uow.session).get(whistle_id, ctx) if is_uuid(whistle_id) else None
    if found is None:
        raise WhistleNotFound("whistle not found")
    w, row = found
    return whistle_read(w, row.title, row.updated_at)


def likely_duplicates(uow: UnitOfWork, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
    """The caller's live whistles that likely repeat this one (none without a situation or a place)."""
    check_may(ctx.role, "find_duplicates")
    repo = WhistleRepository(uow.session)
    found = repo.get(whistle_id, ctx) if is_uuid(whistle_id) else None
    if found is None:
        raise WhistleNotFound("whistle not found")
    w = found[0]
    mine = w.sighting()
    if mine is None:
        return {"items": []}
    box = bounding_box(mine.point, DUPLICATE_METRES)
    near = repo.near(ctx, w, box, DUPLICATE_WINDOW, DUPLICATES_MAX)
    items = [(o, stored) for o, stored in near if (theirs := o.sighting()) and is_likely_duplicate(mine, theirs)]
    return {"items": [whistle_read(o, stored.title, stored.updated_at) for o, stored in items]}


def list_whistles(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    found, cursor = WhistleRepository(uow.session).search(
        ctx, query, limit=query.get("limit", 50), cursor=query.get("cursor")
    )
    return {"items": [whistle_read(w, row.title, row.updated_at) for w, row in found], "next_cursor": cursor}


# -- the deadline timer --------------------------------------------------------------------------------
def deadlines_due(uow: UnitOfWork) -> bool:
    """Whether a scan has anything to do now (read in a reading unit, before the scan's writing one)."""
    return WhistleRepository(uow.session).any_due(uow.clock.now())


def scan_deadlines(uow: UnitOfWork, limit: int = SCAN_BATCH) -> int:
    """Announce what has come due on every whistle whose clock rows are due (reminders, overdue, escalations),
    each milestone once; how many facts this run announced. Safe with several replicas: PostgreSQL skips
    whistles another scan holds, and the guarded UPDATE lets only one writer save a whistle's announcements."""
    repo = WhistleRepository(uow.session)
    now, cal = uow.clock.now(), calendar()
    announced = 0
    for w, version in repo.claim_due(now, limit, skip_locked=uow.db.is_postgres):
        facts = w.check(now, cal)
        if repo.save(w, version, now=now, cal=cal):  # saved even without facts: the next check moves on
            _publish(uow, w, facts)
            announced += len(facts)
    return announced
