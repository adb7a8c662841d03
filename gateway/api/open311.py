"""Open311 GeoReport v2 over the whistle service, for residents' 311 apps: the catalogue's situations as
services, a resident's own whistles as service requests, and raising one with a form-encoded POST.

Where it departs from GeoReport v2, on purpose (the suite's rules win):
- every route needs the caller's access token, as `api_key` (query, or the POST's body) or as
  `Authorization: Bearer`; requests are scoped, and an answer never reveals what its caller may not read, so
  without a token there is nothing to list (401), and a request of someone else is 404 like a missing one;
- errors are the suite's RFC 9457 problems (`application/problem+json`, a stable `code`, field errors under
  `errors`), not GeoReport's `[{code, description}]`;
- JSON only: the `.json` paths exist, `.xml` ones do not (404);
- the reporter's e-mail, phone, names, device and account id are taken and dropped: the whistle service has no
  place for them, and nothing of them is stored, logged or answered; `address_string`, `address_id` and
  `media_url` are dropped too (a whistle is placed by its point; photos are not in this slice);
- a POST needs `lat` and `long` and a `description`, and answers 201 with a Location;
- requests.json has no default 90-day window: it answers the caller's own requests, newest first, at most
  1000, filtered by one `service_code`, `start_date`/`end_date` (any span) and `status`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from flask import g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from gateway import rpc
from gateway.auth import EVERY_ROLE, allow, token_also_in
from gateway.bodies import accepts
from gateway.headers import idempotency_key
from gateway.modules import belongs_to
from kit.errors import ServiceError
from kit.wire import Moment, Strict, Text
from whistle.schemas.whistles import CODE

MODULE = "whistle"
RAISERS = ("resident", "member")  # an api_key is a resident's (or member's) own access token
FORM = "application/x-www-form-urlencoded"
# The longest description, 4,000 CJK characters, is 36,000 bytes form-encoded (3 UTF-8 bytes, each as %XX),
# and the other fields a few more: 64 KiB takes any valid form.
MAX_FORM_BYTES = 64 * 1024
MAX_REQUESTS = 1000  # GeoReport's usual cap on one answer
PAGE = 100  # list_whistles' largest page
MAX_IDS = 50
CLOSED_STATES = frozenset({"closed", "merged"})
# Each state in words, for `status_notes` (GeoReport has only open and closed).
STATE_NOTES = {
    "collected": "received: waiting for the community secretary to summon the departments",
    "blown": "the departments have been summoned",
    "returned": "sent back by the lead department: being dispatched again",
    "paused": "paused: waiting on the reporter",
    "handled": "handled by the lead department: waiting for the reporter's feedback",
    "feedback": "feedback received: waiting for the secretary's assessment",
    "assessed": "assessed: about to close",
    "closed": "closed",
    "reopened": "reopened: to be dispatched again",
    "merged": "merged with a duplicate request",
}
STAGE_NOTES = {
    "summoned": "summoned",
    "reported_in": "reported in",
    "handled": "handled",
    "returned": "sent it back",
}
# A resolution clock still counting (overdue ones too: the time they were expected by has passed, and says so).
EXPECTED_CLOCKS = frozenset({"running", "overdue"})

blp = token_also_in(
    belongs_to(
        Blueprint(
            "open311",
            __name__,
            url_prefix="/open311/v2",
            description=" ".join((__doc__ or "").split("\n\n")),
        ),
        MODULE,
    )
)


# -- the wire (GeoReport v2's names) ----------------------------------------------------------------------------
class ServiceRead(Schema):
    service_code = fields.String(required=True, metadata={"description": "the catalogue situation's code"})
    service_name = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "the situation's standard"})
    metadata = fields.Boolean(required=True, metadata={"description": "always false: no extra attributes"})
    type = fields.String(required=True, validate=validate.OneOf(("realtime",)))
    keywords = fields.String(required=True, metadata={"description": "comma-separated: kind and situation codes"})
    group = fields.String(required=True, metadata={"description": "the kind of whistle, by name"})


class RequestRead(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("open", "closed")))
    status_notes = fields.String(required=True, metadata={"description": "the whistle's state and stage in words"})
    service_name = fields.String(allow_none=True, required=True)
    service_code = fields.String(allow_none=True, required=True, metadata={"description": "null: not yet known"})
    description = fields.String(required=True)
    agency_responsible = fields.String(allow_none=True, required=True, metadata={"description": "lead department"})
    service_notice = fields.String(allow_none=True, required=True)
    requested_datetime = fields.String(required=True)
    updated_datetime = fields.String(required=True)
    expected_datetime = fields.String(
        allow_none=True, required=True, metadata={"description": "the earliest resolution deadline still counting"}
    )
    address = fields.String(allow_none=True, required=True, metadata={"description": "always null"})
    lat = fields.Float(allow_none=True, required=True)
    long = fields.Float(allow_none=True, required=True)
    media_url = fields.String(allow_none=True, required=True, metadata={"description": "always null"})


class RequestCreated(Schema):
    service_request_id = fields.String(required=True)
    service_notice = fields.String(allow_none=True, required=True)


def _csv(pattern: str, most: int) -> validate.Validator:
    return validate.Regexp(rf"^{pattern}(,{pattern}){{0,{most - 1}}}$", error=f"at most {most}, comma-separated")


UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _dropped(most: int, why: str = "") -> fields.String:
    return fields.String(
        validate=validate.Length(max=most), metadata={"description": "dropped" + (f": {why}" if why else "")}
    )


class ApiKeyed(Strict):
    api_key = fields.String(
        validate=validate.Length(max=4096),
        metadata={"description": "the caller's access token (or send Authorization: Bearer <token>)"},
    )
    jurisdiction_id = fields.String(
        validate=validate.Length(max=100), metadata={"description": "ignored: the gateway serves one jurisdiction"}
    )


class RequestFilter(ApiKeyed):
    service_request_id = fields.String(
        validate=_csv(UUID_PATTERN, MAX_IDS),
        metadata={"description": f"up to {MAX_IDS} ids, comma-separated; overrides every other filter"},
    )
    service_code = fields.String(validate=CODE, metadata={"description": "one situation code"})
    start_date = Moment(metadata={"description": "requested at or after"})
    end_date = Moment(metadata={"description": "requested before"})
    status = fields.String(
        validate=_csv("(open|closed)", 2), metadata={"description": "open, closed or both (comma-separated)"}
    )

    @validates_schema
    def _forwards(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start_date"), data.get("end_date")
        if start is not None and end is not None and end < start:
            raise ValidationError("before start_date", "end_date")


class RequestCreate(ApiKeyed):
    """POST requests.json, form-encoded (or the same names as a JSON object)."""

    service_code = fields.String(required=True, validate=CODE)
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    long = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    description = Text(4000, required=True, min_length=1)
    # Taken so that GeoReport clients are not refused (they send empty ones too), and dropped: see the notes.
    address_string = _dropped(500)
    address_id = _dropped(100)
    email = _dropped(254, "never stored nor answered")
    device_id = _dropped(200)
    account_id = _dropped(200, "the account is the token's")
    first_name = _dropped(100, "never stored nor answered")
    last_name = _dropped(100, "never stored nor answered")
    phone = _dropped(50, "never stored nor answered")
    media_url = _dropped(2000, "photos are not in this slice")


# -- the mapping (pure) ---------------------------------------------------------------------------------------
def to_service(situation: Mapping[str, Any], kind_names: Mapping[str, str]) -> dict[str, Any]:
    kind = situation["kind"]
    return {
        "service_code": situation["code"],
        "service_name": situation["name"],
        "description": situation["standard"],
        "metadata": False,
        "type": "realtime",
        "keywords": f"{kind},{situation['code']}",
        "group": kind_names.get(kind, kind),
    }


def open_or_closed(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def status_notes(whistle: Mapping[str, Any]) -> str:
    notes = STATE_NOTES.get(whistle["state"], str(whistle["state"]))
    lead = next((d for d in whistle.get("departments", ()) if d["code"] == whistle.get("lead")), None)
    if lead is not None and whistle["state"] not in CLOSED_STATES:
        notes += f"; lead department {lead['code']}: {STAGE_NOTES.get(lead['stage'], lead['stage'])}"
    if whistle.get("overdue") and whistle["state"] not in CLOSED_STATES:
        notes += "; overdue"
    return notes


def expected_datetime(whistle: Mapping[str, Any]) -> str | None:
    """The earliest resolution deadline still counting (all are instants in UTC, so they sort as text)."""
    dues = [
        d["due_at"]
        for d in whistle.get("deadlines", ())
        if d["stage"] == "resolution" and d["status"] in EXPECTED_CLOCKS and d.get("due_at")
    ]
    return min(dues) if dues else None


def to_request(whistle: Mapping[str, Any], situation_names: Mapping[str, str]) -> dict[str, Any]:
    """A whistle as a GeoReport service request: named fields only, so nothing of the raiser (account, member,
    contact) can slip through when the whistle's read schema grows."""
    code = whistle.get("situation_code")
    location = whistle.get("location") or {}
    lon, lat = location.get("coordinates") or (None, None)
    return {
        "service_request_id": whistle["id"],
        "status": open_or_closed(whistle["state"]),
        "status_notes": status_notes(whistle),
        "service_name": situation_names.get(code, code) if code else None,
        "service_code": code,
        "description": whistle["description"],
        "agency_responsible": whistle.get("lead"),
        "service_notice": None,
        "requested_datetime": whistle["created_at"],
        "updated_datetime": whistle["updated_at"],
        "expected_datetime": expected_datetime(whistle),
        "address": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }


