"""Wire contract (marshmallow) of whistles: what each command takes, the whistle as read, filters and pages."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kit.context import PATH_RE
from kit.wire import Line, Moment, PageQuery, Strict, Text
from whistle.domain.assessment import Satisfaction
from whistle.domain.catalogue import Kind
from whistle.domain.lifecycle import MAX_REOPENS, RATINGS, Role, Source, Stage, State
from whistle.domain.roles import MAY

STATES = tuple(s.value for s in State)
KINDS = tuple(k.value for k in Kind)
SOURCES = tuple(s.value for s in Source)
SATISFACTIONS = tuple(s.value for s in Satisfaction)
CODE = validate.Regexp(r"^[a-z0-9_]{1,64}$")
DEPARTMENT = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,31}$")
# Who may take each action, by role, for the gateway's route-level check (the service checks again, with scope):
# the domain's table without the suite's internal `system` role.
ACTION_ROLES = {action: tuple(sorted(roles - {"system"})) for action, roles in MAY.items()}
CLOCK_STATUSES = ("running", "paused", "overdue", "met", "missed", "stopped")


def _point(value: dict[str, Any]) -> None:
    coords = value.get("coordinates")
    if value.get("type") != "Point" or set(value) != {"type", "coordinates"}:
        raise ValidationError("a whistle's location is a GeoJSON Point")
    if not (isinstance(coords, list) and len(coords) == 2 and all(type(c) in (int, float) for c in coords)):
        raise ValidationError("a Point has [longitude, latitude]")
    if not (-180 <= coords[0] <= 180 and -90 <= coords[1] <= 90):
        raise ValidationError("longitude must be within ±180 and latitude within ±90")


class WhistleCreate(Strict):
    description = Text(
        4000, min_length=1, required=True, metadata={"description": "what is wrong, in the raiser's words"}
    )
    title = Line(200, load_default=None, allow_none=True)
    situation_code = fields.String(
        validate=CODE, load_default=None, allow_none=True, metadata={"description": "a catalogue situation, if known"}
    )
    location = fields.Dict(
        load_default=None, allow_none=True, validate=_point, metadata={"description": "GeoJSON Point (WGS 84)"}
    )
    org_path = fields.String(
        validate=validate.Regexp(PATH_RE),
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the community (or street) it belongs to; a resident's or member's is their own, a "
            "secretary's defaults to their own node"
        },
    )
    source = fields.String(
        validate=validate.OneOf(SOURCES),
        load_default=None,
        allow_none=True,
        metadata={"description": "set by secretaries and the suite (patrol); a resident's or member's is theirs"},
    )


class WhistleBlow(Strict):
    situation_code = fields.String(validate=CODE, load_default=None, allow_none=True)
    lead = fields.String(
        validate=DEPARTMENT, load_default=None, allow_none=True, metadata={"description": "overrides the situation's"}
    )
    assisting = fields.List(
        fields.String(validate=DEPARTMENT), validate=validate.Length(max=10), load_default=None, allow_none=True
    )


class WhistleRedispatch(Strict):
    lead = fields.String(validate=DEPARTMENT, required=True)
    assisting = fields.List(fields.String(validate=DEPARTMENT), validate=validate.Length(max=10), load_default=list)
    reason = Text(1000, load_default="")


class WhistleReportIn(Strict):
    """报到: the department acknowledges and sends someone (no body)."""


class WhistleSendBack(Strict):
    reason = Text(1000, min_length=1, required=True, metadata={"description": "why it is not this department's job"})


MAX_PHOTOS = 3
PHOTO_BYTES = 2 * 1024 * 1024  # one photo, decoded
PHOTO_B64 = 4 * ((PHOTO_BYTES + 2) // 3)  # its base64 length
BLOB_KEY = validate.Regexp(r"^[0-9a-f]{64}$")


class WhistleHandle(Strict):
    result = Text(4000, min_length=1, required=True)
    evidence = fields.List(Line(500), validate=validate.Length(max=20), load_default=list)
    photos = fields.List(
        fields.String(validate=validate.Length(min=1, max=PHOTO_B64)),
        validate=validate.Length(max=MAX_PHOTOS),
        load_default=list,
        metadata={"description": f"up to {MAX_PHOTOS} JPEG, PNG or WebP photos, base64 (no data: prefix), 2 MiB each"},
    )


class PhotoFile(Schema):
    """One photo of a whistle's result, as the RPC answers it (the gateway answers the bytes)."""

    key = fields.String(required=True)
    content_type = fields.String(required=True)
    data = fields.String(required=True, metadata={"description": "base64"})


