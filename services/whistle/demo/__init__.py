"""The whistle demo data (`python -m whistle.demo`): a year of Guandu's whistles (8,325 in the source) played
through the use cases, each step at the time it happened, so every row, event and history entry is what live
use would have written.

`load(settings, ...)` migrates, fills the departments projection from `kit.demo_tree` (the ids organization gives
its nodes, through the same handler organization's `org.created` events go to, so their replay later changes
nothing), then lives every whistle's life: collected by a resident, member, secretary or patrol, blown,
reported in, handled, fed back, assessed and closed; some returned and re-dispatched, reopened, extended, or
left open at any stage. Steps that would fall after the demo's "now" are not taken, so recent whistles are
open where their lives have reached. Last, the deadline scan runs at "now": overdue clocks are announced.
Deterministic for a seed and a "now" (whistle `n` has id `demo_uid("whistle", n)` and its own random stream).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from kit.clock import FixedClock, SystemClock, isoformat_z, parse_iso
from kit.config import Settings
from kit.context import CallerContext
from kit.db import Database
from kit.demo_tree import Community, demo_uid, departments, load_tree, node_id, point, streets
from kit.migrate import upgrade
from kit.orm import AuditEntry
from kit.uow import UnitOfWork
from whistle.adapters.orm.departments import DepartmentRow
from whistle.adapters.orm.whistles import WhistleDeadlineRow, WhistleRow
from whistle.app import whistles
from whistle.app.catalogue import version_in_effect
from whistle.app.departments import on_org_created
from whistle.domain.catalogue import Kind, Situation

__all__ = ["SIZES", "Loaded", "fill_departments", "load", "state_counts"]

DEFAULT_SEED = 20250301
SIZES = {"none": 0, "small": 400, "full": 8325, "all": 8325}  # DEMO_RECORDS; full is the source's year
BATCH = 50  # whistles per transaction: one commit each would cost more than living them
FOUNDED = datetime(2019, 3, 1, tzinfo=UTC)  # organization's demo tree: when its departments were made
KIND_WEIGHTS = {Kind.PROBLEM: 0.55, Kind.SERVICE: 0.25, Kind.TACKLING: 0.08, Kind.EMERGENCY: 0.12}
SOURCES = (("resident", 0.45), ("member", 0.2), ("secretary", 0.2), ("patrol", 0.15))
# What happens to a whistle (besides being cut short by "now"): weights.
FATES = (
    ("closed", 0.78),
    ("late", 0.06),  # reported in or handled after the limit
    ("returned", 0.04),  # the lead sends it back, the secretary re-dispatches
    ("extended", 0.04),  # the lead asks for more time, the secretary grants it
    ("reopened", 0.03),  # not satisfied: reopened and re-dispatched
    ("stalled", 0.05),  # stops at some stage and stays open (old overdue ones among them)
)
STALL_AT = ("collected", "blown", "reported_in", "returned", "extension_requested", "handled", "feedback", "assessed")
SATISFACTION = (("satisfied", 0.78), ("basically", 0.17), ("not", 0.05))
RETURN_REASONS = ("不属于本部门职责，建议由属地街道协调", "权属不清，需先确认产权单位", "非本部门管辖范围")
RESULTS = ("已到场处置完毕，现场恢复正常", "已责令整改并复查合格", "已协调相关单位完成处置", "已落实帮扶措施并回访")
COMMENTS = ("处理及时，感谢", "基本解决，希望加强日常巡查", "态度很好", "")


@dataclass
class Loaded:
    """What a load did: whether it loaded, how long it took, how many whistles and facts."""

    loaded: bool
    seconds: float
    cpu_seconds: float = 0.0  # this process's, apart from the machine's other load
    whistles: int = 0
    facts: int = 0
    departments: int = 0
    message: str = ""


@dataclass
class Actor:
    """Who does a step: the caller context of each role the demo plays."""

    community: Community
    n: int

    def raiser(self, source: str, rng: random.Random) -> CallerContext:
        path = self.community.path
        if source == "resident":
            who = demo_uid("resident", f"{path}{rng.randrange(300)}")
            return CallerContext("resident", path, f"demo-{self.n}", account_id=who)
        if source == "member":
            m = rng.randrange(21000)  # organization's demo members are demo_uid("member", 0..20999)
            who = demo_uid("member_account", m)
            return CallerContext("member", path, f"demo-{self.n}", account_id=who, member_id=demo_uid("member", m))
        if source == "secretary":
            return self.secretary()
        return CallerContext.system(f"demo-{self.n}")  # a patrol finding, passed on by the suite

    def secretary(self) -> CallerContext:
        username = f"{self.community.street_code}.{self.community.path.strip('/').split('/')[-1]}.secretary"
        return CallerContext(
            "community_secretary", self.community.path, f"demo-{self.n}", account_id=demo_uid("account", username)
        )

    def desk(self, code: str) -> CallerContext:
        return CallerContext(
            "department",
            f"/departments/{code}/",
            f"demo-{self.n}",
            account_id=demo_uid("account", f"{code}.desk"),
            department_code=code,
        )


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w for w, _ in weighted], [p for _, p in weighted])[0]


def _between(rng: random.Random, start: datetime, end: datetime, lo: float, hi: float) -> datetime:
    return start + (end - start) * rng.uniform(lo, hi)


@dataclass
class Life:
    """One whistle's life, lived step by step with the clock set to each step's time; a step due after `now`
    ends it there (the whistle stays open at that stage)."""

    uow: UnitOfWork
    clock: FixedClock
    now: datetime
    n: int
    rng: random.Random
    community: Community
    situation: Situation
    collected_at: datetime
    everyone: tuple[str, ...]
    facts: int = 0
    id: str = field(init=False)
    read: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.id = demo_uid("whistle", self.n)
        self.actor = Actor(self.community, self.n)

    def at(self, when: datetime, step: Callable[[], dict[str, Any]]) -> bool:
        if when >= self.now:
            return False
        self.clock.set(when)
        self.read = step()
        return True

    def due(self, code: str, clock: str) -> datetime:
        for d in self.read["departments"]:
            if d["code"] == code:
                return parse_iso(d[f"{clock}_due"])
        raise KeyError(code)

    def live(self) -> Iterator[str]:
        """The steps, each yielding its name once taken (the caller counts them and stops at a stall)."""
        rng, a, s = self.rng, self.actor, self.situation
        source = _pick(rng, SOURCES)
        raiser = a.raiser(source, rng)
        named = rng.random() < 0.7  # the raiser names the situation; else the secretary does at blow
        place = (
            self.community.path
            if rng.random() < 0.8 or source in ("resident", "member")
            else rng.choice(self.community.areas)
        )
        centre = point(self._centre(), self._index())["coordinates"]
        data: dict[str, Any] = {
            "description": f"{self.community.name}社区：{s.name}，请尽快处理。",
            "title": s.name,
            "location": {
                "type": "Point",
                "coordinates": [centre[0] + rng.uniform(-0.004, 0.004), centre[1] + rng.uniform(-0.004, 0.004)],
            },
            **({"situation_code": s.code} if named else {}),
            **({"org_path": place, "source": "patrol"} if source == "patrol" else {}),
            **({"org_path": place} if source == "secretary" else {}),
        }
        ok = self.at(self.collected_at, lambda: whistles.create_whistle(self.uow, raiser, data, whistle_id=self.id))
        if not ok:
            return
        yield "collected"
        fast = s.kind is Kind.EMERGENCY
        blown_at = self.collected_at + timedelta(minutes=rng.uniform(3, 30) if fast else rng.uniform(20, 300))
        sec = a.secretary()
        blow = {} if named else {"situation_code": s.code}
        if not self.at(blown_at, lambda: whistles.blow(self.uow, sec, self.id, blow)):
            return
        yield "blown"
        fate = _pick(rng, FATES)
        lead = s.lead
        t = blown_at
        if fate == "returned":
            back = _between(rng, t, self.due(lead, "report_in"), 0.1, 0.6)
            reason = {"reason": rng.choice(RETURN_REASONS)}
            if not self.at(back, lambda: whistles.send_back(self.uow, a.desk(lead), self.id, reason)):
                return
            yield "returned"
            others = [c for c in self.everyone if c != lead and c not in s.assisting]
            lead = rng.choice(others)
            again = back + timedelta(hours=rng.uniform(1, 20))
            redo = {"lead": lead, "assisting": list(s.assisting), "reason": "改由更对口的部门牵头"}
            if not self.at(again, lambda: whistles.redispatch(self.uow, sec, self.id, redo)):
                return
            yield "redispatched"
            t = again
        for step in self._round(t, lead, list(s.assisting), fate, sec, raiser):
            yield step
            if step == "feedback" and fate == "reopened" and self.read["satisfaction"] == "not":
                break
        else:
            return
        # reopened: the requester was not satisfied; the secretary sends it round again
        t = parse_iso(self.read["feedback_at"]) + timedelta(hours=rng.uniform(1, 24))
        who = sec if raiser.role == "system" else raiser
        why = {"reason": "问题反弹，仍未解决"}
        if not self.at(t, lambda: whistles.reopen(self.uow, who, self.id, why)):
            return
        yield "reopened"
        t += timedelta(hours=rng.uniform(1, 12))
        redo = {"lead": lead, "assisting": list(s.assisting), "reason": "重新交办"}
        if not self.at(t, lambda: whistles.redispatch(self.uow, sec, self.id, redo)):
            return
        yield "redispatched"
        yield from self._round(t, lead, list(s.assisting), "closed", sec, raiser)

    def _round(
        self, start: datetime, lead: str, assisting: list[str], fate: str, sec: CallerContext, raiser: CallerContext
    ) -> Iterator[str]:
        rng = self.rng
        late = fate == "late"
        reported: list[datetime] = []
        for code in sorted({lead, *assisting}, key=lambda c: c != lead):  # the lead first
            due = self.due(code, "report_in")
            when = (
                _between(rng, start, due, 1.05, 1.6) if late and code == lead else _between(rng, start, due, 0.05, 0.9)
            )
            if not self.at(when, lambda code=code: whistles.report_in(self.uow, self.actor.desk(code), self.id, {})):  # type: ignore[misc]
                return
            reported.append(when)
            yield "reported_in"
        t = max(reported)
        desk = self.actor.desk(lead)
        if fate == "extended":
            ask = t + timedelta(minutes=rng.uniform(30, 600))
            unit = "hours" if self.situation.kind is Kind.EMERGENCY else "working_days"
            amount = 12 if unit == "hours" else rng.choice((2, 3, 5))
            req = {"limit": {"amount": amount, "unit": unit}, "reason": "需协调产权单位，申请延期办结"}
            if not self.at(ask, lambda: whistles.request_extension_by(self.uow, desk, self.id, req)):
                return
            yield "extension_requested"
            t = ask + timedelta(hours=rng.uniform(1, 8))
            if not self.at(t, lambda: whistles.approve_extension(self.uow, sec, self.id, {"department": lead})):
                return
            yield "extended"
        due = self.due(lead, "resolution")
        handled = _between(rng, t, due, 1.05, 1.5) if late else _between(rng, t, max(due, t), 0.2, 0.95)
        result = {"result": rng.choice(RESULTS), "evidence": [f"现场照片{rng.randrange(1, 9)}张"]}
        if not self.at(
            max(handled, t + timedelta(minutes=5)), lambda: whistles.handle(self.uow, desk, self.id, result)
        ):
            return
        yield "handled"
        t = parse_iso(self.read["handled_at"]) + timedelta(hours=rng.uniform(2, 48))
        satisfaction = "not" if fate == "reopened" else _pick(rng, SATISFACTION)
        feedback = {"satisfaction": satisfaction, "comment": rng.choice(COMMENTS)}
        who = sec if raiser.role == "system" else raiser
        if not self.at(t, lambda: whistles.give_feedback(self.uow, who, self.id, feedback)):
            return
        yield "feedback"
        t += timedelta(hours=rng.uniform(2, 72))
        rating = {"satisfied": rng.choice((4, 5, 5)), "basically": rng.choice((3, 4)), "not": rng.choice((1, 2, 3))}
        assessment = {"rating": rating[satisfaction], "comment": "按时办结" if not late else "办理超时"}
        if not self.at(t, lambda: whistles.assess(self.uow, sec, self.id, assessment)):
            return
        yield "assessed"
        t += timedelta(hours=rng.uniform(0.5, 24))
        if not self.at(t, lambda: whistles.close(self.uow, sec, self.id, {})):
            return
        yield "closed"

    def _centre(self) -> list[float]:
        for s in load_tree()["streets"]:
            if s["code"] == self.community.street_code:
                return list(s["center"])
        raise KeyError(self.community.street_code)

    def _index(self) -> int:
        return int(self.community.path.strip("/").split("/")[-1].removeprefix("c")) - 1


def fill_departments(uow: UnitOfWork) -> int:
    """The departments organization's demo makes, through the handler of its `org.created` events: their
    replay later (same ids, codes and names) finds the rows there and leaves them as they are."""
    units = departments()
    for unit in units:
        event = {
            "time": isoformat_z(FOUNDED),
            "data": {"id": node_id(unit.org_path), "org_path": unit.org_path, "code": unit.code, "name": unit.name},
        }
        on_org_created(uow, event)
    return len(units)


def _plan(count: int, seed: int, now: datetime) -> list[tuple[int, Community, datetime]]:
    """(n, community, collected at) of every whistle, oldest first, over the year before `now`: busier by day
    and on weekdays, every community of every street."""
    rng = random.Random(seed)
    communities = [c for s in streets() for c in s.communities]
    start = now - timedelta(days=365)
    plan = []
    for n in range(count):
        community = communities[n % len(communities)] if n < len(communities) else rng.choice(communities)
        day = start + timedelta(days=rng.randrange(365))
        while day.weekday() >= 5 and rng.random() < 0.4:  # fewer at weekends
            day = start + timedelta(days=rng.randrange(365))
        local_hour = rng.choices(range(24), [1 if h < 7 or h > 21 else 6 for h in range(24)])[0]
        at = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            hours=local_hour - 8, minutes=rng.uniform(0, 60)
        )
        plan.append((n, community, min(max(at, start), now - timedelta(minutes=1))))
    plan.sort(key=lambda p: (p[2], p[0]))
    return plan


def load(
    settings: Settings,
    *,
    size: str = "full",
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Loaded:
    """Load once: a database that already holds whistles is left as it is (`loaded` False, with why).
    `progress(done, total)` hears after each transaction (a full load takes minutes)."""
    started, cpu = time.perf_counter(), time.process_time()
    count = SIZES[size]
    upgrade("whistle", settings.database_url)
    now = (now or SystemClock().now()).replace(microsecond=0)  # the demo's "now" is the load's, as organization's
    clock = FixedClock(now)
    db = Database(settings.database_url)
    system = CallerContext.system()
    try:
        with db.session(write=False) as session:
            present = session.scalar(select(func.count()).select_from(WhistleRow)) or 0
            known = session.scalar(select(func.count()).select_from(DepartmentRow)) or 0
        if present:
            return Loaded(False, time.perf_counter() - started, message=f"{present} whistles already there")
        result = Loaded(True, 0.0)
        if not known:
            clock.set(FOUNDED)
            with UnitOfWork(db, service="whistle", clock=clock, context=system) as uow:
                result.departments = fill_departments(uow)
                uow.commit()
        with UnitOfWork(db, service="whistle", clock=clock, context=system, write=False) as uow:
            clock.set(now)
            version = version_in_effect(uow)
        everyone = tuple(d.code for d in departments())
        by_kind = {k: [s for s in version.situations if s.kind is k] for k in Kind}
        plan = _plan(count, seed, now)
        for i in range(0, len(plan), BATCH):
            with UnitOfWork(db, service="whistle", clock=clock, context=system) as uow:
                for n, community, collected_at in plan[i : i + BATCH]:
                    rng = random.Random(f"{seed}:{n}")
                    kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
                    life = Life(uow, clock, now, n, rng, community, rng.choice(by_kind[kind]), collected_at, everyone)
                    stall = rng.choice(STALL_AT) if rng.random() < dict(FATES)["stalled"] else None
                    for step in life.live():
                        result.facts += 1
                        if step == stall:
                            break
                    result.whistles += 1
                uow.commit()
            if progress is not None:
                progress(result.whistles, count)
        clock.set(now)  # what the deadlines came to: reminders, overdue and escalations, timed when they fell due
        while True:
            with UnitOfWork(db, service="whistle", clock=clock, context=system) as uow:
                announced = whistles.scan_deadlines(uow, limit=500)
                uow.commit()
            result.facts += announced
            if not announced:
                break
        result.seconds, result.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        return result
    finally:
        db.dispose()


def state_counts(database_url: str) -> dict[str, Counter[str]]:
    """Whistles by state, kind and street, how many have an overdue clock, and the facts by type."""
    db = Database(database_url)
    try:
        with db.session(write=False) as session:
            out: dict[str, Counter[str]] = {}
            for name, column in (
                ("state", WhistleRow.state),
                ("kind", WhistleRow.kind),
                ("street", WhistleRow.street_code),
            ):
                rows = session.execute(select(column, func.count()).group_by(column))
                out[name] = Counter({str(k): int(v) for k, v in rows})
            overdue = select(func.count(func.distinct(WhistleDeadlineRow.whistle_id))).where(
                WhistleDeadlineRow.status == "overdue"
            )
            out["overdue"] = Counter(whistles=int(session.scalar(overdue) or 0))
            facts = session.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action))
            out["facts"] = Counter({str(k): int(v) for k, v in facts})
    finally:
        db.dispose()
    return out
