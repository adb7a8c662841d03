import pytest

from kit.config import GUANDU_STREETS, Settings, StreetSet


def test_the_shared_deployment_serves_unclaimed_streets_and_district():
    streets = StreetSet.from_env({"DEDICATED_STREETS": "liujia"})
    assert streets.label == "shared"
    assert "liujia" not in streets.streets
    assert set(streets.streets) == (set(GUANDU_STREETS) - {"liujia"}) | {"district"}


def test_a_dedicated_deployment_serves_its_streets_only():
    streets = StreetSet.from_env({"STREETS": "taihe,liujia"})
    assert streets.streets == ("liujia", "taihe")
    assert streets.label == "liujia+taihe"


def test_unknown_streets_are_refused():
    with pytest.raises(ValueError, match="unknown streets"):
        StreetSet.from_env({"STREETS": "atlantis"})


def test_service_settings_default_to_sqlite_under_var(tmp_path):
    settings = Settings.from_env("organization", {"GUANDU_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'organization.db'}"
    assert settings.metrics_port == 9101
    assert settings.nameko_config()["ACCEPT"] == ["json", "cloudevents"]


def test_database_url_per_service():
    settings = Settings.from_env("organization", {"ORGANIZATION_DATABASE_URL": "postgresql://x/y"})
    assert settings.database_url == "postgresql://x/y"


def test_queue_type_is_checked():
    with pytest.raises(ValueError, match="QUEUE_TYPE"):
        Settings.from_env("organization", {"QUEUE_TYPE": "stream"})
