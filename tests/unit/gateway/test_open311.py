"""The pure mapping of Open311 (gateway/api/open311.py): a whistle as a GeoReport request and a situation as a
service, with nothing of the raiser in it, and a GeoReport POST as a create_whistle payload without contacts."""

from gateway.api.open311 import RequestCreate, RequestRead, to_request, to_service, whistle_payload
from gateway.auth import loggable_query

SITUATIONS = {"sewage_outfall": "污水直排"}
RAISER = {"raiser_account_id": "acc-1", "raiser_member_id": "mem-1"}


def whistle(**changes) -> dict:
    base = {
        "id": "5b0c3a7e-0000-4000-8000-000000000001",
        "street_code": "wujing",
        "org_path": "/gd/wujing/c01/",
        "source": "resident",
        "kind": "problem",
        "situation_code": "sewage_outfall",
        "catalogue_version": 1,
        "state": "blown",
        "title": None,
        "description": "dirty water into the river by the bridge",
        "location": {"type": "Point", "coordinates": [102.75, 25.01]},
        **RAISER,
        "lead": "water",
        "departments": [
            {"code": "water", "role": "lead", "stage": "reported_in", "summoned_at": "2026-03-01T02:00:00Z"},
            {"code": "ecoenv", "role": "assisting", "stage": "summoned", "summoned_at": "2026-03-01T02:00:00Z"},
        ],
        "deadlines": [
            {"department": "water", "stage": "report_in", "due_at": "2026-03-01T04:00:00Z", "status": "met"},
            {"department": "water", "stage": "resolution", "due_at": "2026-03-05T10:00:00Z", "status": "running"},
            {"department": "ecoenv", "stage": "resolution", "due_at": "2026-03-04T10:00:00Z", "status": "running"},
            {"department": "ecoenv", "stage": "report_in", "due_at": "2026-03-01T03:00:00Z", "status": "overdue"},
        ],
        "overdue": False,
        "round": 1,
        "reopens": 0,
        "created_at": "2026-03-01T01:00:00Z",
        "updated_at": "2026-03-01T03:00:00Z",
    }
    return {**base, **changes}


def test_a_whistle_becomes_a_request_with_its_stage_and_earliest_running_deadline():
    request = to_request(whistle(), SITUATIONS)
    assert request == {
        "service_request_id": "5b0c3a7e-0000-4000-8000-000000000001",
        "status": "open",
        "status_notes": "the departments have been summoned; lead department water: reported in",
        "service_name": "污水直排",
        "service_code": "sewage_outfall",
        "description": "dirty water into the river by the bridge",
        "agency_responsible": "water",
        "service_notice": None,
        "requested_datetime": "2026-03-01T01:00:00Z",
        "updated_datetime": "2026-03-01T03:00:00Z",
        "expected_datetime": "2026-03-04T10:00:00Z",  # the earlier resolution clock; report-in clocks don't count
        "address": None,
        "lat": 25.01,
        "long": 102.75,
        "media_url": None,
    }
    assert RequestRead().validate(request) == {}


def test_nothing_of_the_raiser_is_in_a_request():
    request = to_request(whistle(email="a@b.cn", phone="13812345678", first_name="Li"), SITUATIONS)
    assert set(request) == set(RequestRead().fields)
    text = repr(request)
    for secret in ("acc-1", "mem-1", "a@b.cn", "13812345678", "Li'", "/gd/wujing/"):
        assert secret not in text


def test_closed_and_merged_whistles_are_closed_and_nothing_is_expected_of_them():
    stopped = [{"department": "water", "stage": "resolution", "due_at": "2026-03-05T10:00:00Z", "status": "met"}]
    closed = to_request(whistle(state="closed", deadlines=stopped, overdue=True), SITUATIONS)
    assert (closed["status"], closed["status_notes"], closed["expected_datetime"]) == ("closed", "closed", None)
    merged = to_request(whistle(state="merged", merged_into="another-id"), SITUATIONS)
    assert merged["status"] == "closed" and merged["status_notes"] == "merged with a duplicate request"
    assert "another-id" not in repr(merged)  # a whistle the resident may not read is never named


def test_an_overdue_clock_still_says_when_it_was_expected_and_the_notes_say_overdue():
    late = [{"department": "water", "stage": "resolution", "due_at": "2026-03-02T00:00:00Z", "status": "overdue"}]
    request = to_request(whistle(deadlines=late, overdue=True), SITUATIONS)
    assert request["expected_datetime"] == "2026-03-02T00:00:00Z"
    assert request["status_notes"].endswith("; overdue")


def test_a_collected_whistle_without_situation_or_place_maps_to_nulls():
    request = to_request(
        whistle(state="collected", situation_code=None, location=None, lead=None, departments=[], deadlines=[]),
        SITUATIONS,
    )
    assert request["status_notes"].startswith("received")
    assert (request["service_code"], request["service_name"], request["lat"], request["long"]) == (None,) * 4
    assert request["agency_responsible"] is None and request["expected_datetime"] is None


def test_a_situation_of_an_older_catalogue_keeps_its_code_as_its_name():
    assert to_request(whistle(situation_code="retired_one"), SITUATIONS)["service_name"] == "retired_one"


def test_a_situation_becomes_a_service_grouped_by_kind_name():
    situation = {"code": "gas_smell", "kind": "emergency", "name": "燃气异味", "standard": "on site within 30 min"}
    assert to_service(situation, {"emergency": "应急哨"}) == {
        "service_code": "gas_smell",
        "service_name": "燃气异味",
        "description": "on site within 30 min",
        "metadata": False,
        "type": "realtime",
        "keywords": "emergency,gas_smell",
        "group": "应急哨",
    }


def test_a_post_becomes_a_whistle_without_the_contact_fields():
    form = {
        "service_code": "sewage_outfall",
        "lat": "25.01",
        "long": "102.75",
        "description": "dirty water",
        "email": "a@b.cn",
        "first_name": "Li",
        "last_name": "Lei",
        "phone": "13812345678",
        "address_string": "",
        "api_key": "token",
    }
    assert whistle_payload(RequestCreate().load(form)) == {
        "description": "dirty water",
        "situation_code": "sewage_outfall",
        "location": {"type": "Point", "coordinates": [102.75, 25.01]},
    }


def test_a_post_outside_the_globe_or_with_attributes_is_refused():
    errors = RequestCreate().validate(
        {"service_code": "x", "lat": "91", "long": "nan", "description": "d", "attribute[size]": "big"}
    )
    assert set(errors) == {"lat", "long", "attribute[size]"}


def test_a_token_sent_as_api_key_never_reaches_a_log_line():
    assert loggable_query("status=open&api_key=eyJ.secret.sig&x=1") == "status=open&api_key=[redacted]&x=1"
    assert loggable_query("API_KEY=eyJ.secret") == "API_KEY=[redacted]"
    assert loggable_query("my_api_key=kept") == "my_api_key=kept"  # another parameter
    assert loggable_query("") is None and loggable_query(None) is None
