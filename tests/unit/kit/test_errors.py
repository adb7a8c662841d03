import pytest

from kit.errors import HTTP_STATUS, ServiceError, as_service_error


class LevelRuleBroken(Exception):
    kind = "invalid"
    code = "ORG_LEVEL_RULE"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.errors = {"parent_id": ["a street goes under the district"]}


def test_a_domain_shaped_error_becomes_a_service_error_with_its_code_and_fields():
    error = as_service_error(LevelRuleBroken("wrong level"))
    assert error is not None
    assert (error.kind, error.code, error.detail, error.status) == ("invalid", "ORG_LEVEL_RULE", "wrong level", 422)
    assert error.errors == {"parent_id": ["a street goes under the district"]}


def test_an_unexpected_exception_is_not_mistaken_for_an_expected_one():
    assert as_service_error(KeyError("x")) is None
    assert as_service_error(ValueError("boom")) is None


def test_service_error_survives_being_rebuilt_from_its_args_as_nameko_does():
    error = ServiceError("conflict", "ORG_STALE", "stale version", {"version": ["expected 3"]})
    rebuilt = ServiceError(*error.args)
    assert (rebuilt.kind, rebuilt.code, rebuilt.detail, rebuilt.errors) == (
        "conflict",
        "ORG_STALE",
        "stale version",
        {"version": ["expected 3"]},
    )


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown error kind"):
        ServiceError("weird", "X", "y")


def test_every_kind_maps_to_a_status_of_the_architecture_table():
    assert HTTP_STATUS == {
        "bad_request": 400,
        "unauthenticated": 401,
        "forbidden": 403,
        "not_found": 404,
        "conflict": 409,
        "too_large": 413,
        "invalid": 422,
        "rate_limited": 429,
        "internal": 500,
        "unavailable": 503,
        "timeout": 504,
    }
