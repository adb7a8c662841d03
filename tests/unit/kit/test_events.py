from datetime import UTC, datetime

import pytest

from kit.events import Event, InvalidEnvelope, envelope, routes, validate_envelope


def org_moved() -> Event:
    return Event(
        type="org.moved",
        subject="7a4f0d1e-0000-4000-8000-000000000001",
        data={"id": "x"},
        street_codes=("guanshang", "liujia"),
        org_path="/gd/liujia/c07/",
        time=datetime(2026, 11, 28, 4, 0, tzinfo=UTC),
        department_codes=("water",),
    )


def test_the_envelope_is_cloudevents_structured_json():
    env = envelope(org_moved(), source_service="organization", correlation_id="c1")
    assert validate_envelope(env) == env
    assert env["specversion"] == "1.0"
    assert env["source"] == "/guandu/organization"
    assert env["time"] == "2026-11-28T04:00:00Z"
    assert env["dataschema"] == "urn:guandu:events:org.moved:v1"


def test_a_fact_for_two_streets_is_routed_once_per_street_with_one_id():
    event = org_moved()
    env = envelope(event, source_service="organization", correlation_id="c1")
    copies = routes(event, env, "organization")
    assert [(x, k) for x, k, _ in copies] == [
        ("organization.events", "org.moved.guanshang"),
        ("organization.events", "org.moved.liujia"),
        ("departments", "water.org.moved"),
    ]
    assert {body["id"] for _, _, body in copies} == {env["id"]}


def test_an_event_needs_a_street():
    with pytest.raises(ValueError, match="street code"):
        Event("org.created", "s", {}, (), "/gd/", datetime.now(UTC))


@pytest.mark.parametrize(
    "change",
    [{"specversion": "0.3"}, {"id": "not-a-uuid"}, {"time": "2026-11-28T04:00:00"}, {"extra": 1}, {"data": []}],
)
def test_malformed_envelopes_are_named(change):
    env = envelope(org_moved(), source_service="organization", correlation_id="c1")
    with pytest.raises(InvalidEnvelope):
        validate_envelope({**env, **change})


def test_non_json_is_refused():
    with pytest.raises(InvalidEnvelope, match="not JSON"):
        validate_envelope(b"{nope")
