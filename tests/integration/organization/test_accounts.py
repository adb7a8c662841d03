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


def _refused(call, *args) -> str:
    with pytest.raises(ServiceError) as raised:
        call(*args)
    assert raised.value.status == 401
    return raised.value.code


def test_wrong_passwords_close_only_the_door_they_came_through(rpc):
    """Three failures (AUTH_LOCKOUT_MAX_FAILURES=3 here) from one address lock that address out, and there even
    the right password answers as a wrong one; the holder at another address logs in as ever."""
    for _ in range(3):
        assert (
            _refused(rpc.authenticate, anon(), "taihe.secretary", "wrong", "198.51.100.7") == "AUTH_INVALID_CREDENTIALS"
        )
    assert _refused(rpc.authenticate, anon(), "taihe.secretary", "Guandu@2026", "198.51.100.7") == (
        "AUTH_INVALID_CREDENTIALS"
    )
    assert rpc.authenticate(anon(), "taihe.secretary", "Guandu@2026", "203.0.113.9")["account"]["role"] == (
        "street_secretary"
    )


def test_a_disabled_account_answers_as_any_failure_until_the_password_is_right(rpc, as_user):
    """Without the password nobody learns whether an account exists, is disabled or is locked."""
    account = rpc.authenticate(anon(), "guanshang.c02.secretary", "Guandu@2026")["account"]
    rpc.disable_account(as_user("district.admin"), account["account_id"], {"reason": "调离"}, "disable-c02")
    wrong = [_refused(rpc.authenticate, anon(), name, "wrong") for name in ("guanshang.c02.secretary", "nobody")]
    assert wrong == ["AUTH_INVALID_CREDENTIALS", "AUTH_INVALID_CREDENTIALS"]
    assert _refused(rpc.authenticate, anon(), "guanshang.c02.secretary", "Guandu@2026") == "AUTH_ACCOUNT_DISABLED"


def test_an_unreadable_source_is_refused(rpc):
    with pytest.raises(ServiceError) as raised:
        rpc.authenticate(anon(), "taihe.secretary", "Guandu@2026", "x" * 65)
    assert raised.value.code == "VALIDATION_FAILED"


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


def test_account_state_lists_the_sessions_ended_lately_so_their_access_tokens_stop(rpc, as_user):
    """Logging out, a replayed refresh token and a password reset each end sessions; the account's state names
    them (`ended_sessions`) while access tokens of theirs may still live, and the gateway refuses those."""
    kept = rpc.authenticate(anon(), "yiliu.secretary", "Guandu@2026")
    out = rpc.authenticate(anon(), "yiliu.secretary", "Guandu@2026")
    replayed = rpc.authenticate(anon(), "yiliu.secretary", "Guandu@2026")
    account_id = kept["account"]["account_id"]
    assert len({kept["session_id"], out["session_id"], replayed["session_id"]}) == 3
    assert rpc.account_state(system(), account_id)["ended_sessions"] == []
    rpc.revoke_session(anon(), out["refresh_token"])
    rotated = rpc.refresh_session(anon(), replayed["refresh_token"])
    assert rotated["session_id"] == replayed["session_id"]  # a refresh stays in its session
    with pytest.raises(ServiceError):
        rpc.refresh_session(anon(), replayed["refresh_token"])  # reuse: the whole session ends
    ended = rpc.account_state(system(), account_id)["ended_sessions"]
    assert sorted(ended) == sorted([out["session_id"], replayed["session_id"]])
    rpc.reset_password(as_user("district.admin"), account_id, {"password": "Guandu@2026"}, "reset-yiliu")
    ended = rpc.account_state(system(), account_id)["ended_sessions"]
    assert sorted(ended) == sorted([kept["session_id"], out["session_id"], replayed["session_id"]])


def test_account_state_is_for_the_suite_only(rpc):
    account = rpc.authenticate(anon(), "guandu.secretary", "Guandu@2026")["account"]
    state = rpc.account_state(system(), account["account_id"])
    assert state["status"] == "active"
    assert state["scope_path"] == "/gd/guandu/"
    with pytest.raises(ServiceError) as raised:
        rpc.account_state(anon(), account["account_id"])
    assert raised.value.code == "SYSTEM_ONLY"
