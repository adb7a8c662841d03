from datetime import UTC, datetime, timedelta

import pytest

from organization.domain.accounts import Account, LockoutPolicy, LoginThrottle, RefreshToken, TokenReused, scope_for
from organization.domain.errors import AccountDisabled, RefreshInvalid

NOW = datetime(2026, 11, 28, tzinfo=UTC)
POLICY = LockoutPolicy(max_failures=3, window=timedelta(minutes=15), lock_for=timedelta(minutes=10))


def account(**kw):
    return Account(id="a", username="u", display_name="U", role="street_secretary", org_id="o", **kw)


def test_three_failures_from_one_source_in_the_window_close_that_door_for_a_while():
    door = LoginThrottle(account_id="a", source="10.0.0.1")
    for i in range(3):
        assert not door.locked(NOW + timedelta(minutes=i))
        door.record_failure(NOW + timedelta(minutes=i), POLICY)
    assert door.locked(NOW + timedelta(minutes=5))
    assert not door.locked(NOW + timedelta(minutes=13))  # the lock has passed


def test_failures_outside_the_window_start_a_new_count():
    door = LoginThrottle(account_id="a", source="10.0.0.1")
    door.record_failure(NOW, POLICY)
    door.record_failure(NOW + timedelta(minutes=1), POLICY)
    door.record_failure(NOW + timedelta(minutes=30), POLICY)
    assert not door.locked(NOW + timedelta(minutes=31))
    assert door.failed_attempts == 1


def test_a_disabled_account_never_logs_in():
    account().check_can_log_in()
    with pytest.raises(AccountDisabled):
        account(status="disabled").check_can_log_in()


def test_scope_of_roles():
    assert scope_for("district_admin", "/gd/") == "/"
    assert scope_for("community_secretary", "/gd/liujia/c07/") == "/gd/liujia/c07/"
    assert scope_for("member", None) == ""


def test_refresh_tokens_expire_and_a_used_one_is_reuse():
    token = RefreshToken(
        id="t", account_id="a", family_id="f", token_hash="h", issued_at=NOW, expires_at=NOW + timedelta(days=14)
    )
    token.check_usable(NOW)
    with pytest.raises(RefreshInvalid):
        token.check_usable(NOW + timedelta(days=15))
    token.replaced_by = "t2"
    with pytest.raises(TokenReused):
        token.check_usable(NOW)
