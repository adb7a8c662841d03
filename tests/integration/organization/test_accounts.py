"""Accounts and sessions: password check, lockout, refresh rotation with reuse detection, state."""

import pytest

from kit.context import CallerContext
from kit.errors import ServiceError


def anon():
    return CallerContext.anonymous().to_wire()


def system():
    return CallerContext.system().to_wire()


def test_authenticate_gives_the_account_its_scope_and_a_refresh_token(rpc):
    session = rpc.authenticate(anon(), "liujia.secretary", "Guandu@2026")
    assert session["account"]["role"] == "street_secretary"
    assert session["account"]["scope_path"] == "/gd/liujia/"
    assert len(session["refresh_token"]) > 30
    admin = rpc.authenticate(anon(), "district.admin", "Guandu@2026")["account"]
    assert admin["scope_path"] == "/"


def test_wrong_passwords_lock_the_account(rpc):
    for _ in range(3):  # AUTH_LOCKOUT_MAX_FAILURES=3 in this test's service
        with pytest.raises(ServiceError) as raised:
            rpc.authenticate(anon(), "taihe.secretary", "wrong")
        assert raised.value.code == "AUTH_INVALID_CREDENTIALS"
    with pytest.raises(ServiceError) as raised:
        rpc.authenticate(anon(), "taihe.secretary", "Guandu@2026")
    assert raised.value.code == "AUTH_ACCOUNT_LOCKED"
    assert raised.value.status == 401


def test_unknown_users_look_like_wrong_passwords(rpc):
    with pytest.raises(ServiceError) as raised:
        rpc.authenticate(anon(), "nobody", "x")
    assert raised.value.code == "AUTH_INVALID_CREDENTIALS"


def test_refresh_rotates_and_a_reused_token_revokes_the_family(rpc):
    first = rpc.authenticate(anon(), "jinma.secretary", "Guandu@2026")
    second = rpc.refresh_session(anon(), first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    third = rpc.refresh_session(anon(), second["refresh_token"])
    # The first token again: someone replayed it. The whole family dies, including the newest token.
    with pytest.raises(ServiceError) as raised:
        rpc.refresh_session(anon(), first["refresh_token"])
    assert raised.value.code == "AUTH_REFRESH_INVALID"
    with pytest.raises(ServiceError):
        rpc.refresh_session(anon(), third["refresh_token"])


def test_logout_revokes(rpc):
    session = rpc.authenticate(anon(), "wujing.secretary", "Guandu@2026")
    assert rpc.revoke_session(anon(), session["refresh_token"]) == {"revoked": True}
    with pytest.raises(ServiceError):
        rpc.refresh_session(anon(), session["refresh_token"])
    assert rpc.revoke_session(anon(), "x" * 40) == {"revoked": True}


def test_account_state_is_for_the_suite_only(rpc):
    account = rpc.authenticate(anon(), "guandu.secretary", "Guandu@2026")["account"]
    state = rpc.account_state(system(), account["account_id"])
    assert state["status"] == "active"
    assert state["scope_path"] == "/gd/guandu/"
    with pytest.raises(ServiceError) as raised:
        rpc.account_state(anon(), account["account_id"])
    assert raised.value.code == "SYSTEM_ONLY"
