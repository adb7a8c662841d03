"""Access tokens: HS256 pinned, kid chosen from JWT_KEYS, aud/iss/exp/iat/sub/jti required."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.auth import Tokens
from gateway.config import GatewayConfig
from kit.clock import FixedClock
from kit.errors import ServiceError

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
K1, K2 = ("k1", "1" * 64), ("k2", "2" * 64)
ACCOUNT = "0b1e4a5c-7f0e-4c1a-9d2e-3f4a5b6c7d8e"


def tokens(*keys: tuple[str, str], at: datetime | None = None, **config) -> Tokens:
    return Tokens(GatewayConfig(jwt_keys=keys or (K1,), **config), FixedClock(at or datetime.now(UTC)))


def refused(token: str, code: str = "TOKEN_INVALID", verifier: Tokens | None = None) -> None:
    with pytest.raises(ServiceError) as raised:
        (verifier or tokens()).verify(token)
    assert (raised.value.kind, raised.value.code) == ("unauthenticated", code)


def forged(claims: dict, *, key: str = K1[1], algorithm: str = "HS256", kid: str | None = "k1") -> str:
    base = {
        "sub": ACCOUNT,
        "aud": "guandu-api",
        "iss": "guandu-gateway",
        "jti": uuid.uuid4().hex,
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    return jwt.encode({**base, **claims}, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def test_a_token_names_its_account_and_the_signing_key():
    token = tokens(K2, K1, at=NOW).issue(ACCOUNT)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k2", "typ": "JWT"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == ACCOUNT
    assert (claims["aud"], claims["iss"]) == ("guandu-api", "guandu-gateway")
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) == 32
    assert tokens(K2, K1).verify(tokens(K2, K1).issue(ACCOUNT)) == (ACCOUNT, None)
    assert tokens(K2, K1).verify(tokens(K2, K1).issue(ACCOUNT, "s-1")) == (ACCOUNT, "s-1")


def test_every_configured_key_verifies_so_keys_can_be_rotated():
    old = tokens(K1).issue(ACCOUNT)
    assert tokens(K2, K1).verify(old) == (ACCOUNT, None)
    refused(old, verifier=tokens(K2))  # once k1 is retired, its tokens stop working


def test_an_expired_token_is_refused_as_expired():
    refused(tokens(at=NOW - timedelta(minutes=16)).issue(ACCOUNT), "TOKEN_EXPIRED")
    refused(forged({"exp": datetime.now(UTC) - timedelta(seconds=1)}), "TOKEN_EXPIRED")


def test_the_wrong_audience_or_issuer_is_refused():
    refused(tokens(jwt_audience="another-api").issue(ACCOUNT))
    refused(tokens(jwt_issuer="someone-else").issue(ACCOUNT))
    refused(forged({"aud": "another-api"}))


def test_only_hs256_is_accepted():
    refused(forged({}, algorithm="HS512"))
    refused(jwt.encode({"sub": ACCOUNT}, None, algorithm="none", headers={"kid": "k1"}))


def test_an_unknown_or_missing_kid_is_refused():
    refused(forged({}, kid="k9"))
    refused(forged({}, kid=None))
    refused(forged({}, key="9" * 40))  # the right kid with the wrong secret


@pytest.mark.parametrize("claim", ["sub", "aud", "iss", "exp", "iat", "jti"])
def test_each_required_claim_must_be_there(claim):
    token = forged({})
    claims = jwt.decode(token, options={"verify_signature": False})
    del claims[claim]
    refused(jwt.encode(claims, K1[1], algorithm="HS256", headers={"kid": "k1"}))


def test_garbage_is_refused():
    for token in ("", "abc", "a.b.c", tokens().issue(ACCOUNT)[:-2] + "xx"):
        refused(token)


def test_a_remembered_token_still_expires(monkeypatch):
    verifier = tokens()
    token = forged({"exp": datetime.now(UTC) + timedelta(seconds=60)})
    assert verifier.verify(token) == (ACCOUNT, None)  # verified once, then remembered
    later = datetime.now(UTC).timestamp() + 61
    monkeypatch.setattr("gateway.auth.time.time", lambda: later)
    refused(token, "TOKEN_EXPIRED", verifier)


def test_a_refused_token_is_not_remembered_as_valid():
    verifier = tokens(K2)
    token = tokens(K1).issue(ACCOUNT)
    refused(token, verifier=verifier)
    refused(token, verifier=verifier)  # asked again, checked again: still refused
    assert verifier.verify(tokens(K2).issue(ACCOUNT)) == (ACCOUNT, None)
