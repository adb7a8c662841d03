"""The street module catalogue (as shipped) and the account administration rules (roles, nodes, passwords)."""

from datetime import UTC, date, datetime

import pytest

from kit.context import ROLES
from organization.app.modules import catalogue
from organization.domain.accounts import (
    CannotDisableSelf,
    MemberIdRequired,
    MemberNotLinkable,
    PasswordTooWeak,
    RoleNotGrantable,
    WrongNodeForRole,
    check_may_manage,
    check_member_link,
    check_node_for_role,
    check_password,
)
from organization.domain.members import Member
from organization.domain.modules import CatalogueInvalid, UnknownModule, catalogue_from

EVERY_MODULE = ["river_patrol", "whistle", "scoring", "dual_registration", "alliances", "star_ratings", "four_lists"]


def test_the_shipped_catalogue_runs_river_patrol_in_liujia_only():
    shipped = catalogue()
    assert list(shipped.codes) == EVERY_MODULE
    assert shipped.defaults_for("liujia") == EVERY_MODULE
    assert shipped.defaults_for("taihe") == EVERY_MODULE[1:]


def test_a_street_list_is_normalised_to_catalogue_order_and_unknown_codes_are_refused():
    shipped = catalogue()
    assert shipped.normalise(["four_lists", "whistle", "whistle"]) == ["whistle", "four_lists"]
    assert shipped.normalise([]) == []
    with pytest.raises(UnknownModule) as caught:
        shipped.normalise(["whistle", "teleport"])
    assert caught.value.kind == "invalid" and "teleport" in caught.value.detail


@pytest.mark.parametrize(
    "data",
    [
        {"modules": []},
        {"modules": [{"code": "a", "name": "A"}, {"code": "a", "name": "B"}]},
        {"modules": [{"code": "a", "name": "A", "default_streets": "some"}]},
    ],
)
def test_a_broken_catalogue_is_refused(data):
    with pytest.raises(CatalogueInvalid):
        catalogue_from(data)


# Only lower ranks: a street secretary manages the community and below, never a peer or a desk; a district admin
# everyone but another district admin; every other role nobody.
MAY_MANAGE = {
    "district_admin": {
        "street_secretary",
        "community_secretary",
        "branch_secretary",
        "department",
        "member",
        "resident",
    },
    "street_secretary": {"community_secretary", "branch_secretary", "member", "resident"},
}


@pytest.mark.parametrize("admin", ROLES)
@pytest.mark.parametrize("target", ROLES)
def test_an_account_manages_only_lower_ranks(admin, target):
    if target in MAY_MANAGE.get(admin, set()):
        check_may_manage(admin, target)
    else:
        with pytest.raises(RoleNotGrantable) as caught:
            check_may_manage(admin, target)
        assert caught.value.kind == "forbidden"


@pytest.mark.parametrize(
    ("role", "level", "member_id", "error"),
    [
        ("community_secretary", "community", None, None),
        ("community_secretary", "street", None, WrongNodeForRole),
        ("department", "department", None, None),
        ("department", "community", None, WrongNodeForRole),
        ("resident", "community", None, None),
        ("resident", "branch", None, WrongNodeForRole),
        ("member", "branch", "m-1", None),
        ("member", "branch", None, MemberIdRequired),
        ("district_admin", "district", None, None),
    ],
)
def test_each_role_sits_on_its_kind_of_node(role, level, member_id, error):
    if error is None:
        check_node_for_role(role, level, member_id)
    else:
        with pytest.raises(error) as caught:
            check_node_for_role(role, level, member_id)
        assert caught.value.kind == "invalid"


def a_member(status: str = "active") -> Member:
    return Member(
        id="m-1",
        name="张三",
        branch_id="b",
        org_path="/gd/liujia/c01/br1/",
        street_code="liujia",
        role="member",
        joined_party_on=date(2010, 7, 1),
        id_number_masked="530111********3290",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        status=status,
    )


@pytest.mark.parametrize("node", ["/gd/liujia/c01/br1/", "/gd/liujia/c01/"])
def test_an_account_may_act_as_a_current_member_from_their_branch_or_above(node):
    check_member_link(node, a_member())


@pytest.mark.parametrize(
    ("node", "member", "field", "problem"),
    [
        ("/gd/liujia/c01/br1/", None, "member_id", "not found"),
        ("/gd/liujia/c01/br1/", a_member("left"), "member_id", "has left"),
        ("/gd/liujia/c01/br2/", a_member(), "org_id", "the member's branch or above"),
        ("/gd/taihe/c01/", a_member(), "org_id", "the member's branch or above"),
    ],
)
def test_an_account_may_not_act_as_someone_elses_member(node, member, field, problem):
    with pytest.raises(MemberNotLinkable) as refused:
        check_member_link(node, member)
    assert (refused.value.kind, refused.value.errors) == ("invalid", {field: [problem]})


@pytest.mark.parametrize("password", ["short", "123456789", " padded-password ", "x" * 257])
def test_weak_passwords_are_refused_with_a_field_error(password):
    with pytest.raises(PasswordTooWeak) as caught:
        check_password(password)
    assert caught.value.kind == "invalid" and caught.value.errors["password"]


def test_a_long_enough_password_passes():
    check_password("ten-chars!")
    assert CannotDisableSelf.kind == "invalid"
