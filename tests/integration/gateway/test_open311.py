"""Open311 GeoReport v2 (gateway/api/open311.py) against the real whistle service in-process (SQLite, catalogue
version 1) beside the fake organization: services, a form-encoded POST as a resident, their own requests read
back without any contact field, someone else's as 404, and the documented refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.config import Settings
from kit.migrate import upgrade
from kit.testing import seeded_database
from tests.integration.gateway.conftest import is_problem, login
from whistle.service import WhistleService

FORM = "application/x-www-form-urlencoded"
CONTACT = {"email": "li.lei@example.cn", "first_name": "Lei", "last_name": "Li", "phone": "13812345678"}
POST = {
    "service_code": "sewage_outfall",
    "lat": "25.0213",
    "long": "102.7461",
    "description": "grey water pours into the river under the bridge",
    "address_string": "No. 7 Riverside Road",
    "device_id": "phone-7",
    **CONTACT,
}


@pytest.fixture
def whistle_db(tmp_path: Path) -> Iterator[str]:
    yield from seeded_database("sqlite", "whistle", lambda url: upgrade("whistle", url), tmp_path)


@pytest.fixture
def whistle(container_factory, amqp_uri, whistle_db):
    env = {
        "AMQP_URI": amqp_uri,
        "WHISTLE_DATABASE_URL": whistle_db,
        "METRICS_PORT": "0",
        "REPLAY_ON_FIRST_START": "false",  # the fake organization keeps no events: no departments needed here
    }
    container = container_factory(WhistleService, Settings.from_env("whistle", env))
    container.start()
    return container


@pytest.fixture
def residents(store) -> tuple[str, str]:
    store.add_account("resident", "resident", "/gd/liujia/c01/")
    store.add_account("neighbour", "resident", "/gd/liujia/c01/")
    return "resident", "neighbour"


@pytest.fixture
def open311(make_client, organization, whistle, residents):
    return make_client()


def token_of(client, username: str) -> str:
    return login(client, username)["Authorization"].removeprefix("Bearer ")


def raise_one(client, token: str, **changes) -> dict:
    response = client.post("/open311/v2/requests.json", data={**POST, "api_key": token, **changes})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json[0]


def test_services_are_the_catalogues_situations(open311):
    services = open311.get("/open311/v2/services.json", query_string={"api_key": token_of(open311, "resident")})
    assert services.status_code == 200, services.get_data(as_text=True)
    by_code = {s["service_code"]: s for s in services.json}
    assert len(by_code) == len(services.json) == 46
    sewage = by_code["sewage_outfall"]
    assert sewage["metadata"] is False and sewage["type"] == "realtime" and sewage["group"]
    assert sewage["keywords"] == "problem,sewage_outfall" and sewage["description"]


def test_a_form_post_raises_a_whistle_that_its_owner_reads_without_any_contact_field(open311):
    token = token_of(open311, "resident")
    created = open311.post("/open311/v2/requests.json", data={**POST, "api_key": token})
    assert created.status_code == 201, created.get_data(as_text=True)
    [answer] = created.json
    assert set(answer) == {"service_request_id", "service_notice"}
    assert created.headers["Location"] == f"/open311/v2/requests/{answer['service_request_id']}.json"

    one = open311.get(created.headers["Location"], query_string={"api_key": token})
    listed = open311.get("/open311/v2/requests.json", query_string={"api_key": token})
    by_ids = open311.get(
        "/open311/v2/requests.json",
        query_string={"service_request_id": answer["service_request_id"]},
        headers={"Authorization": f"Bearer {token}"},  # the header works as well as api_key
    )
    for response in (one, listed, by_ids):
        assert response.status_code == 200, response.get_data(as_text=True)
        [request] = response.json
        assert request["service_request_id"] == answer["service_request_id"]
        assert (request["status"], request["service_code"]) == ("open", "sewage_outfall")
        assert request["status_notes"].startswith("received")
        assert (request["lat"], request["long"]) == (25.0213, 102.7461)
        assert request["description"] == POST["description"]
        text = json.dumps(response.json, ensure_ascii=False)
        for secret in (*CONTACT.values(), POST["address_string"], "phone-7", token):
            assert secret not in text
    for response in (created, one, listed, by_ids):
        assert "li.lei" not in response.get_data(as_text=True)


def test_filters_and_a_json_body_as_documented(open311):
    token = token_of(open311, "resident")
    as_json = open311.post(
        "/open311/v2/requests.json", json={**POST, "lat": 25.03, "long": 102.75}, query_string={"api_key": token}
    )
    assert as_json.status_code == 201, as_json.get_data(as_text=True)  # the same fields as a JSON object
    key_inside = open311.post("/open311/v2/requests.json", json={**POST, "api_key": token, "service_code": "x"})
    is_problem(key_inside, 422, "WHISTLE_UNKNOWN_SITUATION")  # its api_key authenticated it: the service answered
    raise_one(open311, token, service_code="road_damage")

    def listed(**query) -> list[str]:
        answer = open311.get("/open311/v2/requests.json", query_string={"api_key": token, **query})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [r["service_code"] for r in answer.json]

    assert listed() == ["road_damage", "sewage_outfall"]  # newest first
    assert listed(service_code="road_damage") == ["road_damage"]
    assert listed(status="closed") == []
    assert listed(status="open,closed", start_date="2000-01-01T00:00:00Z") == ["road_damage", "sewage_outfall"]
    assert listed(end_date="2000-01-01T00:00:00Z") == []
    is_problem(
        open311.get(
            "/open311/v2/requests.json",
            query_string={"api_key": token, "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        ),
        422,
        "VALIDATION_FAILED",
    )


def test_another_residents_request_is_404_like_a_missing_one(open311):
    mine = raise_one(open311, token_of(open311, "resident"))["service_request_id"]
    neighbour = token_of(open311, "neighbour")
    theirs = open311.get(f"/open311/v2/requests/{mine}.json", query_string={"api_key": neighbour})
    missing = open311.get(
        "/open311/v2/requests/00000000-0000-4000-8000-000000000000.json", query_string={"api_key": neighbour}
    )
    assert is_problem(theirs, 404)["code"] == is_problem(missing, 404)["code"]
    assert theirs.json["detail"] == missing.json["detail"]
    listed = open311.get("/open311/v2/requests.json", query_string={"api_key": neighbour, "service_request_id": mine})
    assert listed.status_code == 200 and listed.json == []
    assert open311.get("/open311/v2/requests.json", query_string={"api_key": neighbour}).json == []


def test_the_refusals_are_documented_problems(open311):
    token = token_of(open311, "resident")
    longest = raise_one(open311, token, description="污" * 4000)  # 36 kB form-encoded: under the route's limit
    assert longest["service_request_id"]
    for bad in ({"lat": "91"}, {"long": "east"}, {"lat": "nan"}, {"attribute[size]": "big"}, {"service_code": ""}):
        body = is_problem(
            open311.post("/open311/v2/requests.json", data={**POST, "api_key": token, **bad}), 422, "VALIDATION_FAILED"
        )
        assert set(body["errors"]) == {next(iter(bad))}
    is_problem(
        open311.post("/open311/v2/requests.json", data={**POST, "api_key": token, "service_code": "no_such_thing"}),
        422,
    )
    is_problem(open311.post("/open311/v2/requests.json", json=[1], query_string={"api_key": token}), 422)
    too_large = {**POST, "api_key": token, "description": "x" * 70_000}
    is_problem(open311.post("/open311/v2/requests.json", data=too_large), 413, "BODY_TOO_LARGE")
    is_problem(
        open311.post(
            "/open311/v2/requests.json", data="lat=1", content_type="text/plain", query_string={"api_key": token}
        ),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    is_problem(open311.get("/open311/v2/services.xml", query_string={"api_key": token}), 404)  # JSON only


def test_without_a_valid_resident_token_nothing_is_answered(open311):
    raise_one(open311, token_of(open311, "resident"))
    is_problem(open311.get("/open311/v2/requests.json"), 401, "TOKEN_MISSING")
    is_problem(open311.get("/open311/v2/services.json"), 401, "TOKEN_MISSING")
    is_problem(open311.get("/open311/v2/requests.json", query_string={"api_key": "not-a-token"}), 401, "TOKEN_INVALID")
    is_problem(open311.post("/open311/v2/requests.json", data=POST), 401, "TOKEN_MISSING")
    header_wins = open311.get(
        "/open311/v2/requests.json",
        query_string={"api_key": "not-a-token"},
        headers={"Authorization": f"Bearer {token_of(open311, 'resident')}"},
    )
    assert header_wins.status_code == 200 and len(header_wins.json) == 1
    secretary = token_of(open311, "liujia")
    is_problem(open311.get("/open311/v2/requests.json", query_string={"api_key": secretary}), 403, "ROLE_FORBIDDEN")
    assert open311.get("/open311/v2/services.json", query_string={"api_key": secretary}).status_code == 200
