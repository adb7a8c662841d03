"""The life of a whistle: the transition tables hold (every legal move, every illegal one changes nothing),
department stages, the clocks' reminders, overdue and escalation (each once), pauses, extensions, reopening
and merging, and the facts each move records."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.errors import as_service_error
from tests.unit.whistle.builders import CAL, T0, V1, act, at, blown, collected, in_state, prepared, twin
from whistle.domain.calendar import Limit, Unit
from whistle.domain.duplicates import Point
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
from whistle.domain.lifecycle import (
    DEPARTMENT_TRANSITIONS,
    MAX_REOPENS,
    TRANSITIONS,
    Action,
    Stage,
    State,
    Whistle,
)

ILLEGAL = [(s, a) for s in State for a in Action if (s, a) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "action"), list(TRANSITIONS), ids=[f"{s}-{a}" for s, a in TRANSITIONS])
def test_every_legal_move_reaches_the_state_the_table_says(state, action):
    w = prepared(state, action)
    facts = act(w, action)
    assert w.state is TRANSITIONS[(state, action)]
    assert facts and all(f.whistle_id == "w1" and f.type.startswith("whistle.") for f in facts)


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_every_illegal_move_is_refused_and_changes_nothing(state, action):
    w = prepared(state, action)
    before = copy.deepcopy(w)
    with pytest.raises(InvalidTransition):
        act(w, action)
    assert w == before


def test_the_invalid_transition_is_a_409_with_its_code():
    error = as_service_error(InvalidTransition("no"))
    assert error is not None
    assert (error.status, error.code) == (409, "WHISTLE_INVALID_TRANSITION")
    assert as_service_error(NotSummoned("no")).status == 403
    assert as_service_error(UnknownSituation("no")).status == 422


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list(Action)), max_size=25))
def test_any_sequence_of_moves_follows_the_table(actions):
    w = collected()
    for action in actions:
        before = copy.deepcopy(w)
        try:
            act(w, action)
        except WhistleError:
            assert w == before
        else:
            assert w.state is TRANSITIONS[(before.state, action)]


# -- departments --------------------------------------------------------------------------------------------


def test_blowing_summons_the_situations_departments_under_its_version():
    w = collected()
    [fact] = w.blow(V1, CAL, at=T0)
    assert fact.type == "whistle.blown"
    assert fact.department_codes == ("water", "cityman", "police")
    assert {code: a.stage for code, a in w.departments.items()} == dict.fromkeys(fact.department_codes, Stage.SUMMONED)
    assert (w.lead, w.kind, w.catalogue_version) == ("water", "problem", 1)
    # a problem: report in within 4 hours, resolve within 5 working days (Monday 09:00 -> next Monday 09:00)
    assert fact.data["deadlines"]["police"] == {"report_in_due": at(240), "resolution_due": T0 + timedelta(days=7)}
    assert fact.data["street_code"] == "wujing" and fact.data["situation_code"] == "drain"


def test_the_secretary_may_choose_other_departments_but_only_known_ones():
    w = collected()
    with pytest.raises(UnknownDepartment) as caught:
        w.blow(V1, CAL, at=T0, lead="water", assisting=["nobody"], known_departments={"water", "cityman"})
    assert caught.value.errors == {"departments": ["nobody"]} and w.state is State.COLLECTED
    w.blow(V1, CAL, at=T0, lead="cityman", assisting=[], known_departments={"water", "cityman"})
    assert list(w.departments) == ["cityman"]


def test_a_whistle_is_blown_for_a_known_situation():
    w = collected(situation="nothing")
    with pytest.raises(UnknownSituation):
        w.blow(V1, CAL, at=T0)
    w.situation_code = None
    with pytest.raises(UnknownSituation):
        w.blow(V1, CAL, at=T0)
    assert w.state is State.COLLECTED and not w.departments


@pytest.mark.parametrize(("stage", "action"), list(DEPARTMENT_TRANSITIONS))
def test_each_department_stage_move(stage, action):
    w = blown()
    department = "water" if stage is Stage.REPORTED_IN else "police"
    assert w.departments[department].stage is stage
    {
        Action.REPORT_IN: lambda: w.report_in(department, CAL, at=at(20)),
        Action.SEND_BACK: lambda: w.send_back(department, reason="不归我们管", at=at(20)),
        Action.REQUEST_EXTENSION: lambda: w.request_extension(
            department, limit=Limit(1, Unit.WORKING_DAYS), reason="材料未到", at=at(20)
        ),
        Action.HANDLE: lambda: w.handle(department, result="已疏通", at=at(20)),
    }[action]()
    assert w.departments[department].stage is DEPARTMENT_TRANSITIONS[(stage, action)]


def test_a_department_reports_in_once_and_only_if_summoned():
    w = blown()
    with pytest.raises(InvalidTransition):
        w.report_in("water", CAL, at=at(20))
    with pytest.raises(NotSummoned):
        w.report_in("health", CAL, at=at(20))
    [fact] = w.report_in("police", CAL, at=at(300))
    assert fact.data["on_time"] is False  # due after 4 hours, reported after 5


def test_only_the_lead_hands_in_the_result_after_reporting_in():
    w = blown()
    w.report_in("police", CAL, at=at(20))
    with pytest.raises(NotLead):
        w.handle("police", result="x", at=at(30))
    with pytest.raises(WhistleError):
        w.handle("water", result="  ", at=at(30))
    [fact] = w.handle("water", result="已疏通", at=at(30), evidence=("照片对比",), photos=("blob:1",))
    stages = {code: a.stage for code, a in w.departments.items()}
    # cityman never reported in: it stays summoned, and its record shows it
    assert stages == {"water": Stage.HANDLED, "police": Stage.HANDLED, "cityman": Stage.SUMMONED}
    assert fact.data["photos"] == ["blob:1"] and w.result == "已疏通"


def test_a_lead_that_was_not_reported_in_cannot_handle():
    w = collected()
    w.blow(V1, CAL, at=T0)
    with pytest.raises(InvalidTransition):
        w.handle("water", result="已疏通", at=at(5))
    assert w.state is State.BLOWN


def test_a_return_needs_a_reason_and_the_leads_return_waits_for_a_redispatch():
    w = blown()
    with pytest.raises(WhistleError) as caught:
        w.send_back("water", reason=" ", at=at(20))
    assert caught.value.errors == {"reason": ["required"]} and w.state is State.BLOWN
    [fact] = w.send_back("water", reason="属燃气管网", at=at(20))
    assert (w.state, w.lead, fact.data["needs_redispatch"]) == (State.RETURNED, None, True)
    [fact] = w.redispatch(CAL, at=at(30), lead="gas", assisting=["cityman"], reason="燃气管网")
    assert w.state is State.BLOWN and w.lead == "gas"
    # gas starts a fresh clock at the redispatch; cityman keeps the clock it had since the blow
    assert fact.data["summoned"] == ["gas"] and fact.department_codes == ("gas",)
    assert w.departments["gas"].report_in.start == at(30)
    assert w.departments["cityman"].report_in.start == T0


def test_an_assisting_departments_return_keeps_the_whistle_going():
    w = blown()
    w.send_back("cityman", reason="不是城管职责", at=at(20))
    assert w.state is State.BLOWN and w.departments["cityman"].stage is Stage.RETURNED
    with pytest.raises(InvalidTransition):
        w.send_back("cityman", reason="again", at=at(21))


def test_a_returned_whistles_assisting_departments_go_on():
    w = in_state(State.RETURNED)
    w.report_in("police", CAL, at=at(70))
    assert w.state is State.RETURNED and w.departments["police"].stage is Stage.REPORTED_IN


# -- clocks -------------------------------------------------------------------------------------------------


def emergency():
    w = collected(situation="gas_leak")
    w.blow(V1, CAL, at=T0)  # report in within 1 hour, resolve within 24
    return w


def types(facts):
    return [
        (f.type, f.data["department"], f.data["clock"], f.data.get("percent") or f.data.get("level")) for f in facts
    ]


def test_reminders_at_half_and_four_fifths_then_overdue_and_escalation_each_once():
    w = emergency()
    assert w.next_check_at(CAL) == at(30)
    assert w.check(at(29), CAL) == []
    assert types(w.check(at(30), CAL)) == [("whistle.reminded", "fire", "report_in", 50),
                                           ("whistle.reminded", "gas", "report_in", 50)]  # fmt: skip
    assert w.check(at(40), CAL) == []
    assert types(w.check(at(48), CAL))[0] == ("whistle.reminded", "fire", "report_in", 80)
    w.report_in("gas", CAL, at=at(50))
    facts = w.check(at(60), CAL)
    assert types(facts) == [("whistle.overdue", "fire", "report_in", None),
                            ("whistle.escalated", "fire", "report_in", "street")]  # fmt: skip
    assert facts[0].at == at(60) and facts[0].data["due_at"] == at(60)
    assert w.check(at(61), CAL) == []
    assert w.next_check_at(CAL) == at(120)  # the district: overdue as long again as the hour allowed
    assert types(w.check(at(120), CAL)) == [("whistle.escalated", "fire", "report_in", "district")]
    assert w.check(at(121), CAL) == []
    assert w.next_check_at(CAL) == at(12 * 60)  # the resolution clock's 50%


def test_a_late_scan_sends_only_the_latest_reminder_and_all_escalations():
    w = emergency()
    assert [f.data.get("percent") for f in w.check(at(50), CAL)] == [80, 80]
    w = emergency()
    facts = [f for f in w.check(at(130), CAL) if f.data["department"] == "gas"]
    assert types(facts) == [("whistle.overdue", "gas", "report_in", None),
                            ("whistle.escalated", "gas", "report_in", "street"),
                            ("whistle.escalated", "gas", "report_in", "district")]  # fmt: skip
    assert [f.at for f in facts] == [at(60), at(60), at(120)]


def test_a_pause_stops_every_clock_and_moves_the_deadlines_by_its_length():
    w = emergency()
    w.pause(at=at(10), reason="等居民回家开门")
    assert w.check(at(300), CAL) == [] and w.next_check_at(CAL) is None
    [fact] = w.resume(CAL, at=at(40))
    assert fact.data["paused_seconds"] == 30 * 60
    assert fact.data["deadlines"]["gas"]["report_in_due"] == at(90)
    assert w.check(at(60), CAL)[0].data["percent"] == 50  # half of the 90 minutes the clock now spans
    assert [f.type for f in w.check(at(90), CAL)] == ["whistle.overdue", "whistle.escalated"] * 2


def test_a_resume_cannot_precede_its_pause():
    w = emergency()
    w.pause(at=at(10), reason="等居民")
    with pytest.raises(WhistleError):
        w.resume(CAL, at=at(5))
    assert w.state is State.PAUSED


def test_an_approved_extension_moves_the_resolution_deadline_and_is_announced_afresh():
    w = blown()  # water reported in at T0 + 10 min; resolution due next Monday 09:00
    due = T0 + timedelta(days=7)
    assert [f.type for f in w.check(due, CAL) if f.data["department"] == "water"] == [
        "whistle.overdue",
        "whistle.escalated",
    ]
    w.request_extension("water", limit=Limit(2, Unit.WORKING_DAYS), reason="需要开挖路面", at=due)
    with pytest.raises(InvalidTransition):  # one request at a time
        w.request_extension("water", limit=Limit(1, Unit.WORKING_DAYS), reason="再延", at=due)
    [fact] = w.approve_extension("water", CAL, at=due + timedelta(hours=1))
    new_due = due + timedelta(days=2)  # Monday + 2 working days: Wednesday 09:00
    assert (fact.data["previous_due"], fact.data["resolution_due"], fact.data["reason"]) == (
        due,
        new_due,
        "需要开挖路面",
    )
    assert w.departments["water"].extension_requested is None
    assert [f.type for f in w.check(new_due, CAL) if f.data["department"] == "water"] == [
        "whistle.overdue",
        "whistle.escalated",
    ]


def test_a_refused_extension_leaves_the_deadline():
    w = blown()
    before = w.departments["water"].resolution.due_at(CAL)
    w.request_extension("water", limit=Limit(2, Unit.WORKING_DAYS), reason="需要开挖", at=at(20))
    [fact] = w.refuse_extension("water", at=at(30), reason="可以先临时疏通")
    assert fact.type == "whistle.extension_refused"
    assert w.departments["water"].resolution.due_at(CAL) == before
    with pytest.raises(InvalidTransition):
        w.approve_extension("water", CAL, at=at(40))


def test_handled_whistles_stop_their_clocks():
    w = blown()
    act(w, Action.HANDLE)
    assert w.check(at(100_000), CAL) == [] and w.next_check_at(CAL) is None


# -- the end of a whistle -----------------------------------------------------------------------------------


def test_closing_records_timeliness_per_department_and_satisfaction():
    w = blown()
    w.report_in("cityman", CAL, at=at(30))
    w.send_back("police", reason="非治安问题", at=at(35))
    w.handle("water", result="已疏通", at=at(120))
    w.give_feedback("basically", at=at(200))
    w.assess(5, at=at(210))
    [fact] = w.close(CAL, at=at(220))
    timeliness = fact.data["timeliness"]
    assert timeliness["water"]["report_in_on_time"] and timeliness["water"]["resolution_on_time"]
    assert timeliness["police"]["returned"] and not timeliness["police"]["report_in_on_time"]
    assert (fact.data["satisfaction"], fact.data["rating"], w.closed_at) == ("basically", 5, at(220))


@pytest.mark.parametrize(("value", "field"), [("happy", "satisfaction")])
def test_feedback_takes_the_three_answers_only(value, field):
    w = in_state(State.HANDLED)
    with pytest.raises(WhistleError) as caught:
        w.give_feedback(value, at=at(100))
    assert field in caught.value.errors and w.state is State.HANDLED


@pytest.mark.parametrize("rating", [0, 6, True])
def test_a_rating_is_one_to_five_stars(rating):
    w = in_state(State.FEEDBACK)
    with pytest.raises(WhistleError):
        w.assess(rating, at=at(100))
    assert w.state is State.FEEDBACK


def test_only_an_unsatisfied_whistle_reopens():
    w = in_state(State.HANDLED)
    w.give_feedback("satisfied", at=at(100))
    with pytest.raises(InvalidTransition):
        w.reopen(at=at(110), reason="x")
    assert w.state is State.FEEDBACK and w.reopens == 0


def test_reopening_is_bounded_and_each_round_starts_afresh():
    w = in_state(State.FEEDBACK)
    for n in range(1, MAX_REOPENS + 1):
        w.reopen(at=at(100 * n), reason="还是堵")
        [fact] = w.redispatch(CAL, at=at(100 * n + 10), lead="water")
        assert (w.reopens, w.round, fact.data["round"], w.satisfaction) == (n, n + 1, n + 1, None)
        assert list(w.departments) == ["water"] and w.departments["water"].summoned_at == at(100 * n + 10)
        w.report_in("water", CAL, at=at(100 * n + 20))
        w.handle("water", result="再次疏通", at=at(100 * n + 30))
        w.give_feedback("not", at=at(100 * n + 40))
    before = copy.deepcopy(w)
    with pytest.raises(ReopenLimit) as caught:
        w.reopen(at=at(1000), reason="还是堵")
    assert caught.value.code == "WHISTLE_REOPEN_LIMIT" and w == before
    w.assess(2, at=at(1010))  # the secretary may still assess and close it
    assert w.state is State.ASSESSED


def test_merging_stops_the_departments_and_never_into_itself():
    w = blown()
    with pytest.raises(InvalidTransition):
        w.merge_into(w, at=at(20))
    [fact] = w.merge_into(twin(), at=at(20), reason="同一下水道")
    assert (w.state, w.merged_into, fact.data["into"]) == (State.MERGED, "w2", "w2")
    assert set(fact.department_codes) == {"water", "cityman", "police"}
    assert w.check(at(100_000), CAL) == []


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: twin(situation="gas_leak"), id="another situation"),
        pytest.param(lambda: twin(place=Point(102.7206, 25.0400)), id="60 m away"),
        pytest.param(lambda: twin(when=at(48 * 60 + 1)), id="48 h and a minute later"),
        pytest.param(lambda: twin(place=None), id="no place to compare"),
    ],
)
def test_only_a_likely_duplicate_merges_and_a_refusal_changes_nothing(other):
    w = blown()
    before = copy.deepcopy(w)
    with pytest.raises(NotDuplicate) as refused:
        w.merge_into(other(), at=at(20))
    assert refused.value.code == "WHISTLE_NOT_DUPLICATE" and w == before


def test_nothing_merges_into_a_whistle_that_is_closed_or_merged_itself():
    gone = twin()
    gone.merge_into(collected(id="w3"), at=at(70))
    w = blown()
    with pytest.raises(InvalidTransition):
        w.merge_into(gone, at=at(80))
    assert w.state is State.BLOWN


def test_a_whistle_needs_a_description():
    with pytest.raises(WhistleError):
        Whistle.collect(id="w", street_code="s", org_path="/", source="resident", description=" ", at=T0)
    w, [fact] = Whistle.collect(id="w", street_code="s", org_path="/", source="patrol", description="d", at=T0)
    assert (w.state, fact.type, fact.data["source"]) == (State.COLLECTED, "whistle.collected", "patrol")
