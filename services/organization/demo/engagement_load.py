"""The generated dual registrations (with their monthly reports), alliance memberships and star-rating
histories, recorded through the same use cases as live use (organization.engagement), each at the time the
fact happened, by the suite itself (`CallerContext.system()`)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from kit.clock import SHANGHAI
from kit.context import CallerContext
from kit.uow import UnitOfWork
from organization.app import engagement
from organization.demo.generate import DemoData

# The generator names the top rating after the source's wording; the service's ladder spells it out.
RATING = {"provincial_demo": "provincial_demonstration"}


def at(day: date) -> datetime:
    """A fact of `day`, recorded during office hours in Kunming."""
    return datetime.combine(day, time(9, 30), tzinfo=SHANGHAI)


def load_engagement(uow: UnitOfWork, demo: DemoData) -> dict[str, int]:
    """Record everything; how many of each."""
    ctx = CallerContext.system()
    organisations = {o.id: o for o in demo.alliance_organisations}

    def organisation(organisation_id: str) -> dict[str, Any]:
        o = organisations[organisation_id]
        return {"name": o.name, "kind": o.kind, "credit_code": None}

    for m in demo.alliance_memberships:
        joined = engagement.join_alliance(
            uow,
            ctx,
            {
                "host_id": m.body_id,
                "organisation": organisation(m.organisation_id),
                "joined_on": m.joined_on,
                "commitments": list(m.commitments),
            },
            recorded_at=at(m.joined_on),
        )
        if m.left_on is not None:
            engagement.leave_alliance(uow, ctx, joined["id"], {"left_on": m.left_on, "reason": "共建协议到期"})
    registrations: dict[str, str] = {}
    for r in demo.dual_registrations:
        registrant: dict[str, Any] = (
            {"registrant_kind": "member", "member_id": r.member_id}
            if r.registrant == "member"
            else {"registrant_kind": "organisation", "organisation": organisation(r.organisation_id or "")}
        )
        recorded = engagement.record_dual_registration(
            uow,
            ctx,
            {"community_id": r.community_id, "registered_on": r.registered_on, **registrant},
            recorded_at=at(r.registered_on),
        )
        registrations[r.id] = recorded["id"]
    for report in demo.service_reports:
        recorded = engagement.record_service_report(
            uow,
            ctx,
            {
                "registration_id": registrations[report.registration_id],
                "period": report.period,
                "services": report.services,
                "hours": report.hours,
            },
            recorded_at=at(report.reported_on),
        )
        if report.confirmed_on is not None:
            engagement.confirm_service_report(uow, ctx, recorded["id"], confirmed_at=at(report.confirmed_on))
    for change in demo.star_ratings:
        engagement.change_star_rating(
            uow,
            ctx,
            {
                "branch_id": change.branch_id,
                "rating": RATING.get(change.to_rating, change.to_rating),
                "effective_on": change.changed_on,
                "evidence": {"text": change.evidence},
                "reason": f"{change.decided_by}评定",
            },
            recorded_at=at(change.changed_on),
        )
    return {
        "alliance memberships": len(demo.alliance_memberships),
        "dual registrations": len(demo.dual_registrations),
        "service reports": len(demo.service_reports),
        "star rating changes": len(demo.star_ratings),
    }
