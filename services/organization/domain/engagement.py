"""Engagement with organisations outside the tree, pure: dual registration (双报到双报告) with its periodic
reports, alliances and big party committees (党建联盟 / 大党委), and branch star ratings (支部标准化 / 星级).

Each aggregate checks its own rules and records the events the unit of work turns into outbox rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from organization.domain.errors import OrgError
from organization.domain.tree import Level


# -- errors ---------------------------------------------------------------------------------------------
class EngagementNotFound(OrgError):
    kind = "not_found"
    code = "ENGAGEMENT_NOT_FOUND"


class DualRegistrationNotFound(EngagementNotFound):
    code = "DUAL_REGISTRATION_NOT_FOUND"


class ServiceReportNotFound(EngagementNotFound):
    code = "SERVICE_REPORT_NOT_FOUND"


class AllianceMembershipNotFound(EngagementNotFound):
    code = "ALLIANCE_MEMBERSHIP_NOT_FOUND"


class WrongLevel(OrgError):
    code = "ENGAGEMENT_WRONG_LEVEL"


class DatesInvalid(OrgError):
    code = "ENGAGEMENT_DATES_INVALID"


class RegistrantInvalid(OrgError):
    code = "DUAL_REGISTRATION_REGISTRANT_INVALID"


class AlreadyRegistered(OrgError):
    kind = "conflict"
    code = "DUAL_REGISTRATION_EXISTS"


class RegistrationEnded(OrgError):
    kind = "conflict"
    code = "DUAL_REGISTRATION_ENDED"


class PeriodOutsideRegistration(OrgError):
    code = "SERVICE_REPORT_PERIOD_OUTSIDE_REGISTRATION"


class ReportExists(OrgError):
    kind = "conflict"
    code = "SERVICE_REPORT_EXISTS"


class ReportAlreadyConfirmed(OrgError):
    kind = "conflict"
    code = "SERVICE_REPORT_ALREADY_CONFIRMED"


class AlreadyJoined(OrgError):
    kind = "conflict"
    code = "ALLIANCE_ALREADY_JOINED"


class AlreadyLeft(OrgError):
    kind = "conflict"
    code = "ALLIANCE_ALREADY_LEFT"


class RoleCannotAct(OrgError):
    kind = "forbidden"
    code = "ENGAGEMENT_ROLE_FORBIDDEN"


class RatingUnchanged(OrgError):
    kind = "conflict"
    code = "STAR_RATING_UNCHANGED"


class RatingTransitionRefused(OrgError):
    kind = "conflict"
    code = "STAR_RATING_INVALID_TRANSITION"


class RatingConflict(OrgError):
    kind = "conflict"
    code = "STAR_RATING_CONFLICT"


class RatingOutOfOrder(OrgError):
    kind = "conflict"
    code = "STAR_RATING_OUT_OF_ORDER"


# -- who may do what ------------------------------------------------------------------------------------
# The scope (the community, street or whole district the caller's account sits at) is the query's job;
# these say which roles may take each kind of action at all.
RECORDERS = frozenset({"system", "district_admin", "street_secretary", "community_secretary"})
RATERS = frozenset({"system", "district_admin", "street_secretary"})


def check_role(role: str, allowed: frozenset[str], action: str) -> None:
    if role not in allowed:
        raise RoleCannotAct(f"a {role} may not {action}")


def check_level(level: Level, expected: frozenset[Level], what: str) -> None:
    if level not in expected:
        wanted = " or ".join(sorted(expected))
        raise WrongLevel(f"{what} must be a {wanted}, not a {level}", {what: [f"must be a {wanted}"]})


# -- shared value objects -------------------------------------------------------------------------------
class OrganisationKind(StrEnum):
    AGENCY = "agency"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"
    TWO_NEW = "two_new"  # 两新组织: new economic and new social organisations


@dataclass(frozen=True)
class Organisation:
    """A named organisation outside the district tree (an agency's party organisation, a school, ...)."""

    name: str
    kind: OrganisationKind
    credit_code: str | None = None  # 统一社会信用代码

    @property
    def identity(self) -> str:
        """What makes two records the same organisation: the credit code when known, else the name."""
        return f"code:{self.credit_code}" if self.credit_code else f"name:{self.name.strip()}"


PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_bounds(period: str) -> tuple[date, date]:
    """The first and last day of a month period such as `2026-11`."""
    match = PERIOD_RE.match(period)
    if match is None:
        raise DatesInvalid(f"period {period!r} is not a month like 2026-11", {"period": ["a month like 2026-11"]})
    first = date(int(match[1]), int(match[2]), 1)
    following = (first + timedelta(days=31)).replace(day=1)
    return first, following - timedelta(days=1)


def check_dates(start: date, end: date | None, start_name: str, end_name: str) -> None:
    if end is not None and end < start:
        raise DatesInvalid(f"{end_name} {end} is before {start_name} {start}", {end_name: [f"not before {start_name}"]})


# -- dual registration (双报到双报告) ------------------------------------------------------------------------
class RegistrantKind(StrEnum):
    ORGANISATION = "organisation"  # an agency's party organisation registers with a community
    MEMBER = "member"  # an in-service party member registers where they live


@dataclass(frozen=True)
class MemberOnFile:
    """What the member registry says of a member a registration names: the registry is the source of truth
    for their name and whether they are still a member. `visible`: whether the caller may read the member's
    record; one who may not must already know the member (name them) and is told nothing they did not say."""

    name: str
    status: str
    visible: bool = True


@dataclass(frozen=True)
class DualRegistrationRecorded:
    registration: DualRegistration


@dataclass(frozen=True)
class DualRegistrationEnded:
    registration: DualRegistration


@dataclass(frozen=True)
class ServiceReportRecorded:
    report: ServiceReport


@dataclass(frozen=True)
class ServiceReportConfirmed:
    """The community confirmed the services were done: what other services count (scores, for one)."""

    report: ServiceReport


@dataclass
class DualRegistration:
    id: str
    community_id: str
    org_path: str
    street_code: str
    registrant_kind: RegistrantKind
    organisation: Organisation | None
    member_id: str | None
    member_name: str | None
    registered_on: date
    ended_on: date | None
    recorded_at: datetime
    recorded_by: str | None
    events: list[DualRegistrationRecorded | DualRegistrationEnded] = field(
        default_factory=list, compare=False, repr=False
    )

    @classmethod
    def register(
        cls,
        *,
        id: str,
        community_id: str,
        community_level: Level,
        org_path: str,
        street_code: str,
        registrant_kind: RegistrantKind,
        organisation: Organisation | None,
        member_id: str | None,
        member_name: str | None,
        member_on_file: MemberOnFile | None,
        registered_on: date,
        ended_on: date | None,
        open_identities: set[str],
        recorded_at: datetime,
        recorded_by: str | None,
    ) -> DualRegistration:
        check_level(community_level, frozenset({Level.COMMUNITY}), "community_id")
        if registrant_kind == RegistrantKind.ORGANISATION and organisation is None:
            raise RegistrantInvalid(
                "an organisation's registration names the organisation", {"organisation": ["required"]}
            )
        if registrant_kind == RegistrantKind.ORGANISATION and (member_id or member_name):
            raise RegistrantInvalid(
                "an organisation's registration names no member", {"member_id": ["only for a member"]}
            )
        if registrant_kind == RegistrantKind.MEMBER:
            member_name = cls._member_name(member_id, member_name, member_on_file)
        check_dates(registered_on, ended_on, "registered_on", "ended_on")
        registration = cls(
            id=id,
            community_id=community_id,
            org_path=org_path,
            street_code=street_code,
            registrant_kind=registrant_kind,
            organisation=organisation,
            member_id=member_id,
            member_name=member_name,
            registered_on=registered_on,
            ended_on=ended_on,
            recorded_at=recorded_at,
            recorded_by=recorded_by,
        )
        if ended_on is None and registration.identity in open_identities:
            raise AlreadyRegistered("this registrant is already registered with the community")
        registration.events.append(DualRegistrationRecorded(replace(registration, events=[])))
        return registration

    @staticmethod
    def _member_name(member_id: str | None, given: str | None, on_file: MemberOnFile | None) -> str:
        """The registered member's name as the registry has it (a name the client sends must agree).

        A member outside the caller's scope (an in-service member registering where they live) must be named by
        the caller, and every way it can fail (no such id, a member who left, another name) answers alike: the
        answer never shows a name, nor whether an id is a member, to someone who may not read the record."""
        if not member_id:
            raise RegistrantInvalid(
                "a member's registration names the member", {"member_id": ["required for a member"]}
            )
        if on_file is None or not on_file.visible:
            if given is None:
                raise RegistrantInvalid(
                    "name the member: their record is outside your scope",
                    {"member_name": ["required for a member outside your scope"]},
                )
            if on_file is None or on_file.status != "active" or given != on_file.name:
                raise RegistrantInvalid(
                    "no current party member has this id and name",
                    {"member_id": ["no current member with this id and name"]},
                )
            return on_file.name
        if on_file.status != "active":
            raise RegistrantInvalid("no current party member has this id", {"member_id": ["has left"]})
        if given is not None and given != on_file.name:
            raise RegistrantInvalid(
                "the name is not the member's", {"member_name": ["does not match the member's record"]}
            )
        return on_file.name

    @property
    def identity(self) -> str:
        """Who registered: one open registration per registrant and community."""
        if self.registrant_kind == RegistrantKind.MEMBER:
            return f"member:{self.member_id}"
        assert self.organisation is not None
        return self.organisation.identity

    @property
    def open(self) -> bool:
        return self.ended_on is None

    def end(self, ended_on: date) -> None:
        if self.ended_on is not None:
            raise RegistrationEnded(f"the registration already ended on {self.ended_on}")
        check_dates(self.registered_on, ended_on, "registered_on", "ended_on")
        self.ended_on = ended_on
        self.events.append(DualRegistrationEnded(replace(self, events=[])))

    def covers(self, period: str) -> bool:
        first, last = period_bounds(period)
        return self.registered_on <= last and (self.ended_on is None or self.ended_on >= first)

    def report(
        self,
        *,
        id: str,
        period: str,
        services: str,
        hours_tenths: int,
        people_served: int | None,
        reported_periods: set[str],
        recorded_at: datetime,
        recorded_by: str | None,
    ) -> ServiceReport:
        if not self.covers(period):
            raise PeriodOutsideRegistration(
                f"the registration does not cover {period} ({self.registered_on} to {self.ended_on or 'now'})",
                {"period": ["outside the registration's dates"]},
            )
        if period in reported_periods:
            raise ReportExists(f"a report for {period} is already recorded")
        report = ServiceReport(
            id=id,
            registration_id=self.id,
            community_id=self.community_id,
            org_path=self.org_path,
            street_code=self.street_code,
            period=period,
            services=services,
            hours_tenths=hours_tenths,
            people_served=people_served,
            recorded_at=recorded_at,
            recorded_by=recorded_by,
        )
        report.events.append(ServiceReportRecorded(replace(report, events=[])))
        return report


@dataclass
class ServiceReport:
    id: str
    registration_id: str
    community_id: str
    org_path: str
    street_code: str
    period: str
    services: str
    hours_tenths: int  # hours to one decimal, kept exact as tenths
    people_served: int | None
    recorded_at: datetime
    recorded_by: str | None
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    events: list[ServiceReportRecorded | ServiceReportConfirmed] = field(
        default_factory=list, compare=False, repr=False
    )

    def confirm(self, *, role: str, account_id: str | None, now: datetime) -> None:
        """The community (its secretary, or anyone above) confirms the services were done."""
        check_role(role, RECORDERS, "confirm a service report")
        if self.confirmed_at is not None:
            raise ReportAlreadyConfirmed(f"the report was already confirmed at {self.confirmed_at.isoformat()}")
        self.confirmed_by, self.confirmed_at = account_id, now
        self.events.append(ServiceReportConfirmed(replace(self, events=[])))


# -- alliances and big party committees -------------------------------------------------------------------
HOST_LEVELS = frozenset({Level.ALLIANCE, Level.BIG_PARTY_COMMITTEE})


@dataclass(frozen=True)
class AllianceJoined:
    membership: AllianceMembership


@dataclass(frozen=True)
class AllianceLeft:
    membership: AllianceMembership


@dataclass
class AllianceMembership:
    id: str
    host_id: str
    host_level: Level
    org_path: str
    street_code: str
    organisation: Organisation
    joined_on: date
    commitments: list[str]
    recorded_at: datetime
    recorded_by: str | None
    left_on: date | None = None
    left_reason: str | None = None
    events: list[AllianceJoined | AllianceLeft] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def join(
        cls,
        *,
        id: str,
        host_id: str,
        host_level: Level,
        org_path: str,
        street_code: str,
        organisation: Organisation,
        joined_on: date,
        commitments: list[str],
        open_identities: set[str],
        recorded_at: datetime,
        recorded_by: str | None,
    ) -> AllianceMembership:
        check_level(host_level, HOST_LEVELS, "host_id")
        if organisation.identity in open_identities:
            raise AlreadyJoined(f"{organisation.name} is already a member here: it must leave before joining again")
        membership = cls(
            id=id,
            host_id=host_id,
            host_level=host_level,
            org_path=org_path,
            street_code=street_code,
            organisation=organisation,
            joined_on=joined_on,
            commitments=list(commitments),
            recorded_at=recorded_at,
            recorded_by=recorded_by,
        )
        membership.events.append(AllianceJoined(replace(membership, events=[])))
        return membership

    @property
    def open(self) -> bool:
        return self.left_on is None

    def leave(self, left_on: date, reason: str | None) -> None:
        if self.left_on is not None:
            raise AlreadyLeft(f"{self.organisation.name} already left on {self.left_on}")
        check_dates(self.joined_on, left_on, "joined_on", "left_on")
        self.left_on, self.left_reason = left_on, reason
        self.events.append(AllianceLeft(replace(self, events=[])))


# -- branch standardisation and star ratings (支部标准化规范化 / 星级) ------------------------------------
class Rating(StrEnum):
    NONE = "none"
    STANDARD = "standard"  # 达标
    CITY_4_STAR = "city_4_star"
    CITY_5_STAR = "city_5_star"
    PROVINCIAL_DEMONSTRATION = "provincial_demonstration"  # 省级示范

    @property
    def rank(self) -> int:
        return RATING_ORDER.index(self)


RATING_ORDER = (
    Rating.NONE,
    Rating.STANDARD,
    Rating.CITY_4_STAR,
    Rating.CITY_5_STAR,
    Rating.PROVINCIAL_DEMONSTRATION,
)

# from -> the ratings a decision may give: a branch reaches the standard before any star; from there it may
# be rated any higher, and a rating may be withdrawn to any lower one (a failed review, a revoked title).
TRANSITIONS: dict[Rating, frozenset[Rating]] = {
    Rating.NONE: frozenset({Rating.STANDARD}),
    **{r: frozenset(set(RATING_ORDER) - {r}) for r in RATING_ORDER[1:]},
}


@dataclass(frozen=True)
class Evidence:
    text: str
    document_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class StarRatingChanged:
    change: RatingChange


@dataclass(frozen=True)
class RatingChange:
    id: str
    branch_id: str
    org_path: str
    street_code: str
    from_rating: Rating
    to_rating: Rating
    effective_on: date
    evidence: Evidence
    reason: str
    decided_by: str | None
    decided_by_role: str
    recorded_at: datetime


@dataclass
class BranchRating:
    """A branch's current rating; `none` (and no date) until the first decision."""

    branch_id: str
    org_path: str
    street_code: str
    rating: Rating = Rating.NONE
    effective_on: date | None = None
    version: int = 0
    events: list[StarRatingChanged] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def of(cls, *, branch_id: str, level: Level, org_path: str, street_code: str) -> BranchRating:
        check_level(level, frozenset({Level.BRANCH}), "branch_id")
        return cls(branch_id=branch_id, org_path=org_path, street_code=street_code)

    def change(
        self,
        *,
        id: str,
        to: Rating,
        effective_on: date,
        evidence: Evidence,
        reason: str,
        role: str,
        decided_by: str | None,
        now: datetime,
    ) -> RatingChange:
        check_role(role, RATERS, "change a branch's star rating")
        if to == self.rating:
            raise RatingUnchanged(f"the branch is already rated {to}")
        if to not in TRANSITIONS[self.rating]:
            raise RatingTransitionRefused(
                f"a branch rated {self.rating} cannot become {to}: it reaches the standard first",
                {"rating": [f"from {self.rating}: " + ", ".join(sorted(TRANSITIONS[self.rating]))]},
            )
        if self.effective_on is not None and effective_on < self.effective_on:
            raise RatingOutOfOrder(
                f"the current rating took effect on {self.effective_on}: a change cannot take effect before it",
                {"effective_on": [f"not before {self.effective_on}"]},
            )
        change = RatingChange(
            id=id,
            branch_id=self.branch_id,
            org_path=self.org_path,
            street_code=self.street_code,
            from_rating=self.rating,
            to_rating=to,
            effective_on=effective_on,
            evidence=evidence,
            reason=reason,
            decided_by=decided_by,
            decided_by_role=role,
            recorded_at=now,
        )
        self.rating, self.effective_on = to, effective_on
        self.version += 1
        self.events.append(StarRatingChanged(change))
        return change
