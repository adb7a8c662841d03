"""The engagement rules, pure: dual registration and its reports, alliance memberships, star ratings."""

from datetime import UTC, date, datetime

import pytest

from organization.domain.engagement import (
    TRANSITIONS,
    AllianceJoined,
    AllianceLeft,
    AllianceMembership,
    AlreadyJoined,
    AlreadyLeft,
    AlreadyRegistered,
    BranchRating,
    DatesInvalid,
    DualRegistration,
    DualRegistrationEnded,
    DualRegistrationRecorded,
    Evidence,
    MemberOnFile,
    Organisation,
    OrganisationKind,
    PeriodOutsideRegistration,
    Rating,
    RatingOutOfOrder,
    RatingTransitionRefused,
    RatingUnchanged,
    RegistrantInvalid,
    RegistrantKind,
    RegistrationEnded,
    ReportAlreadyConfirmed,
    ReportExists,
    RoleCannotAct,
    ServiceReportConfirmed,
    ServiceReportRecorded,
    StarRatingChanged,
    WrongLevel,
    period_bounds,
)
from organization.domain.tree import Level

NOW = datetime(2026, 11, 28, tzinfo=UTC)
WATER = Organisation(name="区水务局机关党支部", kind=OrganisationKind.AGENCY, credit_code="11530111MB0000001X")


def registration(**overrides):
    fields = {
        "id": "r1",
        "community_id": "c",
        "community_level": Level.COMMUNITY,
        "org_path": "/gd/liujia/c01/",
        "street_code": "liujia",
        "registrant_kind": RegistrantKind.ORGANISATION,
        "organisation": WATER,
        "member_id": None,
        "member_name": None,
        "member_on_file": None,
        "registered_on": date(2026, 3, 15),
        "ended_on": None,
        "open_identities": set(),
        "recorded_at": NOW,
        "recorded_by": "acc",
    }
    return DualRegistration.register(**{**fields, **overrides})


def report(reg, period="2026-11", reported=frozenset()):
    return reg.report(
        id="p1",
        period=period,
        services="河道清洁",
        hours_tenths=25,
        people_served=40,
        reported_periods=set(reported),
        recorded_at=NOW,
        recorded_by="acc",
    )


def test_a_registration_records_its_event_and_its_identity():
    reg = registration()
    assert reg.open
    assert reg.identity == "code:11530111MB0000001X"
    assert [type(e) for e in reg.events] == [DualRegistrationRecorded]


def test_a_member_registration_names_a_current_member_as_the_registry_has_them():
    member = {"registrant_kind": RegistrantKind.MEMBER, "organisation": None, "member_id": "m-1"}
    on_file = MemberOnFile(name="张三", status="active")
    reg = registration(**member, member_name=None, member_on_file=on_file)
    assert (reg.identity, reg.member_name) == ("member:m-1", "张三")  # the registry's name, not the client's
    assert registration(**member, member_name="张三", member_on_file=on_file).member_name == "张三"
    refusals = (
        ({"member_on_file": MemberOnFile(name="张三", status="left")}, {"member_id": ["has left"]}),
        ({"member_on_file": on_file, "member_name": "李四"}, {"member_name": ["does not match the member's record"]}),
        ({"member_on_file": on_file, "member_id": None}, {"member_id": ["required for a member"]}),
    )
    for change, errors in refusals:
        with pytest.raises(RegistrantInvalid) as refused:
            registration(**{**member, **change})
        assert refused.value.errors == errors
    with pytest.raises(RegistrantInvalid):
        registration(organisation=None)


def test_a_member_outside_the_callers_scope_must_be_named_and_every_failure_answers_alike():
    """Someone who may not read a member's record learns no name and no membership from the answer."""
    member = {"registrant_kind": RegistrantKind.MEMBER, "organisation": None, "member_id": "m-1"}
    elsewhere = MemberOnFile(name="张三", status="active", visible=False)
    with pytest.raises(RegistrantInvalid) as refused:
        registration(**member, member_name=None, member_on_file=elsewhere)
    assert refused.value.errors == {"member_name": ["required for a member outside your scope"]}
    with pytest.raises(RegistrantInvalid) as refused:
        registration(**member, member_name=None, member_on_file=None)  # no such member: the same answer
    assert refused.value.errors == {"member_name": ["required for a member outside your scope"]}
    alike = {"member_id": ["no current member with this id and name"]}
    for on_file, name in (
        (elsewhere, "李四"),  # another name
        (None, "张三"),  # no such member
        (MemberOnFile(name="张三", status="left", visible=False), "张三"),  # a member who left
    ):
        with pytest.raises(RegistrantInvalid) as refused:
            registration(**member, member_name=name, member_on_file=on_file)
        assert (refused.value.errors, str(refused.value)) == (alike, "no current party member has this id and name")
    assert registration(**member, member_name="张三", member_on_file=elsewhere).member_name == "张三"
    with pytest.raises(RegistrantInvalid):
        registration(member_id="m-1", member_name="张三")


def test_registrations_go_to_communities_only_once_while_open():
    with pytest.raises(WrongLevel):
        registration(community_level=Level.STREET)
    with pytest.raises(AlreadyRegistered):
        registration(open_identities={WATER.identity})
    with pytest.raises(DatesInvalid):
        registration(ended_on=date(2026, 3, 1))


