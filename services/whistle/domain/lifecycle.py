"""The life of a whistle (吹哨 → 报到 → 办结 → 评价 → 考核 → 办结归档): the whistle-level state machine, each
summoned department's stage and clocks, and the facts every move records (the trace and the events)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from whistle.domain.assessment import Record, Satisfaction
from whistle.domain.calendar import Deadline, HolidayCalendar, Limit
from whistle.domain.catalogue import CatalogueVersion, Kind, Limits
from whistle.domain.duplicates import Point, Sighting, is_likely_duplicate
from whistle.domain.errors import (
    InvalidTransition,
    NotDuplicate,
    NotLead,
    NotSummoned,
    ReopenLimit,
    UnknownDepartment,
    UnknownSituation,
    WhistleError,
)

MAX_REOPENS = 2
RATINGS = range(1, 6)  # the secretary's stars


class State(StrEnum):
    COLLECTED = "collected"  # 收集: raised by a resident, member, patrol or secretary
    BLOWN = "blown"  # 吹哨: departments summoned
    RETURNED = "returned"  # the lead department sent it back: it needs re-dispatching
    PAUSED = "paused"  # waiting on the resident: every clock stands still
    HANDLED = "handled"  # the lead handed in the result
    FEEDBACK = "feedback"  # the requester said how satisfied
    ASSESSED = "assessed"  # the secretary rated it
    CLOSED = "closed"
    REOPENED = "reopened"  # not satisfied: to be re-dispatched
    MERGED = "merged"  # a duplicate, merged into another whistle


class Stage(StrEnum):
    SUMMONED = "summoned"
    REPORTED_IN = "reported_in"
    HANDLED = "handled"
    RETURNED = "returned"  # 退回: not our job


class Role(StrEnum):
    LEAD = "lead"
    ASSISTING = "assisting"


class Source(StrEnum):
    RESIDENT = "resident"
    MEMBER = "member"
    PATROL = "patrol"
    SECRETARY = "secretary"


class Action(StrEnum):
    BLOW = "blow"
    REDISPATCH = "redispatch"
    REPORT_IN = "report_in"
    SEND_BACK = "send_back"  # an assisting department returns it
    SEND_BACK_LEAD = "send_back_lead"  # the lead returns it
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    PAUSE = "pause"
    RESUME = "resume"
    HANDLE = "handle"
    GIVE_FEEDBACK = "give_feedback"
    ASSESS = "assess"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"


S, A = State, Action
# (state, action) -> the state it leads to; any other pair is an InvalidTransition (409) and changes nothing.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.COLLECTED, A.BLOW): S.BLOWN,
    (S.COLLECTED, A.MERGE): S.MERGED,
    (S.BLOWN, A.REDISPATCH): S.BLOWN,
    (S.BLOWN, A.REPORT_IN): S.BLOWN,
    (S.BLOWN, A.SEND_BACK): S.BLOWN,
    (S.BLOWN, A.SEND_BACK_LEAD): S.RETURNED,
    (S.BLOWN, A.REQUEST_EXTENSION): S.BLOWN,
    (S.BLOWN, A.APPROVE_EXTENSION): S.BLOWN,
    (S.BLOWN, A.REFUSE_EXTENSION): S.BLOWN,
    (S.BLOWN, A.PAUSE): S.PAUSED,
    (S.BLOWN, A.HANDLE): S.HANDLED,
    (S.BLOWN, A.MERGE): S.MERGED,
    (S.RETURNED, A.REDISPATCH): S.BLOWN,
    (S.RETURNED, A.REPORT_IN): S.RETURNED,  # the assisting departments go on meanwhile
    (S.RETURNED, A.SEND_BACK): S.RETURNED,
    (S.RETURNED, A.MERGE): S.MERGED,
    (S.PAUSED, A.RESUME): S.BLOWN,
    (S.HANDLED, A.GIVE_FEEDBACK): S.FEEDBACK,
    (S.FEEDBACK, A.ASSESS): S.ASSESSED,
    (S.FEEDBACK, A.REOPEN): S.REOPENED,
    (S.ASSESSED, A.CLOSE): S.CLOSED,
    (S.REOPENED, A.REDISPATCH): S.BLOWN,
}
# A summoned department's stage: (stage, action) -> stage. Assisting departments that reported in are handled
# with the lead's result.
DEPARTMENT_TRANSITIONS: dict[tuple[Stage, Action], Stage] = {
    (Stage.SUMMONED, A.REPORT_IN): Stage.REPORTED_IN,
    (Stage.SUMMONED, A.SEND_BACK): Stage.RETURNED,
    (Stage.REPORTED_IN, A.SEND_BACK): Stage.RETURNED,
    (Stage.REPORTED_IN, A.REQUEST_EXTENSION): Stage.REPORTED_IN,
    (Stage.REPORTED_IN, A.HANDLE): Stage.HANDLED,
}
FINAL = frozenset({S.CLOSED, S.MERGED})
CLOCKED = frozenset({S.BLOWN, S.RETURNED})  # the states whose clocks run (and `check` looks at)
ACTIVE_STAGES = frozenset({Stage.SUMMONED, Stage.REPORTED_IN})


@dataclass(frozen=True)
class Fact:
    """Something that happened to a whistle: the trace entry and the event (`whistle.<past-tense verb>`).
    `data` holds datetimes as datetimes; the app layer writes them on the wire."""

    type: str
    whistle_id: str
    at: datetime
    data: dict[str, Any]
    department_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """One summoned department on one whistle: its stage and its two clocks, both started at the summons.
    `announced` remembers the reminders, overdue and escalations already emitted (`<clock>:<milestone>`)."""

    department: str
    role: Role
    summoned_at: datetime
    report_in: Deadline
    resolution: Deadline
    stage: Stage = Stage.SUMMONED
    reported_in_at: datetime | None = None
    handled_at: datetime | None = None
    returned_at: datetime | None = None
    return_reason: str | None = None
    extension_requested: Limit | None = None
    extension_reason: str | None = None
    announced: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.stage in ACTIVE_STAGES

    def clocks(self) -> Iterator[tuple[str, Deadline]]:
        """The clocks still running against this department: report-in until it reports in, resolution until
        the whistle is handled."""
        if self.stage is Stage.SUMMONED:
            yield "report_in", self.report_in
        if self.active:
            yield "resolution", self.resolution

    def dues(self, cal: HolidayCalendar) -> dict[str, datetime | None]:
        return {"report_in_due": self.report_in.due_at(cal), "resolution_due": self.resolution.due_at(cal)}


@dataclass(frozen=True)
class Milestone:
    clock: str
    name: str  # "50", "80", "overdue", "street", "district"
    at: datetime

    @property
    def mark(self) -> str:
        return f"{self.clock}:{self.name}"


def milestones(clock: str, deadline: Deadline, cal: HolidayCalendar) -> list[Milestone]:
    """A clock's milestones in time order: reminders at 50% and 80%, overdue and the escalation to the street
    secretary at the due instant, and to the district once it has been overdue as long again as it was allowed
    (twice the span from the summons). None while paused."""
    due = deadline.due_at(cal)
    if due is None:
        return []
    reminders = [Milestone(clock, str(percent), at) for percent, at in deadline.reminders(cal)]
    district = due + (due - deadline.start)
    late = [Milestone(clock, "overdue", due), Milestone(clock, "street", due), Milestone(clock, "district", district)]
    return [*reminders, *late]


def _limit_data(limit: Limit) -> dict[str, Any]:
    return {"amount": limit.amount, "unit": str(limit.unit)}


@dataclass
class Whistle:
    """The aggregate. Every method validates first (an illegal move raises and changes nothing), then changes
    the whistle and returns the facts it recorded."""

    id: str
    street_code: str
    org_path: str
    source: Source
    description: str
    collected_at: datetime
    raiser_account_id: str | None = None
    raiser_member_id: str | None = None
    situation_code: str | None = None
    location: Point | None = None
    state: State = State.COLLECTED
    kind: Kind | None = None
    catalogue_version: int | None = None  # kept for life: the version the whistle was blown under
    limits: Limits | None = None
    lead: str | None = None  # None once the lead has returned it, until re-dispatched
    departments: dict[str, Assignment] = field(default_factory=dict)
    round: int = 1  # a reopened whistle is re-dispatched in a new round
    reopens: int = 0
    result: str | None = None
    evidence: tuple[str, ...] = ()
    photos: tuple[str, ...] = ()  # blob keys
    satisfaction: Satisfaction | None = None
    rating: int | None = None
    merged_into: str | None = None
    blown_at: datetime | None = None
    paused_at: datetime | None = None
    handled_at: datetime | None = None
    feedback_at: datetime | None = None
    assessed_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_at: datetime | None = None
    merged_at: datetime | None = None

    # -- life -------------------------------------------------------------------------------------------------

    @classmethod
    def collect(
        cls,
        *,
        id: str,
        street_code: str,
        org_path: str,
        source: Source,
        description: str,
        at: datetime,
        raiser_account_id: str | None = None,
        raiser_member_id: str | None = None,
        situation_code: str | None = None,
        location: Point | None = None,
    ) -> tuple[Whistle, list[Fact]]:
        if not description.strip():
            raise WhistleError("a whistle needs a description", {"description": ["required"]})
        whistle = cls(
            id=id,
            street_code=street_code,
            org_path=org_path,
            source=Source(source),
            description=description,
            collected_at=at,
            raiser_account_id=raiser_account_id,
            raiser_member_id=raiser_member_id,
            situation_code=situation_code,
            location=location,
        )
        point = None if location is None else {"lon": location.lon, "lat": location.lat}
        return whistle, [whistle._fact("whistle.collected", at, {"source": str(source), "location": point})]

    def blow(
        self,
        version: CatalogueVersion,
        cal: HolidayCalendar,
        *,
        at: datetime,
        situation_code: str | None = None,
        lead: str | None = None,
        assisting: Sequence[str] | None = None,
        known_departments: Collection[str] | None = None,
    ) -> list[Fact]:
        """Summon the situation's lead and assisting departments (or those given) under catalogue `version`."""
        target = self._target(A.BLOW)
        code = situation_code or self.situation_code
        if code is None:
            raise UnknownSituation("a whistle is blown for a situation", {"situation_code": ["required"]})
        situation = version.situation(code)
        lead = lead or situation.lead
        helpers = tuple(situation.assisting if assisting is None else assisting)
        _check_dispatch(lead, helpers, known_departments)
        self.situation_code, self.kind = code, situation.kind
        self.catalogue_version, self.limits = version.version, version.limits_for(code)
        self.state, self.blown_at, self.lead = target, at, lead
        summoned = self._summon(lead, helpers, at)
        data = {"catalogue_version": version.version, **self._dispatch_data(summoned, cal)}
        return [self._fact("whistle.blown", at, data, summoned)]

    def redispatch(
        self,
        cal: HolidayCalendar,
        *,
        at: datetime,
        lead: str,
        assisting: Sequence[str] = (),
        reason: str = "",
        known_departments: Collection[str] | None = None,
    ) -> list[Fact]:
        """Summon departments again: after the lead returned it, to add or change departments, or for a
        reopened whistle's new round. Departments still active keep their clocks; the others start new ones."""
        target = self._target(A.REDISPATCH)
        helpers = tuple(assisting)
        _check_dispatch(lead, helpers, known_departments)
        if self.state is S.REOPENED:
            self.departments, self.round = {}, self.round + 1
            self.result, self.evidence, self.photos, self.handled_at = None, (), (), None
            self.satisfaction = self.rating = self.feedback_at = None
        self.state, self.lead = target, lead
        summoned = self._summon(lead, helpers, at)
        data = {"reason": reason, "round": self.round, **self._dispatch_data(summoned, cal)}
        return [self._fact("whistle.redispatched", at, data, summoned)]

    def report_in(self, department: str, cal: HolidayCalendar, *, at: datetime) -> list[Fact]:
        target = self._target(A.REPORT_IN)
        assignment = self._assignment(department)
        stage = _stage(assignment, A.REPORT_IN)
        due = assignment.report_in.due_at(cal)
        self.state = target
        self.departments[department] = replace(assignment, stage=stage, reported_in_at=at)
        data = {"department": department, "report_in_due": due, "on_time": due is None or at <= due}
        return [self._fact("whistle.reported_in", at, data, (department,))]

    def send_back(self, department: str, *, reason: str, at: datetime) -> list[Fact]:
        """Return it: not this department's job (the reason is required). The lead's return leaves the whistle
        waiting for a re-dispatch."""
        is_lead = department == self.lead
        target = self._target(A.SEND_BACK_LEAD if is_lead else A.SEND_BACK)
        assignment = self._assignment(department)
        stage = _stage(assignment, A.SEND_BACK)
        if not reason.strip():
            raise WhistleError("a return needs a reason", {"reason": ["required"]})
        self.state = target
        self.departments[department] = replace(assignment, stage=stage, returned_at=at, return_reason=reason)
        if is_lead:
            self.lead = None
        data = {"department": department, "role": str(assignment.role), "reason": reason, "needs_redispatch": is_lead}
        return [self._fact("whistle.returned", at, data, (department,))]

    def request_extension(self, department: str, *, limit: Limit, reason: str, at: datetime) -> list[Fact]:
        """Ask for more time to resolve (the secretary approves or refuses); one request pending at a time."""
        target = self._target(A.REQUEST_EXTENSION)
        assignment = self._assignment(department)
        stage = _stage(assignment, A.REQUEST_EXTENSION)
        if assignment.extension_requested is not None:
            raise InvalidTransition(f"{department} already has an extension request pending")
        if not reason.strip():
            raise WhistleError("an extension request needs a reason", {"reason": ["required"]})
        self.state = target
        self.departments[department] = replace(
            assignment, stage=stage, extension_requested=limit, extension_reason=reason
        )
        data = {"department": department, "limit": _limit_data(limit), "reason": reason}
        return [self._fact("whistle.extension_requested", at, data, (department,))]

    def request_extension_until(
        self, department: str, until: datetime, cal: HolidayCalendar, *, reason: str, at: datetime
    ) -> list[Fact]:
        """An extension asked as the instant the department needs (what its own system knows): the whole hours
        from the resolution's due instant to it, after the same checks, in the same order, as a limit asked."""
        self._target(A.REQUEST_EXTENSION)
        assignment = self._assignment(department)
        _stage(assignment, A.REQUEST_EXTENSION)
        limit = assignment.resolution.extension_until(until, cal)
        return self.request_extension(department, limit=limit, reason=reason, at=at)

    def approve_extension(self, department: str, cal: HolidayCalendar, *, at: datetime) -> list[Fact]:
        """The resolution deadline moves by the requested limit; the new deadline's reminders and overdue are
        announced afresh where they now lie ahead."""
        target = self._target(A.APPROVE_EXTENSION)
        assignment, limit = self._pending(department)
        previous = assignment.resolution.due_at(cal)
        resolution = assignment.resolution.extended(limit)
        ahead = {m.mark for m in milestones("resolution", resolution, cal) if m.at > at}
        self.state = target
        self.departments[department] = replace(
            assignment,
            resolution=resolution,
            extension_requested=None,
            extension_reason=None,
            announced=assignment.announced - ahead,
        )
        data = {
            "department": department,
            "limit": _limit_data(limit),
            "reason": assignment.extension_reason,
            "previous_due": previous,
            "resolution_due": resolution.due_at(cal),
        }
        return [self._fact("whistle.extension_approved", at, data, (department,))]

    def refuse_extension(self, department: str, *, at: datetime, reason: str = "") -> list[Fact]:
        target = self._target(A.REFUSE_EXTENSION)
        assignment, limit = self._pending(department)
        self.state = target
        self.departments[department] = replace(assignment, extension_requested=None, extension_reason=None)
        data = {"department": department, "limit": _limit_data(limit), "reason": reason}
        return [self._fact("whistle.extension_refused", at, data, (department,))]

    def pause(self, *, at: datetime, reason: str) -> list[Fact]:
        """Wait on the resident: every active department's clocks stand still until `resume`."""
        target = self._target(A.PAUSE)
        if not reason.strip():
            raise WhistleError("a pause needs a reason", {"reason": ["required"]})
        self.state, self.paused_at = target, at
        for code, a in self._active().items():
            self.departments[code] = replace(a, report_in=a.report_in.paused(at), resolution=a.resolution.paused(at))
        return [self._fact("whistle.paused", at, {"reason": reason}, tuple(self._active()))]

    def resume(self, cal: HolidayCalendar, *, at: datetime) -> list[Fact]:
        target = self._target(A.RESUME)
        assert self.paused_at is not None  # set by pause
        if at < self.paused_at:
            raise WhistleError("a whistle cannot resume before it was paused", {"at": ["after the pause"]})
        paused_for = at - self.paused_at
        self.state, self.paused_at = target, None
        for code, a in self._active().items():
            self.departments[code] = replace(a, report_in=a.report_in.resumed(at), resolution=a.resolution.resumed(at))
        deadlines = {code: a.dues(cal) for code, a in self._active().items()}
        data = {"paused_seconds": paused_for.total_seconds(), "deadlines": deadlines}
        return [self._fact("whistle.resumed", at, data, tuple(self._active()))]

    def handle(
        self,
        department: str,
        *,
        result: str,
        at: datetime,
        evidence: Sequence[str] = (),
        photos: Sequence[str] = (),
    ) -> list[Fact]:
        """The lead hands in the result; assisting departments that reported in are handled with it."""
        target = self._target(A.HANDLE)
        assignment = self._assignment(department)
        if department != self.lead:
            raise NotLead(f"{department} is not the lead department of this whistle")
        stage = _stage(assignment, A.HANDLE)
        if not result.strip():
            raise WhistleError("a result is required", {"result": ["required"]})
        self.state, self.handled_at = target, at
        self.result, self.evidence, self.photos = result, tuple(evidence), tuple(photos)
        for code, a in self._active().items():
            if a.stage is Stage.REPORTED_IN:
                self.departments[code] = replace(a, stage=stage, handled_at=at)
        data = {"department": department, "result": result, "evidence": list(evidence), "photos": list(photos)}
        return [self._fact("whistle.handled", at, data, tuple(self.departments))]

    def give_feedback(self, satisfaction: Satisfaction | str, *, at: datetime, comment: str = "") -> list[Fact]:
        target = self._target(A.GIVE_FEEDBACK)
        if satisfaction not in tuple(Satisfaction):
            raise WhistleError(
                f"satisfaction is one of {', '.join(Satisfaction)}", {"satisfaction": [f"not {satisfaction!r}"]}
            )
        self.state, self.feedback_at, self.satisfaction = target, at, Satisfaction(satisfaction)
        data = {"satisfaction": str(self.satisfaction), "comment": comment}
        return [self._fact("whistle.feedback_given", at, data, tuple(self.departments))]

    def assess(self, rating: int, *, at: datetime, comment: str = "") -> list[Fact]:
        target = self._target(A.ASSESS)
        if isinstance(rating, bool) or rating not in RATINGS:
            raise WhistleError("a rating is 1 to 5 stars", {"rating": [f"not {rating!r}"]})
        self.state, self.assessed_at, self.rating = target, at, rating
        return [self._fact("whistle.assessed", at, {"rating": rating, "comment": comment}, tuple(self.departments))]

    def close(self, cal: HolidayCalendar, *, at: datetime) -> list[Fact]:
        """Close it; the fact carries each department's timeliness and the satisfaction: what scoring needs."""
        target = self._target(A.CLOSE)
        self.state, self.closed_at = target, at
        timeliness = {
            r.department: {
                "report_in_on_time": r.reported_on_time(at),
                "resolution_on_time": r.resolved_on_time(at),
                "returned": r.returned,
                "report_in_due": r.report_in_due,
                "resolution_due": r.resolution_due,
            }
            for r in self.records(cal)
        }
        data = {
            "satisfaction": None if self.satisfaction is None else str(self.satisfaction),
            "rating": self.rating,
            "reopens": self.reopens,
            "timeliness": timeliness,
        }
        return [self._fact("whistle.closed", at, data, tuple(self.departments))]

    def reopen(self, *, at: datetime, reason: str) -> list[Fact]:
        """The requester is not satisfied: back to the secretary to re-dispatch, at most MAX_REOPENS times."""
        target = self._target(A.REOPEN)
        if self.satisfaction is not Satisfaction.NOT:
            raise InvalidTransition("only a whistle whose requester is not satisfied reopens")
        if self.reopens >= MAX_REOPENS:
            raise ReopenLimit(f"a whistle reopens at most {MAX_REOPENS} times")
        self.state, self.reopened_at, self.reopens = target, at, self.reopens + 1
        data = {"reason": reason, "reopens": self.reopens}
        return [self._fact("whistle.reopened", at, data, tuple(self.departments))]

    def sighting(self) -> Sighting | None:
        """What duplicate detection compares (None without a situation or a place: nothing to compare)."""
        if self.situation_code is None or self.location is None:
            return None
        return Sighting(self.situation_code, self.location, self.collected_at)

    def merge_into(self, other: Whistle, *, at: datetime, reason: str = "") -> list[Fact]:
        """This whistle, a likely duplicate of the live `other` (duplicates.is_likely_duplicate), joins it: its
        running clocks stop and its departments hear that it is merged."""
        target = self._target(A.MERGE)
        if other.id == self.id:
            raise InvalidTransition("a whistle cannot be merged into itself")
        if other.state in FINAL:
            raise InvalidTransition(f"a whistle cannot be merged into a {other.state} one")
        mine, theirs = self.sighting(), other.sighting()
        if mine is None or theirs is None or not is_likely_duplicate(mine, theirs):
            raise NotDuplicate("only the same situation within 50 m and 48 h merges")
        stopped = tuple(self._active())
        self.state, self.merged_at, self.merged_into = target, at, other.id
        data = {"into": other.id, "reason": reason}
        return [self._fact("whistle.merged", at, data, stopped)]

    # -- clocks -----------------------------------------------------------------------------------------------

    def check(self, now: datetime, cal: HolidayCalendar) -> list[Fact]:
        """Announce what has come due by `now`, each milestone once: the latest reminder passed (50% or 80%;
        none once overdue), overdue, and escalation to the street, then the district. Facts are timed at the
        milestone."""
        if self.state not in CLOCKED:
            return []
        facts: list[Fact] = []
        for code, assignment in sorted(self._active().items()):
            marks: set[str] = set()
            for clock, deadline in assignment.clocks():
                passed = [
                    m for m in milestones(clock, deadline, cal) if m.at <= now and m.mark not in assignment.announced
                ]
                marks |= {m.mark for m in passed}
                facts += self._announce(code, deadline.due_at(cal), passed)
            if marks:
                self.departments[code] = replace(assignment, announced=assignment.announced | marks)
        return sorted(facts, key=lambda f: f.at)

    def next_check_at(self, cal: HolidayCalendar) -> datetime | None:
        """When `check` next has something to say (the row a timer claims); None when no clock runs."""
        if self.state not in CLOCKED:
            return None
        upcoming = [
            m.at
            for a in self._active().values()
            for clock, deadline in a.clocks()
            for m in milestones(clock, deadline, cal)
            if m.mark not in a.announced
        ]
        return min(upcoming, default=None)

    def records(self, cal: HolidayCalendar) -> list[Record]:
        """Each department's part in the latest round, for assessment."""
        return [
            Record(
                whistle_id=self.id,
                department=code,
                street_code=self.street_code,
                summoned_at=a.summoned_at,
                report_in_due=a.report_in.due_at(cal),
                resolution_due=a.resolution.due_at(cal),
                reported_in_at=a.reported_in_at,
                handled_at=self.handled_at,
                returned=a.stage is Stage.RETURNED,
                satisfaction=self.satisfaction,
                rating=self.rating,
            )
            for code, a in sorted(self.departments.items())
        ]

    # -- inside -----------------------------------------------------------------------------------------------

    def _target(self, action: Action) -> State:
        target = TRANSITIONS.get((self.state, action))
        if target is None:
            raise InvalidTransition(f"a {self.state} whistle cannot {action.replace('_', ' ')}")
        return target

    def _assignment(self, department: str) -> Assignment:
        assignment = self.departments.get(department)
        if assignment is None:
            raise NotSummoned(f"{department} is not summoned to whistle {self.id}")
        return assignment

    def _pending(self, department: str) -> tuple[Assignment, Limit]:
        assignment = self._assignment(department)
        if assignment.extension_requested is None:
            raise InvalidTransition(f"{department} has no extension request pending")
        return assignment, assignment.extension_requested

    def _active(self) -> dict[str, Assignment]:
        return {code: a for code, a in self.departments.items() if a.active}

    def _summon(self, lead: str, assisting: tuple[str, ...], at: datetime) -> tuple[str, ...]:
        """Start the clocks of each listed department not already active; returns those summoned now."""
        assert self.limits is not None  # set at blow
        summoned = []
        for code in (lead, *assisting):
            role = Role.LEAD if code == lead else Role.ASSISTING
            current = self.departments.get(code)
            if current is not None and current.active:
                self.departments[code] = replace(current, role=role)
                continue
            self.departments[code] = Assignment(
                code, role, at, Deadline(at, self.limits.report_in), Deadline(at, self.limits.resolution)
            )
            summoned.append(code)
        for code, a in self._active().items():  # a former lead still at work helps now
            if code != lead and a.role is Role.LEAD:
                self.departments[code] = replace(a, role=Role.ASSISTING)
        return tuple(summoned)

    def _dispatch_data(self, summoned: tuple[str, ...], cal: HolidayCalendar) -> dict[str, Any]:
        assisting = [code for code, a in self._active().items() if a.role is Role.ASSISTING]
        return {
            "lead": self.lead,
            "assisting": sorted(assisting),
            "summoned": list(summoned),
            "deadlines": {code: self.departments[code].dues(cal) for code in summoned},
        }

    def _announce(self, department: str, due: datetime | None, passed: list[Milestone]) -> list[Fact]:
        reminders = [m for m in passed if m.name in ("50", "80")]
        late = [m for m in passed if m.name not in ("50", "80")]
        facts = []
        if reminders and not late:  # only the latest reminder: a late scan sends no stale 50% after the 80%
            m = reminders[-1]
            data = {"department": department, "clock": m.clock, "percent": int(m.name), "due_at": due}
            facts.append(self._fact("whistle.reminded", m.at, data, (department,)))
        for m in late:
            data = {"department": department, "clock": m.clock, "due_at": due}
            if m.name == "overdue":
                facts.append(self._fact("whistle.overdue", m.at, data, (department,)))
            else:
                facts.append(self._fact("whistle.escalated", m.at, {**data, "level": m.name}, (department,)))
        return facts

    def _fact(self, type: str, at: datetime, data: dict[str, Any], departments: Sequence[str] = ()) -> Fact:
        """Every fact carries what its readers (scoring, patrol, the departments) need to know the whistle."""
        context = {
            "state": str(self.state),
            "street_code": self.street_code,
            "org_path": self.org_path,
            "kind": None if self.kind is None else str(self.kind),
            "situation_code": self.situation_code,
            "catalogue_version": self.catalogue_version,
            "raiser_account_id": self.raiser_account_id,
            "raiser_member_id": self.raiser_member_id,
        }
        return Fact(type, self.id, at, {**context, **data}, tuple(departments))


def _stage(assignment: Assignment, action: Action) -> Stage:
    stage = DEPARTMENT_TRANSITIONS.get((assignment.stage, action))
    if stage is None:
        raise InvalidTransition(f"a {assignment.stage} department cannot {action.replace('_', ' ')}")
    return stage


def _check_dispatch(lead: str, assisting: tuple[str, ...], known: Collection[str] | None) -> None:
    if lead in assisting or len(set(assisting)) != len(assisting):
        raise WhistleError("each department once, the lead not among the assisting", {"assisting": ["repeated"]})
    unknown = sorted({lead, *assisting} - set(known)) if known is not None else []
    if unknown:
        raise UnknownDepartment(f"unknown departments: {', '.join(unknown)}", {"departments": unknown})
