"""The gateway's configuration: JWT keys, bounds the architecture sets, the development key."""

import stat

import pytest

from gateway.config import GatewayConfig, parse_jwt_keys

SECRET = "s" * 40


def test_defaults_from_an_empty_environment_use_a_development_key_kept_in_var(tmp_path):
    config = GatewayConfig.from_env({"GUANDU_VAR_DIR": str(tmp_path)})
    key_file = tmp_path / "jwt.key"
    assert config.jwt_keys == (("dev", key_file.read_text()),)
    assert len(config.jwt_keys[0][1]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert GatewayConfig.from_env({"GUANDU_VAR_DIR": str(tmp_path)}).jwt_keys == config.jwt_keys  # made once
    assert (config.port, config.host, config.rpc_timeout, config.max_content_length) == (
        8000,
        "127.0.0.1",
        10.0,
        1024 * 1024,
    )
    assert (config.jwt_issuer, config.jwt_audience, config.access_token_ttl) == ("guandu-gateway", "guandu-api", 900)
    assert config.redis_url is None


def test_settings_come_from_the_environment(tmp_path):
    config = GatewayConfig.from_env(
        {
            "JWT_KEYS": f"new:{SECRET}, old:{'o' * 40}",
            "GATEWAY_PORT": "8100",
            "RPC_TIMEOUT": "2.5",
            "REDIS_URL": "redis://127.0.0.1:6379/1",
            "ACCOUNT_STATE_TTL": "5",
            "GUANDU_VAR_DIR": str(tmp_path),
        }
    )
    assert config.jwt_keys == (("new", SECRET), ("old", "o" * 40))
    assert (config.port, config.rpc_timeout, config.account_state_ttl) == (8100, 2.5, 5.0)
    assert config.redis_url == "redis://127.0.0.1:6379/1"
    assert not (tmp_path / "jwt.key").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"jwt_keys": ()}, "at least one"),
        ({"jwt_keys": (("k", "short"),)}, "at least 32"),
        ({"access_token_ttl": 901}, "ACCESS_TOKEN_TTL"),
        ({"account_state_ttl": 31}, "ACCOUNT_STATE_TTL"),
        ({"rpc_pool_size": 0}, "RPC_POOL_SIZE"),
    ],
)
def test_settings_outside_the_architectures_bounds_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        GatewayConfig(**{"jwt_keys": (("k", SECRET),), **overrides})


def test_jwt_keys_need_a_kid_and_a_secret():
    assert parse_jwt_keys(f"a:{SECRET}") == (("a", SECRET),)
    with pytest.raises(ValueError, match="kid:secret"):
        parse_jwt_keys(SECRET)
