"""kit.rpc_client.RpcClient against a real nameko service on a real broker: results, a service's coded
errors as themselves, and a call the client gave up on dropped by the broker rather than run late."""

import pytest
from nameko.exceptions import RpcTimeout
from nameko.rpc import rpc

from kit.errors import ServiceError
from kit.rpc_client import RpcClient
from kit.testing import make_settings

RECORDED: list[str] = []


class LeanService:
    name = "lean"

    @rpc
    def echo(self, ctx, value, *, twice=False):
        return {"ctx": ctx, "value": value * 2 if twice else value}

    @rpc
    def refuse(self, ctx):
        raise ServiceError("conflict", "LEAN_CONFLICT", "not now")

    @rpc
    def record(self, tag):
        RECORDED.append(tag)
        return list(RECORDED)


@pytest.fixture
def start_lean(container_factory, amqp_uri):
    def start():
        container = container_factory(LeanService, make_settings("lean", amqp_uri=amqp_uri, database_url="sqlite://"))
        container.start()
        return container

    return start


@pytest.fixture
def client(amqp_uri):
    client = RpcClient(amqp_uri, timeout=10)
    yield client
    client.close()


def test_a_call_returns_the_result_with_args_and_kwargs(start_lean, client):
    start_lean()
    assert client.call("lean", "echo", {"role": "member"}, "水", twice=True) == {
        "ctx": {"role": "member"},
        "value": "水水",
    }
    assert client.call("lean", "echo", {}, 1) == {"ctx": {}, "value": 1}  # one client, many calls


def test_a_services_coded_error_arrives_as_itself(start_lean, client):
    start_lean()
    with pytest.raises(ServiceError) as raised:
        client.call("lean", "refuse", {})
    assert (raised.value.kind, raised.value.code) == ("conflict", "LEAN_CONFLICT")
    assert client.call("lean", "echo", {}, "after") == {"ctx": {}, "value": "after"}


def test_a_call_given_up_on_is_not_run_when_the_service_comes_back(start_lean, amqp_uri):
    RECORDED.clear()
    start_lean().stop()  # its durable queue stays, with nobody consuming it
    impatient = RpcClient(amqp_uri, timeout=0.3)
    with pytest.raises(RpcTimeout):
        impatient.call("lean", "record", "late")
    impatient.close()
    start_lean()
    patient = RpcClient(amqp_uri, timeout=10)
    try:
        # The queue is first-in first-out: had the broker kept the late call, it would have run first.
        assert patient.call("lean", "record", "now") == ["now"]
    finally:
        patient.close()
