"""Load and save dual registrations, service reports, alliance memberships and star ratings. Every read takes
the caller's scope: a record outside it is simply not found, and lists never show it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from kit.db import flush_or
from kit.orm import under
from kit.pagination import Order, page
from organization.adapters.orm.engagement import (
    AllianceMembershipRow,
    BranchRatingRow,
    DualRegistrationRow,
    RatingChangeRow,
    ServiceReportRow,
)
from organization.adapters.orm.tree import OrgRow
from organization.domain.engagement import (
    AllianceMembership,
    AlreadyJoined,
    AlreadyRegistered,
    BranchRating,
    DualRegistration,
    Evidence,
    Organisation,
    OrganisationKind,
    Rating,
    RatingChange,
    RatingConflict,
    RegistrantKind,
    ReportExists,
    ServiceReport,
    period_bounds,
)
from organization.domain.tree import Level, MovePlan


def _organisation(name: str | None, kind: str | None, credit_code: str | None) -> Organisation | None:
    if name is None or kind is None:
        return None
    return Organisation(name=name, kind=OrganisationKind(kind), credit_code=credit_code)


# -- dual registration ----------------------------------------------------------------------------------
REGISTRATION_ORDER: Order = [(DualRegistrationRow.recorded_at, True), (DualRegistrationRow.id, True)]
REPORT_ORDER: Order = [(ServiceReportRow.period, True), (ServiceReportRow.id, True)]


def to_registration(row: DualRegistrationRow) -> DualRegistration:
    return DualRegistration(
        id=row.id,
        community_id=row.community_id,
        org_path=row.org_path,
        street_code=row.street_code,
        registrant_kind=RegistrantKind(row.registrant_kind),
        organisation=_organisation(row.organisation_name, row.organisation_kind, row.credit_code),
        member_id=row.member_id,
        member_name=row.member_name,
        registered_on=row.registered_on,
        ended_on=row.ended_on,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )


def to_report(row: ServiceReportRow) -> ServiceReport:
    return ServiceReport(
        id=row.id,
        registration_id=row.registration_id,
        community_id=row.community_id,
        org_path=row.org_path,
        street_code=row.street_code,
        period=row.period,
        services=row.services,
        hours_tenths=row.hours_tenths,
        people_served=row.people_served,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
    )


class DualRegistrationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, registration_id: str, scope: str, *, for_update: bool = False) -> DualRegistration | None:
        query = select(DualRegistrationRow).where(
            DualRegistrationRow.id == registration_id, under(DualRegistrationRow.org_path, scope)
        )
        row = self.session.scalar(query.with_for_update() if for_update else query)
        return to_registration(row) if row is not None else None

    def open_identities(self, community_id: str) -> set[str]:
        return set(
            self.session.scalars(
                select(DualRegistrationRow.open_identity).where(
                    DualRegistrationRow.community_id == community_id, DualRegistrationRow.open_identity.is_not(None)
                )
            )
        )

    def add(self, reg: DualRegistration) -> None:
        org = reg.organisation
        self.session.add(
            DualRegistrationRow(
                id=reg.id,
                community_id=reg.community_id,
                org_path=reg.org_path,
                street_code=reg.street_code,
                registrant_kind=str(reg.registrant_kind),
                organisation_name=org.name if org else None,
                organisation_kind=str(org.kind) if org else None,
                credit_code=org.credit_code if org else None,
                member_id=reg.member_id,
                member_name=reg.member_name,
                registered_on=reg.registered_on,
                ended_on=reg.ended_on,
                open_identity=reg.identity if reg.open else None,
                recorded_at=reg.recorded_at,
                recorded_by=reg.recorded_by,
            )
        )
        flush_or(self.session, AlreadyRegistered("this registrant is already registered with the community"))

    def save(self, reg: DualRegistration) -> None:
        row = self.session.get(DualRegistrationRow, reg.id)
        assert row is not None
        row.ended_on = reg.ended_on
        row.open_identity = reg.identity if reg.open else None
        self.session.flush()

    def search(self, scope: str, filters: dict[str, Any]) -> tuple[list[DualRegistration], str | None]:
        query = select(DualRegistrationRow).where(under(DualRegistrationRow.org_path, scope))
        for name in ("community_id", "street_code", "registrant_kind", "member_id", "credit_code"):
            if filters.get(name):
                query = query.where(getattr(DualRegistrationRow, name) == str(filters[name]))
        if filters.get("organisation_name"):
            query = query.where(DualRegistrationRow.organisation_name == filters["organisation_name"])
        if filters.get("organisation_kind"):
            query = query.where(DualRegistrationRow.organisation_kind == filters["organisation_kind"])
        if filters.get("active") is not None:
            is_open = DualRegistrationRow.ended_on.is_(None)
            query = query.where(is_open if filters["active"] else ~is_open)
        if filters.get("period"):
            first, last = period_bounds(filters["period"])
            query = query.where(*_covering(first, last))
            if filters.get("unreported"):
                reported = exists().where(
                    ServiceReportRow.registration_id == DualRegistrationRow.id,
                    ServiceReportRow.period == filters["period"],
                )
                query = query.where(~reported)
        rows, cursor = page(
            self.session, query, REGISTRATION_ORDER, limit=filters.get("limit", 50), cursor=filters.get("cursor")
        )
        return [to_registration(r) for r in rows], cursor


def _covering(first: date, last: date) -> tuple[Any, ...]:
    """Registrations in force at some time during [first, last]."""
    return (
        DualRegistrationRow.registered_on <= last,
        DualRegistrationRow.ended_on.is_(None) | (DualRegistrationRow.ended_on >= first),
    )


class ServiceReportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, report_id: str, scope: str, *, for_update: bool = False) -> ServiceReport | None:
        query = select(ServiceReportRow).where(
            ServiceReportRow.id == report_id, under(ServiceReportRow.org_path, scope)
        )
        row = self.session.scalar(query.with_for_update() if for_update else query)
        return to_report(row) if row is not None else None

    def reported_periods(self, registration_id: str) -> set[str]:
        return set(
            self.session.scalars(
                select(ServiceReportRow.period).where(ServiceReportRow.registration_id == registration_id)
            )
        )

    def add(self, report: ServiceReport) -> None:
        self.session.add(
            ServiceReportRow(
                id=report.id,
                registration_id=report.registration_id,
                community_id=report.community_id,
                org_path=report.org_path,
                street_code=report.street_code,
                period=report.period,
                services=report.services,
                hours_tenths=report.hours_tenths,
                people_served=report.people_served,
                recorded_at=report.recorded_at,
                recorded_by=report.recorded_by,
            )
        )
        flush_or(self.session, ReportExists(f"a report for {report.period} is already recorded"))

    def save_confirmation(self, report: ServiceReport) -> None:
        row = self.session.get(ServiceReportRow, report.id)
        assert row is not None
        row.confirmed_by, row.confirmed_at = report.confirmed_by, report.confirmed_at
        self.session.flush()

    def search(self, scope: str, filters: dict[str, Any]) -> tuple[list[ServiceReport], str | None]:
        query = select(ServiceReportRow).where(under(ServiceReportRow.org_path, scope))
        for name in ("registration_id", "community_id", "street_code", "period"):
            if filters.get(name):
                query = query.where(getattr(ServiceReportRow, name) == str(filters[name]))
        if filters.get("confirmed") is not None:
            done = ServiceReportRow.confirmed_at.is_not(None)
            query = query.where(done if filters["confirmed"] else ~done)
        rows, cursor = page(
            self.session, query, REPORT_ORDER, limit=filters.get("limit", 50), cursor=filters.get("cursor")
        )
        return [to_report(r) for r in rows], cursor


# -- alliances and big party committees -------------------------------------------------------------------
MEMBERSHIP_ORDER: Order = [(AllianceMembershipRow.recorded_at, True), (AllianceMembershipRow.id, True)]


def to_membership(row: AllianceMembershipRow) -> AllianceMembership:
    organisation = _organisation(row.organisation_name, row.organisation_kind, row.credit_code)
    assert organisation is not None
    return AllianceMembership(
        id=row.id,
        host_id=row.host_id,
        host_level=Level(row.host_level),
        org_path=row.org_path,
        street_code=row.street_code,
        organisation=organisation,
        joined_on=row.joined_on,
        commitments=list(row.commitments),
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        left_on=row.left_on,
        left_reason=row.left_reason,
    )


class AllianceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, membership_id: str, scope: str, *, for_update: bool = False) -> AllianceMembership | None:
        query = select(AllianceMembershipRow).where(
            AllianceMembershipRow.id == membership_id, under(AllianceMembershipRow.org_path, scope)
        )
        row = self.session.scalar(query.with_for_update() if for_update else query)
        return to_membership(row) if row is not None else None

    def open_identities(self, host_id: str) -> set[str]:
        return set(
            self.session.scalars(
                select(AllianceMembershipRow.open_identity).where(
                    AllianceMembershipRow.host_id == host_id, AllianceMembershipRow.open_identity.is_not(None)
                )
            )
        )

    def add(self, m: AllianceMembership) -> None:
        self.session.add(
            AllianceMembershipRow(
                id=m.id,
                host_id=m.host_id,
                host_level=str(m.host_level),
                org_path=m.org_path,
                street_code=m.street_code,
                organisation_name=m.organisation.name,
                organisation_kind=str(m.organisation.kind),
                credit_code=m.organisation.credit_code,
                joined_on=m.joined_on,
                left_on=m.left_on,
                left_reason=m.left_reason,
                commitments=list(m.commitments),
                open_identity=m.organisation.identity if m.open else None,
                recorded_at=m.recorded_at,
                recorded_by=m.recorded_by,
            )
        )
        flush_or(self.session, AlreadyJoined(f"{m.organisation.name} is already a member here"))

    def save(self, m: AllianceMembership) -> None:
        row = self.session.get(AllianceMembershipRow, m.id)
        assert row is not None
        row.left_on, row.left_reason = m.left_on, m.left_reason
        row.open_identity = m.organisation.identity if m.open else None
        self.session.flush()

    def search(self, scope: str, filters: dict[str, Any]) -> tuple[list[AllianceMembership], str | None]:
        query = select(AllianceMembershipRow).where(under(AllianceMembershipRow.org_path, scope))
        for name in ("host_id", "host_level", "street_code", "credit_code", "organisation_name", "organisation_kind"):
            if filters.get(name):
                query = query.where(getattr(AllianceMembershipRow, name) == str(filters[name]))
        if filters.get("active") is not None:
            is_open = AllianceMembershipRow.left_on.is_(None)
            query = query.where(is_open if filters["active"] else ~is_open)
        rows, cursor = page(
            self.session, query, MEMBERSHIP_ORDER, limit=filters.get("limit", 50), cursor=filters.get("cursor")
        )
        return [to_membership(r) for r in rows], cursor


# -- star ratings ---------------------------------------------------------------------------------------
BRANCH_ORDER: Order = [(OrgRow.org_path, False), (OrgRow.id, False)]
CHANGE_ORDER: Order = [(RatingChangeRow.recorded_at, True), (RatingChangeRow.id, True)]


def _branches(scope: str) -> Any:
    return select(OrgRow).where(
        OrgRow.level == str(Level.BRANCH), OrgRow.status == "active", under(OrgRow.org_path, scope)
    )


def to_change(row: RatingChangeRow) -> RatingChange:
    return RatingChange(
        id=row.id,
        branch_id=row.branch_id,
        org_path=row.org_path,
        street_code=row.street_code,
        from_rating=Rating(row.from_rating),
        to_rating=Rating(row.to_rating),
        effective_on=row.effective_on,
        evidence=Evidence(text=row.evidence_text, document_refs=tuple(row.evidence_refs)),
        reason=row.reason,
        decided_by=row.decided_by,
        decided_by_role=row.decided_by_role,
        recorded_at=row.recorded_at,
    )


class RatingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, branch_id: str, *, for_update: bool = False) -> BranchRating | None:
        """The branch's rating row, None when it was never rated (the caller checked scope on the branch)."""
        query = select(BranchRatingRow).where(BranchRatingRow.branch_id == branch_id)
        row = self.session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            return None
        return BranchRating(
            branch_id=row.branch_id,
            org_path=row.org_path,
            street_code=row.street_code,
            rating=Rating(row.rating),
            effective_on=row.effective_on,
            version=row.version,
        )

    def save(self, rating: BranchRating, change: RatingChange) -> None:
        """Write the new current rating and its history entry; a concurrent decision fails the version check."""
        assert rating.effective_on is not None  # a decision always sets it
        row = self.session.get(BranchRatingRow, rating.branch_id)
        if row is None:
            self.session.add(
                BranchRatingRow(
                    branch_id=rating.branch_id,
                    org_path=rating.org_path,
                    street_code=rating.street_code,
                    rating=str(rating.rating),
                    effective_on=rating.effective_on,
                    version=rating.version,
                )
            )
        else:
            row.version = rating.version
            row.rating, row.effective_on = str(rating.rating), rating.effective_on
            row.org_path, row.street_code = rating.org_path, rating.street_code
        self.session.add(
            RatingChangeRow(
                id=change.id,
                branch_id=change.branch_id,
                org_path=change.org_path,
                street_code=change.street_code,
                from_rating=str(change.from_rating),
                to_rating=str(change.to_rating),
                effective_on=change.effective_on,
                evidence_text=change.evidence.text,
                evidence_refs=list(change.evidence.document_refs),
                reason=change.reason,
                decided_by=change.decided_by,
                decided_by_role=change.decided_by_role,
                recorded_at=change.recorded_at,
            )
        )
        flush_or(self.session, RatingConflict("another decision on this branch came first: reload and try again"))

    def history(self, branch_id: str, filters: dict[str, Any]) -> tuple[list[RatingChange], str | None]:
        query = select(RatingChangeRow).where(RatingChangeRow.branch_id == branch_id)
        rows, cursor = page(
            self.session, query, CHANGE_ORDER, limit=filters.get("limit", 50), cursor=filters.get("cursor")
        )
        return [to_change(r) for r in rows], cursor

    def search(self, scope: str, filters: dict[str, Any]) -> tuple[list[tuple[OrgRow, BranchRating]], str | None]:
        """Active branches in scope with their current rating (`none` when never rated)."""
        query = _branches(scope).outerjoin(BranchRatingRow, BranchRatingRow.branch_id == OrgRow.id)
        if filters.get("street_code"):
            query = query.where(OrgRow.street_code == filters["street_code"])
        if filters.get("branch_id"):
            query = query.where(OrgRow.id == str(filters["branch_id"]))
        if filters.get("rating"):
            if filters["rating"] == str(Rating.NONE):
                query = query.where(BranchRatingRow.rating.is_(None) | (BranchRatingRow.rating == str(Rating.NONE)))
            else:
                query = query.where(BranchRatingRow.rating == filters["rating"])
        rows, cursor = page(
            self.session, query, BRANCH_ORDER, limit=filters.get("limit", 50), cursor=filters.get("cursor")
        )
        found: list[OrgRow] = list(rows)
        ratings = {
            r.branch_id: r
            for r in self.session.scalars(
                select(BranchRatingRow).where(BranchRatingRow.branch_id.in_([b.id for b in found]))
            )
        }
        result = []
        for branch in found:
            rated = ratings.get(branch.id)
            result.append(
                (
                    branch,
                    BranchRating(
                        branch_id=branch.id,
                        org_path=branch.org_path,
                        street_code=branch.street_code,
                        rating=Rating(rated.rating) if rated else Rating.NONE,
                        effective_on=rated.effective_on if rated else None,
                        version=rated.version if rated else 0,
                    ),
                )
            )
        return result, cursor

    def counts(self, scope: str) -> dict[str, dict[str, int]]:
        """street code -> rating -> active branches in scope."""
        rating = func.coalesce(BranchRatingRow.rating, str(Rating.NONE))
        rows = self.session.execute(
            select(OrgRow.street_code, rating, func.count())
            .select_from(OrgRow)
            .outerjoin(BranchRatingRow, BranchRatingRow.branch_id == OrgRow.id)
            .where(OrgRow.level == str(Level.BRANCH), OrgRow.status == "active", under(OrgRow.org_path, scope))
            .group_by(OrgRow.street_code, rating)
        )
        counts: dict[str, dict[str, int]] = {}
        for street, value, n in rows:
            counts.setdefault(street, {str(r): 0 for r in Rating})[value] = int(n)
        return counts


def follow_move(session: Session, plan: MovePlan) -> None:
    """A subtree moved: the records that are current there (open registrations and memberships, branches'
    ratings) follow it; reports and rating decisions are historical facts and keep the path they had."""
    for table, current in (
        (DualRegistrationRow, DualRegistrationRow.ended_on.is_(None)),
        (AllianceMembershipRow, AllianceMembershipRow.left_on.is_(None)),
        (BranchRatingRow, None),
    ):
        below = under(table.org_path, plan.old_path)
        values: dict[str, Any] = {"org_path": plan.new_path + func.substr(table.org_path, len(plan.old_path) + 1)}
        if plan.new_street_code != plan.old_street_code:
            values["street_code"] = plan.new_street_code
        statement = update(table).where(below) if current is None else update(table).where(below, current)
        session.execute(statement.values(**values), execution_options={"synchronize_session": False})