def whistle_payload(data: Mapping[str, Any]) -> dict[str, Any]:
    """What create_whistle gets of a GeoReport POST: never the contact fields."""
    return {
        "description": data["description"],
        "situation_code": data["service_code"],
        "location": {"type": "Point", "coordinates": [data["long"], data["lat"]]},
    }


# -- the routes -------------------------------------------------------------------------------------------------
def _body(schema: Schema) -> dict[str, Any]:
    """The POST's fields, form-encoded or as a JSON object, through one schema (422 with field errors)."""
    if request.mimetype == FORM:
        values: Any = {key: request.form[key] for key in request.form}
    else:
        values = request.get_json(silent=True)
    if not isinstance(values, dict):
        raise ServiceError("invalid", "VALIDATION_FAILED", "send the fields form-encoded or as a JSON object")
    try:
        data: dict[str, Any] = schema.load(values)
    except ValidationError as exc:
        raise ServiceError(
            "invalid", "VALIDATION_FAILED", "the input does not match the contract", exc.normalized_messages()
        ) from None
    return data


def _whistle(method: str, *args: Any) -> Any:
    return rpc.current().call("whistle", method, g.caller, *args)


def _situation_names() -> dict[str, str]:
    return {s["code"]: s["name"] for s in _whistle("list_situations")["items"]}


