"""The gateway's configuration, read once from the environment into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from kit.config import DEFAULT_AMQP_URI, dev_secret, var_dir

MAX_ACCESS_TOKEN_TTL = 15 * 60  # ARCHITECTURE.md: access tokens live at most 15 minutes
MAX_ACCOUNT_STATE_TTL = 30.0  # a disabled account stops working within 30 seconds
MIN_SECRET_LENGTH = 32  # HS256 wants at least 256 bits of key
DEV_KID = "dev"


@dataclass(frozen=True)
class GatewayConfig:
    jwt_keys: tuple[tuple[str, str], ...]  # (kid, secret); the first one signs, all of them verify
    amqp_uri: str = DEFAULT_AMQP_URI
    host: str = "127.0.0.1"
    port: int = 8000
    rpc_timeout: float = 10.0
    rpc_pool_size: int = 8
    max_content_length: int = 1024 * 1024
    jwt_issuer: str = "guandu-gateway"
    jwt_audience: str = "guandu-api"
    access_token_ttl: int = MAX_ACCESS_TOKEN_TTL
    redis_url: str | None = None
    account_state_ttl: float = 10.0
    service_check_ttl: float = 2.0
    rate_limit: str = "300/minute"  # per account (per client IP before logging in)
    login_rate_limit: str = "10/minute"  # POST /auth/token, per client IP and per username
    rate_limit_prefix: str = "guandu-gateway"  # the counters' key prefix in the shared store (one per deployment)
    # How many reverse proxies in front of the gateway append to X-Forwarded-For (and set -Proto, -Host). 0:
    # the header is ignored, since anyone could send one to dodge the per-IP limits or fake the access log.
    trusted_proxies: int = 0

    def __post_init__(self) -> None:
        if not self.jwt_keys:
            raise ValueError("JWT_KEYS needs at least one kid:secret")
        for kid, secret in self.jwt_keys:
            if not kid or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(f"JWT key {kid!r}: a kid and a secret of at least {MIN_SECRET_LENGTH} characters")
        if not 0 < self.access_token_ttl <= MAX_ACCESS_TOKEN_TTL:
            raise ValueError(f"ACCESS_TOKEN_TTL must be 1..{MAX_ACCESS_TOKEN_TTL} seconds")
        if not 0 <= self.account_state_ttl <= MAX_ACCOUNT_STATE_TTL:
            raise ValueError(f"ACCOUNT_STATE_TTL must be 0..{MAX_ACCOUNT_STATE_TTL:g} seconds")
        if self.trusted_proxies < 0:
            raise ValueError("GATEWAY_TRUSTED_PROXIES must be 0 or more")
        if self.rpc_pool_size < 1 or self.rpc_timeout <= 0:
            raise ValueError("RPC_POOL_SIZE must be at least 1 and RPC_TIMEOUT positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        keys = env.get("JWT_KEYS", "").strip()
        return cls(
            jwt_keys=parse_jwt_keys(keys) if keys else ((DEV_KID, dev_secret(var_dir(env) / "jwt.key")),),
            amqp_uri=env.get("AMQP_URI", DEFAULT_AMQP_URI),
            host=env.get("GATEWAY_HOST", "127.0.0.1"),
            port=int(env.get("GATEWAY_PORT", "8000")),
            rpc_timeout=float(env.get("RPC_TIMEOUT", "10")),
            rpc_pool_size=int(env.get("RPC_POOL_SIZE", "8")),
            max_content_length=int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
            jwt_issuer=env.get("JWT_ISSUER", "guandu-gateway"),
            jwt_audience=env.get("JWT_AUDIENCE", "guandu-api"),
            access_token_ttl=int(env.get("ACCESS_TOKEN_TTL", str(MAX_ACCESS_TOKEN_TTL))),
            redis_url=env.get("REDIS_URL") or None,
            account_state_ttl=float(env.get("ACCOUNT_STATE_TTL", "10")),
            service_check_ttl=float(env.get("SERVICE_CHECK_TTL", "2")),
            rate_limit=env.get("RATE_LIMIT", "300/minute"),
            login_rate_limit=env.get("LOGIN_RATE_LIMIT", "10/minute"),
            rate_limit_prefix=env.get("RATE_LIMIT_KEY_PREFIX", "guandu-gateway"),
            trusted_proxies=int(env.get("GATEWAY_TRUSTED_PROXIES", "0")),
        )


def parse_jwt_keys(value: str) -> tuple[tuple[str, str], ...]:
    """`kid:secret,kid2:secret2` -> (("kid", "secret"), ("kid2", "secret2"))."""
    keys = []
    for item in value.split(","):
        kid, sep, secret = item.strip().partition(":")
        if not sep:
            raise ValueError("JWT_KEYS is a comma-separated list of kid:secret")
        keys.append((kid.strip(), secret.strip()))
    return tuple(keys)
