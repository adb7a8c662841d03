"""Use cases of dual registration, service reports, alliances and star ratings: plain functions taking the
unit of work, the caller and the loaded input. Places are loaded within the caller's scope (outside it: not
found), the domain decides, the records and their events go to the unit of work in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from kit.clock import isoformat_z
from kit.context import CallerContext
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.adapters.repositories.engagement import (
    AllianceRepository,
    DualRegistrationRepository,
    RatingRepository,
    ServiceReportRepository,
)
from organization.adapters.repositories.members import MemberRepository
from organization.adapters.repositories.tree import OrgRepository
from organization.domain.engagement import (
    RECORDERS,
    AllianceJoined,
    AllianceLeft,
    AllianceMembership,
    AllianceMembershipNotFound,
    BranchRating,
    DualRegistration,
    DualRegistrationNotFound,
    DualRegistrationRecorded,
    Evidence,
    MemberOnFile,
    Organisation,
    OrganisationKind,
    Rating,
    RatingChange,
    RegistrantKind,
    ServiceReport,
    ServiceReportNotFound,
    ServiceReportRecorded,
    StarRatingChanged,
    check_role,
)
from organization.domain.errors import OrgNotFound
from organization.domain.tree import OrgNode


def _place(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> OrgNode:
    node = OrgRepository(uow.session).get(org_id, ctx.scope_path) if is_uuid(org_id) else None
    if node is None:
        raise OrgNotFound("organisation not found")
    return node


def _organisation(data: dict[str, Any] | None) -> Organisation | None:
    if data is None:
        return None
    return Organisation(name=data["name"], kind=OrganisationKind(data["kind"]), credit_code=data.get("credit_code"))


def _organisation_read(org: Organisation | None) -> dict[str, Any] | None:
    if org is None:
        return None
    return {"name": org.name, "kind": str(org.kind), "credit_code": org.credit_code}


def _emit(uow: UnitOfWork, kind: str, subject: str, data: dict[str, Any], street: str, org_path: str) -> None:
    uow.add_event(
        Event(type=kind, subject=subject, data=data, street_codes=(street,), org_path=org_path, time=uow.clock.now())
    )
    uow.audit(kind, kind.split(".")[0], subject, data)


# -- wire shapes ----------------------------------------------------------------------------------------
def registration_read(reg: DualRegistration) -> dict[str, Any]:
    return {
        "id": reg.id,
        "community_id": reg.community_id,
        "org_path": reg.org_path,
        "street_code": reg.street_code,
        "registrant_kind": str(reg.registrant_kind),
        "organisation": _organisation_read(reg.organisation),
        "member_id": reg.member_id,
        "member_name": reg.member_name,
        "registered_on": reg.registered_on.isoformat(),
        "ended_on": reg.ended_on.isoformat() if reg.ended_on else None,
        "active": reg.open,
        "recorded_at": isoformat_z(reg.recorded_at),
        "recorded_by": reg.recorded_by,
    }


def report_read(report: ServiceReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "registration_id": report.registration_id,
        "community_id": report.community_id,
        "org_path": report.org_path,
        "street_code": report.street_code,
        "period": report.period,
        "services": report.services,
        "hours": report.hours_tenths / 10,
        "people_served": report.people_served,
        "recorded_at": isoformat_z(report.recorded_at),
        "recorded_by": report.recorded_by,
        "confirmed": report.confirmed_at is not None,
        "confirmed_by": report.confirmed_by,
        "confirmed_at": isoformat_z(report.confirmed_at) if report.confirmed_at else None,
    }


def membership_read(m: AllianceMembership) -> dict[str, Any]:
    return {
        "id": m.id,
        "host_id": m.host_id,
        "host_level": str(m.host_level),
        "org_path": m.org_path,
        "street_code": m.street_code,
        "organisation": _organisation_read(m.organisation),
        "joined_on": m.joined_on.isoformat(),
        "left_on": m.left_on.isoformat() if m.left_on else None,
        "left_reason": m.left_reason,
        "commitments": list(m.commitments),
        "active": m.open,
        "recorded_at": isoformat_z(m.recorded_at),
        "recorded_by": m.recorded_by,
    }


def change_read(change: RatingChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "branch_id": change.branch_id,
        "org_path": change.org_path,
        "street_code": change.street_code,
        "from_rating": str(change.from_rating),
        "to_rating": str(change.to_rating),
        "effective_on": change.effective_on.isoformat(),
        "evidence": {"text": change.evidence.text, "document_refs": list(change.evidence.document_refs)},
        "reason": change.reason,
        "decided_by": change.decided_by,
        "decided_by_role": change.decided_by_role,
        "recorded_at": isoformat_z(change.recorded_at),
    }


def rating_read(name: str, rating: BranchRating) -> dict[str, Any]:
    return {
        "branch_id": rating.branch_id,
        "branch_name": name,
        "org_path": rating.org_path,
        "street_code": rating.street_code,
        "rating": str(rating.rating),
        "effective_on": rating.effective_on.isoformat() if rating.effective_on else None,
    }


# -- dual registration ----------------------------------------------------------------------------------
def record_dual_registration(
    uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any], *, recorded_at: datetime | None = None
) -> dict[str, Any]:
    check_role(ctx.role, RECORDERS, "record a dual registration")
    community = _place(uow, ctx, str(data["community_id"]))
    repo = DualRegistrationRepository(uow.session)
    reg = DualRegistration.register(
        id=str(uuid.uuid4()),
        community_id=community.id,
        community_level=community.level,
        org_path=community.org_path,
        street_code=community.street_code,
        registrant_kind=RegistrantKind(data["registrant_kind"]),
        organisation=_organisation(data.get("organisation")),
        member_id=data.get("member_id"),
        member_name=data.get("member_name"),
        member_on_file=_on_file(uow, ctx, data.get("member_id")),
        registered_on=data["registered_on"],
        ended_on=data.get("ended_on"),
        open_identities=repo.open_identities(community.id),
        recorded_at=recorded_at or uow.clock.now(),
        recorded_by=ctx.account_id,
    )
    repo.add(reg)
    _registration_events(uow, reg)
    return registration_read(reg)


def _on_file(uow: UnitOfWork, ctx: CallerContext, member_id: str | None) -> MemberOnFile | None:
    return MemberRepository(uow.session).on_file(member_id, ctx.scope_path) if member_id else None


def _registration_events(uow: UnitOfWork, reg: DualRegistration) -> None:
    """Recorded and ended carry the same registration (ended: with its `ended_on`)."""
    for event in reg.events:
        kind = (
            "dual_registration.recorded" if isinstance(event, DualRegistrationRecorded) else "dual_registration.ended"
        )
        wire = registration_read(event.registration)
        payload = {k: v for k, v in wire.items() if k not in ("active", "recorded_at", "recorded_by")}
        _emit(uow, kind, reg.id, payload, reg.street_code, reg.org_path)


def _registration(uow: UnitOfWork, ctx: CallerContext, registration_id: str, *, for_update: bool = False) -> Any:
    repo = DualRegistrationRepository(uow.session)
    reg = repo.get(registration_id, ctx.scope_path, for_update=for_update) if is_uuid(registration_id) else None
    if reg is None:
        raise DualRegistrationNotFound("dual registration not found")
    return repo, reg


def end_dual_registration(
    uow: UnitOfWork, ctx: CallerContext, registration_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    check_role(ctx.role, RECORDERS, "end a dual registration")
    repo, reg = _registration(uow, ctx, registration_id, for_update=True)
    reg.end(data["ended_on"])
    repo.save(reg)
    _registration_events(uow, reg)
    return registration_read(reg)


def get_dual_registration(uow: UnitOfWork, ctx: CallerContext, registration_id: str) -> dict[str, Any]:
    _, reg = _registration(uow, ctx, registration_id)
    return registration_read(reg)


def list_dual_registrations(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    items, cursor = DualRegistrationRepository(uow.session).search(ctx.scope_path, query)
    return {"items": [registration_read(r) for r in items], "next_cursor": cursor}


# -- service reports ------------------------------------------------------------------------------------
def record_service_report(
    uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any], *, recorded_at: datetime | None = None
) -> dict[str, Any]:
    check_role(ctx.role, RECORDERS, "record a service report")
    _, reg = _registration(uow, ctx, str(data["registration_id"]), for_update=True)
    reports = ServiceReportRepository(uow.session)
    report = reg.report(
        id=str(uuid.uuid4()),
        period=data["period"],
        services=data["services"],
        hours_tenths=round(data["hours"] * 10),
        people_served=data.get("people_served"),
        reported_periods=reports.reported_periods(reg.id),
        recorded_at=recorded_at or uow.clock.now(),
        recorded_by=ctx.account_id,
    )
    reports.add(report)
    _report_events(uow, report)
    return report_read(report)


_REPORT_FIELDS = ("id", "registration_id", "community_id", "org_path", "street_code", "period", "hours")


def _report_events(uow: UnitOfWork, report: ServiceReport) -> None:
    for event in report.events:
        wire = report_read(event.report)
        payload = {k: wire[k] for k in _REPORT_FIELDS}
        if isinstance(event, ServiceReportRecorded):
            kind = "service_report.recorded"
            payload |= {"services": wire["services"], "people_served": wire["people_served"]}
        else:
            kind = "service_report.confirmed"
            payload |= {"confirmed_by": wire["confirmed_by"], "confirmed_at": wire["confirmed_at"]}
        _emit(uow, kind, report.id, payload, report.street_code, report.org_path)


def _report(uow: UnitOfWork, ctx: CallerContext, report_id: str, *, for_update: bool = False) -> Any:
    repo = ServiceReportRepository(uow.session)
    report = repo.get(report_id, ctx.scope_path, for_update=for_update) if is_uuid(report_id) else None
    if report is None:
        raise ServiceReportNotFound("service report not found")
    return repo, report


def confirm_service_report(
    uow: UnitOfWork, ctx: CallerContext, report_id: str, *, confirmed_at: datetime | None = None
) -> dict[str, Any]:
    repo, report = _report(uow, ctx, report_id, for_update=True)
    report.confirm(role=ctx.role, account_id=ctx.account_id, now=confirmed_at or uow.clock.now())
    repo.save_confirmation(report)
    _report_events(uow, report)
    return report_read(report)


def get_service_report(uow: UnitOfWork, ctx: CallerContext, report_id: str) -> dict[str, Any]:
    _, report = _report(uow, ctx, report_id)
    return report_read(report)


def list_service_reports(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    items, cursor = ServiceReportRepository(uow.session).search(ctx.scope_path, query)
    return {"items": [report_read(r) for r in items], "next_cursor": cursor}


# -- alliances and big party committees -------------------------------------------------------------------
def _membership_event(uow: UnitOfWork, event: AllianceJoined | AllianceLeft) -> None:
    m = event.membership
    data: dict[str, Any] = {
        "id": m.id,
        "host_id": m.host_id,
        "host_level": str(m.host_level),
        "org_path": m.org_path,
        "street_code": m.street_code,
        "organisation": _organisation_read(m.organisation),
    }
    if isinstance(event, AllianceJoined):
        kind = "alliance.joined"
        data |= {"joined_on": m.joined_on.isoformat(), "commitments": list(m.commitments)}
    else:
        kind = "alliance.left"
        data |= {"left_on": m.left_on.isoformat() if m.left_on else None, "reason": m.left_reason}
    _emit(uow, kind, m.id, data, m.street_code, m.org_path)


def join_alliance(
    uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any], *, recorded_at: datetime | None = None
) -> dict[str, Any]:
    check_role(ctx.role, RECORDERS, "record an alliance membership")
    host = _place(uow, ctx, str(data["host_id"]))
    repo = AllianceRepository(uow.session)
    organisation = _organisation(data["organisation"])
    assert organisation is not None
    membership = AllianceMembership.join(
        id=str(uuid.uuid4()),
        host_id=host.id,
        host_level=host.level,
        org_path=host.org_path,
        street_code=host.street_code,
        organisation=organisation,
        joined_on=data["joined_on"],
        commitments=data.get("commitments") or [],
        open_identities=repo.open_identities(host.id),
        recorded_at=recorded_at or uow.clock.now(),
        recorded_by=ctx.account_id,
    )
    repo.add(membership)
    for event in membership.events:
        _membership_event(uow, event)
    return membership_read(membership)


def _membership(uow: UnitOfWork, ctx: CallerContext, membership_id: str, *, for_update: bool = False) -> Any:
    repo = AllianceRepository(uow.session)
    m = repo.get(membership_id, ctx.scope_path, for_update=for_update) if is_uuid(membership_id) else None
    if m is None:
        raise AllianceMembershipNotFound("alliance membership not found")
    return repo, m


def leave_alliance(uow: UnitOfWork, ctx: CallerContext, membership_id: str, data: dict[str, Any]) -> dict[str, Any]:
    check_role(ctx.role, RECORDERS, "record an organisation leaving")
    repo, m = _membership(uow, ctx, membership_id, for_update=True)
    m.leave(data["left_on"], data.get("reason"))
    repo.save(m)
    for event in m.events:
        _membership_event(uow, event)
    return membership_read(m)


def get_alliance_membership(uow: UnitOfWork, ctx: CallerContext, membership_id: str) -> dict[str, Any]:
    _, m = _membership(uow, ctx, membership_id)
    return membership_read(m)


def list_alliance_memberships(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    items, cursor = AllianceRepository(uow.session).search(ctx.scope_path, query)
    return {"items": [membership_read(m) for m in items], "next_cursor": cursor}


# -- star ratings ---------------------------------------------------------------------------------------
def _branch_rating(uow: UnitOfWork, ctx: CallerContext, branch_id: str, *, for_update: bool = False) -> Any:
    branch = _place(uow, ctx, branch_id)
    rating = BranchRating.of(
        branch_id=branch.id, level=branch.level, org_path=branch.org_path, street_code=branch.street_code
    )
    stored = RatingRepository(uow.session).current(branch.id, for_update=for_update)
    if stored is not None:
        # The branch's current place, whatever it was when last rated.
        rating.rating, rating.effective_on, rating.version = stored.rating, stored.effective_on, stored.version
    return branch, rating


def change_star_rating(
    uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any], *, recorded_at: datetime | None = None
) -> dict[str, Any]:
    _, rating = _branch_rating(uow, ctx, str(data["branch_id"]), for_update=True)
    evidence = data["evidence"]
    change = rating.change(
        id=str(uuid.uuid4()),
        to=Rating(data["rating"]),
        effective_on=data["effective_on"],
        evidence=Evidence(text=evidence["text"], document_refs=tuple(evidence.get("document_refs") or ())),
        reason=data["reason"],
        role=ctx.role,
        decided_by=ctx.account_id,
        now=recorded_at or uow.clock.now(),
    )
    RatingRepository(uow.session).save(rating, change)
    for event in rating.events:
        assert isinstance(event, StarRatingChanged)
        c = change_read(event.change)
        payload = {k: c[k] for k in ("id", "branch_id", "org_path", "street_code", "from_rating", "to_rating")}
        payload |= {k: c[k] for k in ("effective_on", "reason", "decided_by", "decided_by_role")}
        _emit(uow, "star_rating.changed", change.branch_id, payload, change.street_code, change.org_path)
    return change_read(change)


def get_star_rating(uow: UnitOfWork, ctx: CallerContext, branch_id: str) -> dict[str, Any]:
    branch, rating = _branch_rating(uow, ctx, branch_id)
    return rating_read(branch.name, rating)


def star_rating_history(uow: UnitOfWork, ctx: CallerContext, branch_id: str, query: dict[str, Any]) -> dict[str, Any]:
    branch, _ = _branch_rating(uow, ctx, branch_id)
    items, cursor = RatingRepository(uow.session).history(branch.id, query)
    return {"items": [change_read(c) for c in items], "next_cursor": cursor}


def list_star_ratings(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    rows, cursor = RatingRepository(uow.session).search(ctx.scope_path, query)
    return {"items": [rating_read(branch.name, rating) for branch, rating in rows], "next_cursor": cursor}


def count_star_ratings(uow: UnitOfWork, ctx: CallerContext) -> dict[str, Any]:
    per_street = RatingRepository(uow.session).counts(ctx.scope_path)
    totals = {str(r): 0 for r in Rating}
    items = []
    for street in sorted(per_street):
        counts = per_street[street]
        for name, n in counts.items():
            totals[name] += n
        items.append({"street_code": street, "counts": counts, "total": sum(counts.values())})
    return {"items": items, "totals": totals}
