"""The demo generator: deterministic from its seed, the source's counts, valid-looking but demo identities."""

import re
from collections import Counter
from datetime import date
from itertools import pairwise

import pytest

from kit.demo_tree import load_tree, node_id
from organization.demo.generate import (
    DEFAULT_AS_OF,
    FOUR_LIST_STATES,
    branch_username,
    cn_number,
    generate,
)
from organization.domain.members import id_checksum
from tests.member_data import TEST_AREA

GUANDU_REGIONS = {"530111", "530102", "530103", "530112", "530114", "530113", "530181", "530124", "530128", "532301"}


@pytest.fixture(scope="module")
def demo():
    return generate()


def test_the_same_seed_gives_identical_data_and_another_seed_other_data(demo):
    again = generate()
    assert again == demo
    assert again.as_dicts() == demo.as_dicts()
    other = generate(seed=7)
    assert [m.name for m in other.members[:50]] != [m.name for m in demo.members[:50]]
    # The branches are the tree's: same paths whatever the seed (the counts per body differ).
    assert len(other.branches) == len(demo.branches)


def test_branches_and_ratings_have_the_sources_counts(demo):
    assert len(demo.branches) == 1012
    assert len({b.org_path for b in demo.branches}) == 1012
    ratings = Counter(b.rating for b in demo.branches)
    assert ratings["provincial_demo"] == 4
    assert ratings["city_5_star"] == 35
    assert ratings["city_4_star"] == 58
    assert sum(n for rating, n in ratings.items() if rating != "none") == 993
    # Every community keeps br1 and br2 of the first demo tree; every host kind is used.
    tree = load_tree()
    communities = sum(len(s["communities"]) for s in tree["streets"])
    assert communities == 68
    paths = {b.org_path for b in demo.branches}
    for street in tree["streets"]:
        for i in range(1, len(street["communities"]) + 1):
            assert f"/gd/{street['code']}/c{i:02d}/br1/" in paths
            assert f"/gd/{street['code']}/c{i:02d}/br2/" in paths
    hosts = {b.host for b in demo.branches}
    assert hosts == {"community", "area", "working_committee", "big_party_committee"}
    assert all(b.id == node_id(b.org_path) and b.org_path == f"{b.parent_path}{b.code}/" for b in demo.branches)


def test_each_rated_branch_has_a_history_ending_at_its_rating(demo):
    history: dict[str, list] = {}
    for change in demo.star_ratings:
        history.setdefault(change.branch_id, []).append(change)
    for branch in demo.branches:
        changes = history.get(branch.id, [])
        if branch.rating == "none":
            assert changes == []
            continue
        assert changes[0].from_rating == "none"
        assert changes[-1].to_rating == branch.rating
        assert all(a.to_rating == b.from_rating for a, b in pairwise(changes))
        assert [c.changed_on for c in changes] == sorted(c.changed_on for c in changes)
        assert all(c.changed_on <= demo.as_of and c.decided_by and c.evidence for c in changes)


def test_members_one_secretary_per_branch(demo):
    assert len(demo.members) >= 20000
    assert len({m.id for m in demo.members}) == len(demo.members)
    secretaries = Counter(m.branch_id for m in demo.members if m.branch_role == "secretary")
    assert set(secretaries) == {b.id for b in demo.branches}
    assert set(secretaries.values()) == {1}
    roles = Counter(m.branch_role for m in demo.members)
    assert roles["deputy_secretary"] > 100
    assert roles["committee_member"] > 100
    assert {m.gender for m in demo.members} == {"male", "female"}
    for m in demo.members:
        assert m.demo is True
        assert m.joined_party_on >= date(m.birth_date.year + 18, 1, 1)
        assert m.full_member_on is None or m.full_member_on > m.joined_party_on
        assert (m.work_unit is not None) == m.in_service
    assert any(m.full_member_on is None for m in demo.members)  # some are still probationary
    assert all(m.full_member_on is not None for m in demo.members if m.branch_role == "secretary")


def test_id_numbers_are_valid_in_format_with_the_gb11643_checksum(demo):
    # A published example: 11010519491231002X.
    assert id_checksum("11010519491231002") == "X"
    ids = [m.id_number for m in demo.members]
    assert len(set(ids)) == len(ids)
    for m in demo.members:
        n = m.id_number
        assert re.fullmatch(r"\d{17}[\dX]", n)
        assert n[:6] in GUANDU_REGIONS
        assert n[6:14] == m.birth_date.strftime("%Y%m%d")
        assert int(n[16]) % 2 == (1 if m.gender == "male" else 0)
        assert n[17] == id_checksum(n[:17])
    assert Counter(n[:6] for n in ids).most_common(1)[0][0] == "530111"
    # Tests register their members in a region no demo member is born in, so they never collide.
    assert TEST_AREA not in GUANDU_REGIONS