def _readable(ids: Iterable[str]) -> list[dict[str, Any]]:
    found = []
    for whistle_id in dict.fromkeys(i.lower() for i in ids):
        try:
            found.append(_whistle("get_whistle", whistle_id))
        except ServiceError as exc:
            if exc.kind != "not_found":
                raise
    return found


def _listed(query: Mapping[str, Any]) -> list[dict[str, Any]]:
    statuses = set(query.get("status", "open,closed").split(","))
    rpc_query: dict[str, Any] = {"limit": PAGE}
    if "service_code" in query:
        rpc_query["situation_code"] = query["service_code"]
    if "start_date" in query:
        rpc_query["created_from"] = query["start_date"].isoformat()
    if "end_date" in query:
        rpc_query["created_to"] = query["end_date"].isoformat()
    found: list[dict[str, Any]] = []
    for _ in range(MAX_REQUESTS // PAGE):
        page = _whistle("list_whistles", rpc_query)
        found += [w for w in page["items"] if open_or_closed(w["state"]) in statuses]
        if page["next_cursor"] is None or len(found) >= MAX_REQUESTS:
            break
        rpc_query["cursor"] = page["next_cursor"]
    return found[:MAX_REQUESTS]


@blp.route("/services.json", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.arguments(ApiKeyed, location="query", unknown=RAISE)
@blp.response(200, ServiceRead(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_services(query: dict[str, Any]) -> Any:
    """The situations of the catalogue version in effect today, as GeoReport services"""
    kinds = {k["code"]: k["name"] for k in _whistle("list_kinds")["items"]}
    return [to_service(s, kinds) for s in _whistle("list_situations")["items"]]


@blp.route("/requests.json", methods=["GET"])
@allow(blp, *RAISERS)
@blp.arguments(RequestFilter, location="query", unknown=RAISE)
@blp.response(200, RequestRead(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
def list_requests(query: dict[str, Any]) -> Any:
    """The caller's own requests, newest first (at most 1000): by ids, or by situation, time and status"""
    ids = query.get("service_request_id")
    whistles = _readable(ids.split(",")) if ids else _listed(query)
    names = _situation_names()
    return [to_request(w, names) for w in whistles]


@blp.route("/requests.json", methods=["POST"])
@allow(blp, *RAISERS)
@blp.doc(
    requestBody={
        "required": True,
        "content": {FORM: {"schema": RequestCreate}, "application/json": {"schema": RequestCreate}},
    }
)
@blp.response(
    201,
    RequestCreated(many=True),
    headers={"Location": {"description": "the new request", "schema": {"type": "string"}}},
)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@accepts(blp, FORM, max_bytes=MAX_FORM_BYTES)
def create_request() -> Any:
    """Raise a whistle in the caller's community; the contact fields are dropped, never stored nor answered"""
    data = _body(RequestCreate())
    whistle = _whistle("create_whistle", whistle_payload(data), idempotency_key(request.headers.get("Idempotency-Key")))
    location = url_for("open311.get_request", service_request_id=uuid.UUID(whistle["id"]))
    return [{"service_request_id": whistle["id"], "service_notice": None}], {"Location": location}


@blp.route("/requests/<uuid:service_request_id>.json", methods=["GET"])
@allow(blp, *RAISERS)
@blp.arguments(ApiKeyed, location="query", unknown=RAISE)
@blp.response(200, RequestRead(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def get_request(query: dict[str, Any], service_request_id: uuid.UUID) -> Any:
    """One of the caller's requests, as a one-element list (someone else's is 404, as a missing one)"""
    whistle = _whistle("get_whistle", str(service_request_id))
    return [to_request(whistle, _situation_names())]
