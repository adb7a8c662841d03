"""What the RPC pool promises: a slow service is a 504 and costs the client that waited; a stopped service is a
503 with nothing published to its queue; and pooled clients never carry one caller's scope into another's call."""

from concurrent.futures import ThreadPoolExecutor

from prometheus_client import REGISTRY

from kit.amqp import queue_state
from kit.testing import make_settings, queue_depth, wait_for
from tests.integration.gateway.conftest import is_problem, login
from tests.integration.gateway.fake_organization import service_for


def discarded() -> float:
    return REGISTRY.get_sample_value("guandu_gateway_rpc_clients_discarded_total", {"reason": "RpcTimeout"}) or 0.0


def test_a_call_slower_than_the_timeout_is_504_and_its_client_is_thrown_away(make_client, organization, store):
    client = make_client(rpc_timeout=0.5, rpc_pool_size=1)
    admin = login(client, "admin")
    before = discarded()
    is_problem(client.get(f"/api/v1/orgs/{store.id_of('slow')}", headers=admin), 504, "RPC_TIMEOUT")
    assert discarded() == before + 1
    store.release_slow.set()  # the late reply goes to the thrown-away client's queue, which nobody reads
    liujia = store.id_of("liujia")
    for _ in range(3):  # the one pooled client left is a new one: it answers each call with that call's result
        response = client.get(f"/api/v1/orgs/{liujia}", headers=admin)
        assert (response.status_code, response.json["id"]) == (200, liujia)
    assert discarded() == before + 1


def test_a_stopped_service_is_503_and_nothing_is_published_to_its_queue(make_client, organization, store, amqp_uri):
    client = make_client(account_state_ttl=30)  # the account's state stays cached: the org call is what is refused
    admin = login(client, "admin")
    url = f"/api/v1/orgs/{store.id_of('liujia')}"
    assert client.get(url, headers=admin).status_code == 200
    assert client.get("/readyz").json == {"status": "ready", "services": {"organization": "up", "whistle": "down"}}

    organization.stop()
    wait_for(lambda: client.get("/readyz").status_code == 503, timeout=10, what="the gateway to see the service gone")
    not_ready = {"status": "not ready", "services": {"organization": "down", "whistle": "down"}}
    assert client.get("/readyz").json == not_ready
    calls = len(store.calls)
    for _ in range(3):
        is_problem(client.get(url, headers=admin), 503, "SERVICE_UNAVAILABLE")
        body = {"parent_id": store.id_of("c01"), "code": "a1", "name": "x", "level": "area"}
        is_problem(client.post("/api/v1/orgs", json=body, headers=admin), 503, "SERVICE_UNAVAILABLE")
    assert queue_depth(amqp_uri, "rpc-organization") == 0
    assert len(store.calls) == calls


def test_a_service_that_is_back_is_served_on_the_next_request(
    make_client, container_factory, organization, store, amqp_uri
):
    def consumers() -> int:
        return (queue_state(amqp_uri, ["rpc-organization"])["rpc-organization"] or (0, 0))[1]

    admin = login(make_client(), "admin")
    organization.stop()
    wait_for(lambda: consumers() == 0, timeout=10, what="the service's consumer to be gone")
    # A gateway that finds the service down, with a long check TTL: had it cached "down", it would keep
    # answering 503 long after the service is back.
    client = make_client(service_check_ttl=30)
    url = f"/api/v1/orgs/{store.id_of('liujia')}"
    is_problem(client.get(url, headers=admin), 503, "SERVICE_UNAVAILABLE")

    settings = make_settings("organization", amqp_uri=amqp_uri, database_url="sqlite://")
    container_factory(service_for(store), settings).start()
    wait_for(consumers, timeout=10, what="the restarted service to consume its queue")
    response = client.get(url, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["id"] == store.id_of("liujia")
    assert client.get("/readyz").json == {"status": "ready", "services": {"organization": "up", "whistle": "down"}}


def test_a_service_that_never_started_is_503_too(make_client, amqp_uri):
    client = make_client()
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": "x"})
    is_problem(response, 503, "SERVICE_UNAVAILABLE")
    assert client.get("/readyz").status_code == 503
    assert queue_depth(amqp_uri, "rpc-organization") is None  # not even declared


def test_a_pool_of_one_client_never_mixes_up_two_callers_scopes(make_client, organization, store):
    client = make_client(rpc_pool_size=1, account_state_ttl=0)  # every request also asks for the account's state
    app = client.application
    callers = {
        name: (login(client, name), store.id_of(name), store.id_of(other), store.account_of(name)["account_id"])
        for name, other in (("liujia", "guanshang"), ("guanshang", "liujia"))
    }

    def ask(name: str, i: int) -> None:
        headers, mine, theirs, _ = callers[name]
        http = app.test_client()
        own = http.get(f"/api/v1/orgs/{mine}", headers={**headers, "X-Correlation-ID": f"{name}-{i}-own"})
        assert (own.status_code, own.json["org_path"]) == (200, f"/gd/{name}/")
        other = http.get(f"/api/v1/orgs/{theirs}", headers={**headers, "X-Correlation-ID": f"{name}-{i}-other"})
        is_problem(other, 404, "ORG_NOT_FOUND")

    for i in range(20):
        for name in callers:
            ask(name, i)
    with ThreadPoolExecutor(max_workers=8) as threads:
        for future in [threads.submit(ask, name, i) for i in range(20, 60) for name in callers]:
            future.result()

    seen = store.calls_of("get_org")
    assert len(seen) == 2 * 2 * 60
    for call in seen:  # the service saw each request with the context of the caller who sent it
        name = call.ctx.correlation_id.split("-")[0]
        _, _, _, account_id = callers[name]
        assert (call.ctx.account_id, call.ctx.scope_path, call.ctx.role) == (
            account_id,
            f"/gd/{name}/",
            "street_secretary",
        )
