"""The headers the gateway reads itself: Idempotency-Key and X-Correlation-ID."""

import uuid

import pytest
from flask import Flask

from gateway.headers import correlation_id, idempotency_key
from kit.errors import ServiceError


@pytest.mark.parametrize("key", ["a", "order-42", "x" * 200, "!~{}[]:;/"])
def test_a_sensible_idempotency_key_is_passed_on_as_it_is(key):
    assert idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", " ", "has space", "x" * 201, "tab\there", "ключ", "new\nline"])
def test_other_idempotency_keys_are_a_400(key):
    with pytest.raises(ServiceError) as raised:
        idempotency_key(key)
    assert (raised.value.status, raised.value.code) == (400, "IDEMPOTENCY_KEY_INVALID")


def test_without_an_idempotency_key_each_request_gets_a_new_one():
    first, second = idempotency_key(None), idempotency_key(None)
    assert first != second
    assert uuid.UUID(first).version == 4


@pytest.mark.parametrize(
    ("given", "kept"),
    [("req-1", True), ("a" * 64, True), ("a" * 65, False), ("<script>", False), ("", False), ("abc\n", False)],
)
def test_the_clients_correlation_id_is_kept_only_when_it_is_sensible(given, kept):
    with Flask(__name__).test_request_context(environ_base={"HTTP_X_CORRELATION_ID": given}):
        value = correlation_id()
        assert (value == given) is kept
        assert 0 < len(value) <= 64
        assert correlation_id() == value  # one per request
