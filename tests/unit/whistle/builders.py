"""What the whistle tests share: a small catalogue of their own (independent of the shipped data), the real
holiday calendar, and a whistle brought to any state through the aggregate's own methods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from whistle.catalogue import holiday_calendar
from whistle.domain.calendar import SHANGHAI, Limit, Unit
from whistle.domain.catalogue import CatalogueVersion, validate_catalogue
from whistle.domain.duplicates import Point
from whistle.domain.lifecycle import Action, Source, State, Whistle

CAL = holiday_calendar()
DEPARTMENTS = {"water", "cityman", "police", "gas", "fire"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday, no holiday near


def catalogue_doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "version": 1,
        "effective_from": "2026-01-01",
        "situations": [
            {"code": "drain", "kind": "problem", "name": "排水管网堵塞", "standard": "疏通", "lead": "water",
             "assisting": ["cityman", "police"]},
            {"code": "gas_leak", "kind": "emergency", "name": "燃气泄漏", "standard": "关阀", "lead": "gas",
             "assisting": ["fire"]},
        ],
    }  # fmt: skip
    doc.update(changes)
    return doc


V1: CatalogueVersion = validate_catalogue(catalogue_doc(), DEPARTMENTS)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


PLACE = Point(102.7200, 25.0400)  # 吴井, Kunming


def collected(situation: str = "drain", *, id: str = "w1", place: Point | None = PLACE, when: datetime = T0) -> Whistle:
    whistle, _ = Whistle.collect(
        id=id,
        street_code="wujing",
        org_path="/gd/wujing/c01/",
        source=Source.RESIDENT,
        description="小区门口下水道堵了",
        at=when,
        raiser_account_id="a1",
        situation_code=situation,
        location=place,
    )
    return whistle


def twin(**changes: object) -> Whistle:
    """A likely duplicate of `collected()`: the same situation raised 20 m away an hour later (w2)."""
    args: dict[str, object] = {"id": "w2", "place": Point(102.7202, 25.0400), "when": at(60), **changes}
    return collected(**args)  # type: ignore[arg-type]


def blown(situation: str = "drain") -> Whistle:
    """Blown under V1 at T0; for `drain`, the lead (water) has reported in, cityman and police are summoned."""
    w = collected(situation)
    w.blow(V1, CAL, at=T0)
    if situation == "drain":
        w.report_in("water", CAL, at=at(10))
    return w


def act(whistle: Whistle, action: Action) -> object:
    """Take `action` with arguments that are valid whenever the state allows it."""
    w, later = whistle, at(60)
    moves: dict[Action, Callable[[], object]] = {
        Action.BLOW: lambda: w.blow(V1, CAL, at=later),
        Action.MERGE: lambda: w.merge_into(twin(), at=later),
        Action.REDISPATCH: lambda: w.redispatch(CAL, at=later, lead="water", assisting=("cityman",)),
        Action.REPORT_IN: lambda: w.report_in("police", CAL, at=later),
        Action.SEND_BACK: lambda: w.send_back("cityman", reason="不是我们的职责", at=later),
        Action.SEND_BACK_LEAD: lambda: w.send_back("water", reason="属燃气管网", at=later),
        Action.REQUEST_EXTENSION: lambda: w.request_extension(
            "water", limit=Limit(2, Unit.WORKING_DAYS), reason="需要开挖", at=later
        ),
        Action.APPROVE_EXTENSION: lambda: w.approve_extension("water", CAL, at=later),
        Action.REFUSE_EXTENSION: lambda: w.refuse_extension("water", at=later),
        Action.PAUSE: lambda: w.pause(at=later, reason="等居民在家"),
        Action.RESUME: lambda: w.resume(CAL, at=later),
        Action.HANDLE: lambda: w.handle("water", result="已疏通", at=later, photos=("blob:1",)),
        Action.GIVE_FEEDBACK: lambda: w.give_feedback("not", at=later),
        Action.ASSESS: lambda: w.assess(4, at=later),
        Action.CLOSE: lambda: w.close(CAL, at=later),
        Action.REOPEN: lambda: w.reopen(at=later, reason="还是堵"),
    }
    return moves[action]()


def prepared(state: State, action: Action) -> Whistle:
    """A whistle in `state`, with what `action` needs there (an extension request pending to decide on)."""
    w = in_state(state)
    if action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION) and state is State.BLOWN:
        act(w, Action.REQUEST_EXTENSION)
    return w


# How to bring a whistle to each state: the state before and the move from it (the legal table drives the
# tests through these).
STEPS: dict[State, tuple[State, Action]] = {
    State.RETURNED: (State.BLOWN, Action.SEND_BACK_LEAD),
    State.PAUSED: (State.BLOWN, Action.PAUSE),
    State.HANDLED: (State.BLOWN, Action.HANDLE),
    State.FEEDBACK: (State.HANDLED, Action.GIVE_FEEDBACK),  # not satisfied
    State.ASSESSED: (State.FEEDBACK, Action.ASSESS),
    State.CLOSED: (State.ASSESSED, Action.CLOSE),
    State.REOPENED: (State.FEEDBACK, Action.REOPEN),
    State.MERGED: (State.COLLECTED, Action.MERGE),
}


def in_state(state: State) -> Whistle:
    if state is State.COLLECTED:
        return collected()
    if state is State.BLOWN:
        return blown()
    before, action = STEPS[state]
    w = in_state(before)
    act(w, action)
    return w