def test_phones_are_valid_and_from_the_demo_range(demo):
    phones = [m.phone for m in demo.members]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) and p.startswith("19900") for p in phones)


def test_alliances_big_party_committees_and_dual_registrations(demo):
    kinds = Counter(o.kind for o in demo.alliance_organisations)
    assert sum(kinds.values()) >= 700
    assert set(kinds) == {"agency", "school", "enterprise", "two_new"}
    assert len({o.name for o in demo.alliance_organisations}) == len(demo.alliance_organisations)
    levels = Counter(m.body_level for m in demo.alliance_memberships)
    assert levels["alliance"] > 100 and levels["big_party_committee"] > 300
    orgs = {o.id for o in demo.alliance_organisations}
    assert {m.organisation_id for m in demo.alliance_memberships} == orgs  # every organisation joined something
    for m in demo.alliance_memberships:
        assert m.body_path.endswith(("/alliance/", "/bpc/")) and m.body_id == node_id(m.body_path)
        assert m.commitments and (m.left_on is None or m.left_on > m.joined_on)
    assert any(m.left_on for m in demo.alliance_memberships)

    registrants = Counter(r.registrant for r in demo.dual_registrations)
    assert registrants["organisation"] == kinds["agency"] and registrants["member"] >= 1000
    members = {m.id: m for m in demo.members}
    assert all(members[r.member_id].in_service for r in demo.dual_registrations if r.member_id)
    current = f"{demo.as_of:%Y-%m}"
    reported_now = {r.registration_id for r in demo.service_reports if r.period == current}
    unreported = [r for r in demo.dual_registrations if r.id not in reported_now]
    assert 0 < len(unreported) < len(demo.dual_registrations)
    confirmed = [r for r in demo.service_reports if r.confirmed_on]
    assert 0 < len(confirmed) < len(demo.service_reports)
    assert all(r.confirmed_by and r.confirmed_on >= r.reported_on for r in confirmed)
    assert all(r.hours * 2 == int(r.hours * 2) and r.reported_on <= demo.as_of for r in demo.service_reports)


def test_four_list_items_in_every_state_for_every_secretary_level(demo):
    items = demo.four_list_items
    assert {i.status for i in items} == set(FOUR_LIST_STATES)
    assert {i.list_kind for i in items} == {"responsibility", "project", "problem", "rectification"}
    assert Counter(i.owner_level for i in items).keys() == {"district", "street", "community"}
    overdue = [i for i in items if i.overdue]
    assert overdue and all(i.status in ("open", "in_progress") and i.due_on < demo.as_of for i in overdue)
    for i in items:
        assert (i.closed_on is not None) == (i.status in ("done", "cancelled"))
        assert all(i.created_on <= note.on <= demo.as_of for note in i.progress)


def test_accounts_one_branch_secretary_per_branch_and_the_two_demo_accounts(demo):
    by_name = {a.username: a for a in demo.accounts}
    assert len(by_name) == len(demo.accounts)
    secretaries = [a for a in demo.accounts if a.role == "branch_secretary"]
    assert len(secretaries) == len(demo.branches)
    members = {m.id: m for m in demo.members}
    for a in secretaries:
        assert members[a.member_id].branch_role == "secretary" and members[a.member_id].branch_id == a.org_id
        assert a.username == branch_username(a.org_path)
    assert by_name["liujia.c01.a1.br1.secretary"].org_path == "/gd/liujia/c01/a1/br1/"
    member = by_name["demo.member"]
    assert member.role == "member" and members[member.member_id].branch_id == member.org_id
    resident = by_name["demo.resident"]
    assert resident.role == "resident" and resident.member_id is None and resident.org_path == "/gd/liujia/c01/"


def test_dates_follow_the_as_of_date():
    later = generate(as_of=date(2027, 3, 10))
    assert later.as_of != DEFAULT_AS_OF
    assert {r.period for r in later.service_reports} == {"2027-03", "2027-02", "2027-01"}


def test_chinese_numbers():
    assert [cn_number(n) for n in (1, 9, 10, 11, 20, 21, 99)] == ["一", "九", "十", "十一", "二十", "二十一", "九十九"]
