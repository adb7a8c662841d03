"""One registry of what body each route takes (gateway.bodies): JSON up to MAX_CONTENT_LENGTH unless a route
registers other media types or its own size; the gateway answers 415 / 413 problem+json before the view."""

from flask import Blueprint, jsonify, request

from gateway import bodies
from tests.integration.gateway.conftest import login
from tests.integration.gateway.test_orgs import is_problem

probe = Blueprint("body_probe", __name__, url_prefix="/api/v1")
SEEN: list[int] = []


@probe.route("/body-probe", methods=["POST"])
@bodies.accepts(probe, "application/x-www-form-urlencoded", max_bytes=4096)
def take_a_form():
    SEEN.append(request.content_length or 0)
    return jsonify(form=dict(request.form), json=request.get_json(silent=True))


def _client(make_client):
    client = make_client(max_content_length=1024)
    client.application.register_blueprint(probe)
    return client


def test_a_route_takes_what_it_registered_up_to_its_own_size(make_client):
    client = _client(make_client)
    SEEN.clear()
    form = client.post("/api/v1/body-probe", data={"note": "x" * 2000})
    assert form.status_code == 200 and form.json["form"] == {"note": "x" * 2000}
    as_json = client.post("/api/v1/body-probe", json={"note": "y" * 2000})  # JSON is always taken
    assert as_json.status_code == 200 and as_json.json["json"] == {"note": "y" * 2000}
    is_problem(client.post("/api/v1/body-probe", data={"note": "z" * 5000}), 413, "BODY_TOO_LARGE")
    is_problem(client.post("/api/v1/body-probe", data="a note", content_type="text/plain"), 415)
    assert len(SEEN) == 2  # the refused bodies never reached the view
    assert bodies.rule_for("body_probe.take_a_form").max_bytes == 4096


def test_every_other_route_keeps_json_and_the_gateways_size(make_client, organization, store):
    client = _client(make_client)
    admin = login(client, "admin")
    is_problem(client.post("/api/v1/orgs", data={"name": "x"}, headers=admin), 415, "UNSUPPORTED_MEDIA_TYPE")
    is_problem(client.post("/api/v1/orgs", json={"name": "x" * 2000}, headers=admin), 413, "BODY_TOO_LARGE")
    assert not store.calls_of("create_org")


def test_the_roster_upload_the_whistle_result_and_the_open311_post_are_the_routes_with_rules_of_their_own():
    assert {e: r.media_types for e, r in bodies.registered().items() if e != "body_probe.take_a_form"} == {
        "members.import_members": frozenset({"application/json", "multipart/form-data"}),
        "whistles.handle": frozenset({"application/json"}),
        "open311.create_request": frozenset({"application/json", "application/x-www-form-urlencoded"}),
    }