def test_ending_twice_is_refused():
    reg = registration()
    reg.end(date(2026, 12, 31))
    assert not reg.open
    with pytest.raises(RegistrationEnded):
        reg.end(date(2027, 1, 1))
    assert [type(e) for e in reg.events] == [DualRegistrationRecorded, DualRegistrationEnded]
    assert reg.events[-1].registration.ended_on == date(2026, 12, 31)


def test_periods_and_reports():
    assert period_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(DatesInvalid):
        period_bounds("2026-13")
    reg = registration(ended_on=date(2026, 11, 2))
    assert reg.covers("2026-03") and reg.covers("2026-11")
    assert not reg.covers("2026-02") and not reg.covers("2026-12")
    done = report(reg)
    assert done.hours_tenths == 25
    assert [type(e) for e in done.events] == [ServiceReportRecorded]
    with pytest.raises(PeriodOutsideRegistration):
        report(reg, "2026-12")
    with pytest.raises(ReportExists):
        report(reg, "2026-11", {"2026-11"})


def test_confirmation_once_by_a_secretary():
    done = report(registration())
    with pytest.raises(RoleCannotAct):
        done.confirm(role="member", account_id="m", now=NOW)
    done.confirm(role="community_secretary", account_id="sec", now=NOW)
    assert (done.confirmed_by, done.confirmed_at) == ("sec", NOW)
    with pytest.raises(ReportAlreadyConfirmed):
        done.confirm(role="street_secretary", account_id="other", now=NOW)
    assert [type(e) for e in done.events] == [ServiceReportRecorded, ServiceReportConfirmed]  # once
    assert done.events[-1].report.confirmed_by == "sec"


def join(open_identities=frozenset(), level=Level.ALLIANCE):
    return AllianceMembership.join(
        id="m1",
        host_id="h",
        host_level=level,
        org_path="/gd/liujia/alliance/",
        street_code="liujia",
        organisation=WATER,
        joined_on=date(2025, 1, 1),
        commitments=["共建滇池保护志愿队"],
        open_identities=set(open_identities),
        recorded_at=NOW,
        recorded_by="acc",
    )


def test_joining_and_leaving_an_alliance():
    m = join()
    assert [type(e) for e in m.events] == [AllianceJoined]
    with pytest.raises(DatesInvalid):
        m.leave(date(2024, 12, 31), None)
    m.leave(date(2026, 6, 30), "机构调整")
    assert not m.open
    assert [type(e) for e in m.events] == [AllianceJoined, AllianceLeft]
    with pytest.raises(AlreadyLeft):
        m.leave(date(2026, 7, 1), None)


def test_an_open_member_cannot_join_again_and_hosts_are_alliances_or_big_party_committees():
    with pytest.raises(AlreadyJoined):
        join({WATER.identity})
    join(level=Level.BIG_PARTY_COMMITTEE)
    with pytest.raises(WrongLevel):
        join(level=Level.COMMUNITY)
    # Without a credit code the name identifies the organisation.
    assert Organisation(name=" 某学校 ", kind=OrganisationKind.SCHOOL).identity == "name:某学校"


def rate(rating, to, effective_on=date(2026, 5, 1), role="street_secretary"):
    return rating.change(
        id=f"x{to}",
        to=to,
        effective_on=effective_on,
        evidence=Evidence("市委组织部通报", ("昆组通〔2026〕12号",)),
        reason="年度评定",
        role=role,
        decided_by="acc",
        now=NOW,
    )


def test_ratings_reach_the_standard_first_then_any_star_and_can_be_withdrawn():
    rating = BranchRating.of(branch_id="b", level=Level.BRANCH, org_path="/gd/liujia/c01/br1/", street_code="liujia")
    with pytest.raises(RatingTransitionRefused):
        rate(rating, Rating.CITY_5_STAR)
    first = rate(rating, Rating.STANDARD, date(2026, 1, 1))
    assert (first.from_rating, first.to_rating) == (Rating.NONE, Rating.STANDARD)
    second = rate(rating, Rating.CITY_5_STAR, date(2026, 6, 1))
    assert second.from_rating == Rating.STANDARD
    assert rating.version == 2
    with pytest.raises(RatingUnchanged):
        rate(rating, Rating.CITY_5_STAR, date(2026, 7, 1))
    with pytest.raises(RatingOutOfOrder):
        rate(rating, Rating.CITY_4_STAR, date(2026, 5, 31))
    rate(rating, Rating.CITY_4_STAR, date(2026, 6, 1))  # withdrawn to a lower star, same day allowed
    assert [type(e) for e in rating.events] == [StarRatingChanged] * 3
    assert Rating.NONE.rank < Rating.STANDARD.rank < Rating.PROVINCIAL_DEMONSTRATION.rank


def test_only_the_district_and_streets_rate_and_only_branches_are_rated():
    rating = BranchRating.of(branch_id="b", level=Level.BRANCH, org_path="/gd/x/", street_code="x")
    for role in ("community_secretary", "branch_secretary", "department", "member"):
        with pytest.raises(RoleCannotAct):
            rate(rating, Rating.STANDARD, role=role)
    rate(rating, Rating.STANDARD, role="district_admin")
    with pytest.raises(WrongLevel):
        BranchRating.of(branch_id="c", level=Level.COMMUNITY, org_path="/gd/x/", street_code="x")


def test_the_transition_table_is_complete():
    assert set(TRANSITIONS) == set(Rating)
    assert all(r not in TRANSITIONS[r] for r in Rating)
