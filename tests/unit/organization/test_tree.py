"""The tree's rules, pure: levels, codes, moves, cycles, versions, who may change what."""

from datetime import UTC, datetime, timedelta

import pytest

from organization.domain.errors import (
    CodeTaken,
    CycleRefused,
    HasActiveChildren,
    InvalidCode,
    LevelNotAllowed,
    NodeClosed,
    RoleCannotCreateLevel,
    StaleVersion,
)
from organization.domain.tree import (
    ALLOWED_CHILDREN,
    Level,
    OrgClosed,
    OrgCreated,
    OrgMoved,
    OrgNode,
    OrgRenamed,
    check_may_create,
    path_depth,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def tree():
    district = OrgNode.root(id="d", code="gd", name="官渡区", level=Level.DISTRICT, now=NOW)
    street = OrgNode.create(
        id="s",
        parent=district,
        code="liujia",
        name="六甲街道",
        level=Level.STREET,
        now=NOW,
        sibling_codes=set(),
        brand="党建+滇池治理",
    )
    other = OrgNode.create(
        id="s2",
        parent=district,
        code="guanshang",
        name="关上街道",
        level=Level.STREET,
        now=NOW,
        sibling_codes={"liujia"},
    )
    community = OrgNode.create(
        id="c", parent=street, code="c07", name="福保社区", level=Level.COMMUNITY, now=NOW, sibling_codes=set()
    )
    return district, street, other, community


def test_paths_streets_and_events_of_new_nodes():
    district, street, _, community = tree()
    assert district.org_path == "/gd/" and district.street_code == "district"
    assert street.org_path == "/gd/liujia/" and street.street_code == "liujia" and street.brand == "党建+滇池治理"
    assert community.org_path == "/gd/liujia/c07/" and community.street_code == "liujia"
    assert community.brand is None
    assert isinstance(community.events[0], OrgCreated)
    assert path_depth("/gd/") == 0 and path_depth("/gd/liujia/c07/") == 2


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        (Level.DISTRICT, Level.COMMUNITY),
        (Level.COMMUNITY, Level.STREET),
        (Level.BUILDING, Level.BRANCH),
        (Level.DEPARTMENTS, Level.STREET),
    ],
)
def test_a_wrong_level_is_refused(parent, child):
    assert child not in ALLOWED_CHILDREN[parent]


def test_creating_under_the_wrong_level_or_a_closed_node_or_with_a_taken_code_fails():
    _, street, _, community = tree()
    with pytest.raises(LevelNotAllowed):
        OrgNode.create(id="x", parent=community, code="s", name="x", level=Level.STREET, now=NOW, sibling_codes=set())
    with pytest.raises(CodeTaken):
        OrgNode.create(
            id="x", parent=street, code="c07", name="x", level=Level.COMMUNITY, now=NOW, sibling_codes={"c07"}
        )
    with pytest.raises(InvalidCode):
        OrgNode.create(id="x", parent=street, code="C 7", name="x", level=Level.COMMUNITY, now=NOW, sibling_codes=set())
    community.close(expected_version=1, active_children=0, now=NOW)
    with pytest.raises(NodeClosed):
        OrgNode.create(id="x", parent=community, code="a1", name="x", level=Level.AREA, now=NOW, sibling_codes=set())


def test_roles_create_only_their_levels():
    check_may_create("district_admin", Level.STREET)
    check_may_create("street_secretary", Level.COMMUNITY)
    check_may_create("community_secretary", Level.BUILDING)
    for role, level in [
        ("community_secretary", Level.STREET),
        ("street_secretary", Level.STREET),
        ("member", Level.BRANCH),
        ("department", Level.AREA),
        ("district_admin", Level.DISTRICT),
    ]:
        with pytest.raises(RoleCannotCreateLevel):
            check_may_create(role, level)


def test_rename_checks_the_version_and_records_the_old_name():
    _, _, _, community = tree()
    community.rename("福保新社区", expected_version=1)
    assert community.version == 2
    assert isinstance(community.events[-1], OrgRenamed) and community.events[-1].old_name == "福保社区"
    with pytest.raises(StaleVersion):
        community.rename("again", expected_version=1)


def test_a_move_into_its_own_subtree_is_a_cycle():
    _, _, _, community = tree()
    area = OrgNode.create(id="a", parent=community, code="a1", name="a", level=Level.AREA, now=NOW, sibling_codes=set())
    with pytest.raises(CycleRefused):
        community.plan_move(area, expected_version=1, sibling_codes=set())
    with pytest.raises(CycleRefused):
        community.plan_move(community, expected_version=1, sibling_codes=set())


def test_a_move_between_streets_rewrites_path_and_street():
    _, _, other, community = tree()
    plan = community.plan_move(other, expected_version=1, sibling_codes=set())
    assert (plan.old_path, plan.new_path) == ("/gd/liujia/c07/", "/gd/guanshang/c07/")
    assert (plan.old_street_code, plan.new_street_code) == ("liujia", "guanshang")
    assert plan.depth_delta == 0
    community.apply_move(other, plan, moved_nodes=5)
    moved = community.events[-1]
    assert isinstance(moved, OrgMoved) and moved.old_street_code == "liujia" and moved.moved_nodes == 5
    assert community.street_code == "guanshang" and community.version == 2


def test_a_move_needs_the_right_level_and_a_free_code():
    district, street, other, community = tree()
    with pytest.raises(LevelNotAllowed):
        community.plan_move(district, expected_version=1, sibling_codes=set())
    with pytest.raises(CodeTaken):
        community.plan_move(other, expected_version=1, sibling_codes={"c07"})
    with pytest.raises(LevelNotAllowed):
        district.plan_move(street, expected_version=1, sibling_codes=set())


def test_close_waits_for_the_children():
    _, _, _, community = tree()
    with pytest.raises(HasActiveChildren):
        community.close(expected_version=1, active_children=2, now=NOW)
    community.close(expected_version=1, active_children=0, now=NOW + timedelta(days=1))
    assert community.status == "closed" and isinstance(community.events[-1], OrgClosed)
    with pytest.raises(NodeClosed):
        community.rename("x", expected_version=2)
