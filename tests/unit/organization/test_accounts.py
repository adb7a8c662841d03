from datetime import UTC, datetime, timedelta

import pytest

from organization.domain.accounts import Account, LockoutPolicy, RefreshToken, TokenReused, scope_for
from organization.domain.errors import AccountDisabled, AccountLocked, RefreshInvalid

NOW = datetime(2026, 11, 28, tzinfo=UTC)
POLICY = LockoutPolicy(max_failures=3, window=timedelta(minutes=15), lock_for=timedelta(minutes=10))


def account(**kw):
    return Account(id="a", username="u", display_name="U", role="street_secretary", org_id="o", **kw)


def test_three_failures_in_the_window_lock_for_a_while():
    acc = account()
    for i in range(3):
        acc.check_can_log_in(NOW + timedelta(minutes=i))
        acc.record_failure(NOW + timedelta(minutes=i), POLICY)
    with pytest.raises(AccountLocked):
        acc.check_can_log_in(NOW + timedelta(minutes=5))
    acc.check_can_log_in(NOW + timedelta(minutes=13))  # the lock has passed


def test_failures_outside_the_window_start_a_new_count():
    acc = account()
    acc.record_failure(NOW, POLICY)
    acc.record_failure(NOW + timedelta(minutes=1), POLICY)
    acc.record_failure(NOW + timedelta(minutes=30), POLICY)
    acc.check_can_log_in(NOW + timedelta(minutes=31))
    assert acc.failed_attempts == 1


def test_success_clears_the_count_and_disabled_accounts_never_log_in():
    acc = account()
    acc.record_failure(NOW, POLICY)
    acc.record_success()
    assert acc.failed_attempts == 0
    with pytest.raises(AccountDisabled):
        account(status="disabled").check_can_log_in(NOW)


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
