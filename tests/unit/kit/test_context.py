import pytest

from kit.context import CallerContext, require_authenticated
from kit.errors import ServiceError

GOOD = {
    "role": "street_secretary",
    "scope_path": "/gd/liujia/",
    "correlation_id": "abc",
    "account_id": "a-1",
}


def test_a_valid_context_round_trips():
    ctx = CallerContext.from_wire(GOOD)
    assert CallerContext.from_wire(ctx.to_wire()) == ctx


def test_scope_is_a_path_prefix():
    ctx = CallerContext.from_wire(GOOD)
    assert ctx.can_see("/gd/liujia/c07/")
    assert ctx.can_see("/gd/liujia/")
    assert not ctx.can_see("/gd/guanshang/")
    assert not ctx.can_see("/gd/liujia2/")  # a sibling whose code starts the same is not inside
    assert not ctx.can_see("/gd/")


def test_anonymous_sees_nothing_and_system_sees_everything():
    assert not CallerContext.anonymous().can_see("/gd/")
    assert CallerContext.system().can_see("/departments/cityman/")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role": "king"}, "unknown role"),
        ({"scope_path": "gd/liujia"}, "scope_path"),
        ({"scope_path": "/gd/../"}, "scope_path"),
        ({"correlation_id": ""}, "correlation_id"),
        ({"account_id": None}, "account_id"),
        ({"extra": 1}, "unknown caller context fields"),
        ({"member_id": 5}, "member_id"),
    ],
)
def test_a_malformed_context_is_refused_with_a_clear_message(change, message):
    with pytest.raises(ServiceError) as raised:
        CallerContext.from_wire({**GOOD, **change})
    assert raised.value.code == "CONTEXT_INVALID"
    assert raised.value.status == 400
    assert message in raised.value.detail


def test_a_context_that_is_not_an_object_is_refused():
    with pytest.raises(ServiceError):
        CallerContext.from_wire(["street_secretary"])


def test_an_unscoped_read_refuses_only_the_caller_who_has_not_logged_in():
    with pytest.raises(ServiceError) as raised:
        require_authenticated(CallerContext.anonymous())
    assert (raised.value.kind, raised.value.code) == ("unauthenticated", "AUTH_REQUIRED")
    require_authenticated(CallerContext.system())
    require_authenticated(CallerContext.from_wire({**GOOD, "role": "resident"}))
