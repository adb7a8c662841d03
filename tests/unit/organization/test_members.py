"""Member rules: registration only in an active branch, consistent dates, optimistic versions, transfers,
leaving, and who may see unmasked personal data."""

from datetime import UTC, date, datetime

import pytest

from organization.domain.members import (
    Branch,
    BranchClosed,
    InvalidDates,
    InvalidPersonalData,
    Member,
    MemberHasLeft,
    MemberLeft,
    MemberRegistered,
    MemberStale,
    MemberTransferred,
    MemberUpdated,
    NotABranch,
    RoleMayNotManageMembers,
    SameBranch,
    check_may_read,
    check_may_write,
    check_personal_data,
    may_reveal,
)

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 1)
BR1 = Branch("b1", "branch", "active", "/gd/liujia/c01/br1/", "liujia")
BR2 = Branch("b2", "branch", "active", "/gd/taihe/c02/br1/", "taihe")
DATA = {"name": "张三", "joined_party_on": date(2010, 7, 1), "birth_date": date(1985, 5, 4)}


def register(branch: Branch = BR1, **data) -> Member:
    return Member.register(
        id="m1",
        branch=branch,
        data={**DATA, **data},
        id_number_masked="530102********1234",
        phone_masked=None,
        now=NOW,
        today=TODAY,
    )


def test_registration_records_the_event_and_the_branch_path():
    member = register(full_member_on=date(2011, 7, 1))
    assert (member.org_path, member.street_code, member.role, member.standing) == (
        BR1.org_path,
        "liujia",
        "member",
        "full",
    )
    assert isinstance(member.events[0], MemberRegistered)
    assert register().standing == "probationary"


@pytest.mark.parametrize(
    ("branch", "error"),
    [
        (Branch("c", "community", "active", "/gd/liujia/c01/", "liujia"), NotABranch),
        (Branch("x", "branch", "closed", "/gd/liujia/c01/br2/", "liujia"), BranchClosed),
    ],
)
def test_only_an_active_branch_holds_members(branch, error):
    with pytest.raises(error):
        register(branch)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"joined_party_on": date(2027, 1, 1)}, "joined_party_on"),
        ({"full_member_on": date(2009, 1, 1)}, "full_member_on"),
        ({"birth_date": date(2011, 1, 1)}, "birth_date"),
    ],
)
def test_inconsistent_dates_are_refused(data, field):
    with pytest.raises(InvalidDates) as caught:
        register(**data)
    assert field in caught.value.errors


def test_personal_data_errors_never_repeat_the_value():
    with pytest.raises(InvalidPersonalData) as caught:
        check_personal_data("530102199001011235", "12345")
    text = repr(caught.value.errors) + caught.value.detail
    assert "530102199001011235" not in text
    assert "12345" not in text
    assert set(caught.value.errors) == {"id_number", "phone"}


def test_update_needs_the_current_version_and_records_changed_fields():
    member = register()
    member.events.clear()
    assert member.update({"name": "张三丰", "role": "member"}, expected_version=1, today=TODAY) == ("name",)
    assert member.version == 2
    assert isinstance(member.events[0], MemberUpdated)
    with pytest.raises(MemberStale):
        member.update({"name": "x"}, expected_version=1, today=TODAY)
    assert member.update({"name": "张三丰"}, expected_version=2, today=TODAY) == ()  # nothing changed, no version


def test_a_phone_with_the_same_mask_still_counts_as_changed_when_the_handler_says_so():
    member = register()
    assert member.update({"phone": None}, expected_version=1, today=TODAY, phone_changed=True) == ("phone",)


def test_transfer_moves_the_member_and_remembers_where_from():
    member = register()
    member.transfer(BR2, expected_version=1, on=TODAY, from_branch=BR1)
    assert (member.branch_id, member.org_path, member.street_code, member.version) == ("b2", BR2.org_path, "taihe", 2)
    event = member.events[-1]
    assert isinstance(event, MemberTransferred)
    assert event.from_branch == BR1
    with pytest.raises(SameBranch):
        member.transfer(BR2, expected_version=2, on=TODAY, from_branch=BR2)


def test_leaving_is_final():
    member = register()
    member.leave(expected_version=1, on=TODAY, reason="moved_away", today=TODAY)
    assert (member.status, member.left_on, member.leave_reason) == ("left", TODAY, "moved_away")
    assert isinstance(member.events[-1], MemberLeft)
    with pytest.raises(MemberHasLeft):
        member.update({"name": "x"}, expected_version=2, today=TODAY)
    with pytest.raises(MemberHasLeft):
        member.transfer(BR2, expected_version=2, on=TODAY, from_branch=BR1)


def test_leaving_in_the_future_or_before_joining_is_refused():
    with pytest.raises(InvalidDates):
        register().leave(expected_version=1, on=date(2026, 3, 2), reason="other", today=TODAY)
    with pytest.raises(InvalidDates):
        register().leave(expected_version=1, on=date(2009, 1, 1), reason="other", today=TODAY)


def test_who_may_reveal():
    path = BR1.org_path
    assert may_reveal("district_admin", "/", None, "m1", path)
    assert may_reveal("street_secretary", "/gd/liujia/", None, "m1", path)
    assert may_reveal("community_secretary", "/gd/liujia/c01/", None, "m1", path)
    assert not may_reveal("community_secretary", "/gd/liujia/c02/", None, "m1", path)
    assert not may_reveal("branch_secretary", path, None, "m1", path)
    assert may_reveal("member", path, "m1", "m1", path)  # themself
    assert not may_reveal("member", path, "m2", "m1", path)


def test_which_roles_write_and_read():
    for role in ("district_admin", "street_secretary", "community_secretary"):
        check_may_write(role)
    for role in ("branch_secretary", "member", "department", "resident"):
        with pytest.raises(RoleMayNotManageMembers):
            check_may_write(role)
    check_may_read("member")
    with pytest.raises(RoleMayNotManageMembers):
        check_may_read("resident")