class WhistleFeedback(Strict):
    satisfaction = fields.String(required=True, validate=validate.OneOf(SATISFACTIONS))
    comment = Text(1000, load_default="")


class WhistleAssess(Strict):
    rating = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=RATINGS.start, max=RATINGS.stop - 1)
    )
    comment = Text(1000, load_default="")


class WhistleExtensionDecision(Strict):
    department = fields.String(
        validate=DEPARTMENT, required=True, metadata={"description": "the department whose request is decided"}
    )
    reason = Text(1000, load_default="", metadata={"description": "why (kept in the history)"})


class WhistlePause(Strict):
    reason = Text(1000, min_length=1, required=True, metadata={"description": "what the whistle waits on"})


class WhistleResume(Strict):
    """Resuming takes no body: each clock's due instant moves by the pause's length."""


class WhistleClose(Strict):
    """Closing takes no body: timeliness and satisfaction come from the whistle."""


class WhistleReopen(Strict):
    reason = Text(1000, min_length=1, required=True, metadata={"description": f"at most {MAX_REOPENS} reopens"})


class WhistleMerge(Strict):
    into = fields.UUID(required=True, metadata={"description": "the live whistle this one repeats"})
    reason = Text(1000, load_default="", metadata={"description": "why (kept in both histories)"})


class WhistleFilter(PageQuery):
    """Query of GET /whistles: filters and page (newest first)."""

    state = fields.String(validate=validate.OneOf(STATES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    street_code = fields.String(validate=validate.Regexp(r"^[a-z0-9]+$"))
    situation_code = fields.String(validate=CODE)
    department = fields.String(validate=DEPARTMENT, metadata={"description": "summoned department's code"})
    overdue = fields.Boolean(metadata={"description": "some department's clock is past due"})
    created_from = Moment(metadata={"description": "created at or after"})
    created_to = Moment(metadata={"description": "created before"})


class WhistleDepartmentRead(Schema):
    code = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(tuple(r.value for r in Role)))
    stage = fields.String(required=True, validate=validate.OneOf(tuple(s.value for s in Stage)))
    summoned_at = fields.String(required=True)
    reported_in_at = fields.String(allow_none=True)
    handled_at = fields.String(allow_none=True)
    returned_at = fields.String(allow_none=True)
    return_reason = fields.String(allow_none=True)
    report_in_due = fields.String(allow_none=True, metadata={"description": "null while paused"})
    resolution_due = fields.String(allow_none=True)


class WhistleDeadlineRead(Schema):
    department = fields.String(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(("report_in", "resolution")))
    due_at = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(CLOCK_STATUSES))


class WhistleRead(Schema):
    id = fields.String(required=True)
    street_code = fields.String(required=True)
    org_path = fields.String(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    kind = fields.String(allow_none=True, validate=validate.OneOf(KINDS))
    situation_code = fields.String(allow_none=True)
    catalogue_version = fields.Integer(allow_none=True, metadata={"description": "the version it was blown under"})
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    title = fields.String(allow_none=True)
    description = fields.String(required=True)
    location = fields.Dict(allow_none=True, metadata={"description": "GeoJSON Point"})
    raiser_account_id = fields.String(allow_none=True)
    raiser_member_id = fields.String(allow_none=True)
    lead = fields.String(allow_none=True)
    departments = fields.List(fields.Nested(WhistleDepartmentRead), required=True)
    deadlines = fields.List(fields.Nested(WhistleDeadlineRead), required=True)
    overdue = fields.Boolean(required=True)
    round = fields.Integer(required=True)
    result = fields.String(allow_none=True)
    evidence = fields.List(fields.String(), required=True)
    photos = fields.List(
        fields.String(), required=True, metadata={"description": "keys of the result's photos: GET .../photos/{key}"}
    )
    satisfaction = fields.String(allow_none=True, validate=validate.OneOf(SATISFACTIONS))
    rating = fields.Integer(allow_none=True)
    reopens = fields.Integer(required=True)
    merged_into = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    blown_at = fields.String(allow_none=True)
    handled_at = fields.String(allow_none=True)
    feedback_at = fields.String(allow_none=True)
    assessed_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    updated_at = fields.String(required=True)


class WhistlePage(Schema):
    items = fields.List(fields.Nested(WhistleRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class WhistleDuplicates(Schema):
    """The caller's live whistles that likely repeat one: its situation within 50 m and 48 h, oldest first."""

    items = fields.List(fields.Nested(WhistleRead), required=True)
