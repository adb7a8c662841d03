"""The wire contract of dual registration, service reports, alliances and star ratings (marshmallow): what
the gateway validates and documents and what the service loads and dumps. Unknown fields are an error."""

from __future__ import annotations

import math
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kit.wire import Day, Line, PageQuery, Strict, Text
from organization.domain.engagement import HOST_LEVELS, OrganisationKind, Rating, RegistrantKind

ORGANISATION_KINDS = tuple(k.value for k in OrganisationKind)
REGISTRANT_KINDS = tuple(k.value for k in RegistrantKind)
RATINGS = tuple(r.value for r in Rating)
HOST_LEVEL_NAMES = tuple(sorted(str(level) for level in HOST_LEVELS))
# Years 1900-2099: a month the suite can reckon with (year 0000 is no date; 9999-12 has no following month).
PERIOD_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
# 统一社会信用代码: 18 characters from digits and capital letters without I, O, S, V, Z.
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
STREET_PATTERN = r"^[a-z0-9]+$"


def _period(description: str = "a month, e.g. 2026-11", **kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(PERIOD_PATTERN, error="a month like 2026-11"),
        metadata={"description": description},
        **kwargs,
    )


class OrganisationSchema(Strict):
    name = Line(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    credit_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(CREDIT_CODE_PATTERN, error="an 18-character unified social credit code"),
        metadata={"description": "统一社会信用代码; two records with the same code are the same organisation"},
    )


# -- dual registration ----------------------------------------------------------------------------------
class DualRegistrationCreate(Strict):
    community_id = fields.UUID(
        required=True, metadata={"description": "the community (an org node of level community)"}
    )
    registrant_kind = fields.String(required=True, validate=validate.OneOf(REGISTRANT_KINDS))
    organisation = fields.Nested(
        OrganisationSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "the registering organisation; for a member, optionally their work unit"},
    )
    member_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))
    member_name = Line(
        100,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the name is the member record's; one given here must match it. Required for a member "
            "whose record lies outside your scope (you must already know them)"
        },
    )
    registered_on = Day(required=True)
    ended_on = Day(load_default=None, allow_none=True)


class DualRegistrationEnd(Strict):
    ended_on = Day(required=True)


class DualRegistrationRead(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    registrant_kind = fields.String(required=True)
    organisation = fields.Nested(OrganisationSchema, allow_none=True)
    member_id = fields.String(allow_none=True)
    member_name = fields.String(allow_none=True)
    registered_on = fields.String(required=True)
    ended_on = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    recorded_at = fields.String(required=True)
    recorded_by = fields.String(allow_none=True)


class DualRegistrationPage(Schema):
    items = fields.List(fields.Nested(DualRegistrationRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class DualRegistrationFilter(PageQuery):
    """Query of GET /dual-registrations; `unreported=true` with a `period`: who has not reported that month."""

    community_id = fields.UUID()
    street_code = fields.String(validate=validate.Regexp(STREET_PATTERN))
    registrant_kind = fields.String(validate=validate.OneOf(REGISTRANT_KINDS))
    organisation_name = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "exact"})
    organisation_kind = fields.String(validate=validate.OneOf(ORGANISATION_KINDS))
    credit_code = fields.String(validate=validate.Regexp(CREDIT_CODE_PATTERN))
    member_id = fields.String(validate=validate.Length(min=1, max=36))
    active = fields.Boolean(metadata={"description": "true: not ended; false: ended"})
    period = _period("registrations in force during this month, e.g. 2026-11")
    unreported = fields.Boolean(metadata={"description": "with period: only those without a report for it"})

    @validates_schema
    def _unreported_needs_period(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("unreported") and not data.get("period"):
            raise ValidationError("unreported needs a period", "period")


# -- service reports ------------------------------------------------------------------------------------
def _tenths(value: float) -> None:
    if not math.isfinite(value) or abs(value * 10 - round(value * 10)) > 1e-6:
        raise ValidationError("hours to at most one decimal, e.g. 2.5")


class ServiceReportCreate(Strict):
    registration_id = fields.UUID(required=True)
    period = _period(required=True)
    services = fields.String(
        required=True, validate=validate.Length(min=1, max=2000), metadata={"description": "the services done"}
    )
    hours = fields.Float(
        required=True,
        validate=[validate.Range(min=0, max=744, min_inclusive=False), _tenths],
        metadata={"description": "hours of service in the period, to one decimal"},
    )
    people_served = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0))


class ServiceReportRead(Schema):
    id = fields.String(required=True)
    registration_id = fields.String(required=True)
    community_id = fields.String(required=True)
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    period = fields.String(required=True)
    services = fields.String(required=True)
    hours = fields.Float(required=True)
    people_served = fields.Integer(allow_none=True)
    recorded_at = fields.String(required=True)
    recorded_by = fields.String(allow_none=True)
    confirmed = fields.Boolean(required=True)
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = fields.String(allow_none=True)


class ServiceReportPage(Schema):
    items = fields.List(fields.Nested(ServiceReportRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ServiceReportFilter(PageQuery):
    registration_id = fields.UUID()
    community_id = fields.UUID()
    street_code = fields.String(validate=validate.Regexp(STREET_PATTERN))
    period = _period()
    confirmed = fields.Boolean()


# -- alliances and big party committees -------------------------------------------------------------------
class AllianceJoin(Strict):
    host_id = fields.UUID(
        required=True,
        metadata={"description": "a street's party-building alliance or a community's big party committee"},
    )
    organisation = fields.Nested(OrganisationSchema, required=True)
    joined_on = Day(required=True)
    commitments = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "the commitments signed (共建承诺), one text each"},
    )


class AllianceLeave(Strict):
    left_on = Day(required=True)
    reason = Text(500, min_length=1, load_default=None, allow_none=True)


class AllianceRead(Schema):
    id = fields.String(required=True)
    host_id = fields.String(required=True)
    host_level = fields.String(required=True, validate=validate.OneOf(HOST_LEVEL_NAMES))
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    organisation = fields.Nested(OrganisationSchema, required=True)
    joined_on = fields.String(required=True)
    left_on = fields.String(allow_none=True)
    left_reason = fields.String(allow_none=True)
    commitments = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    recorded_at = fields.String(required=True)
    recorded_by = fields.String(allow_none=True)


class AlliancePage(Schema):
    items = fields.List(fields.Nested(AllianceRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class AllianceFilter(PageQuery):
    host_id = fields.UUID()
    host_level = fields.String(validate=validate.OneOf(HOST_LEVEL_NAMES))
    street_code = fields.String(validate=validate.Regexp(STREET_PATTERN))
    organisation_name = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "exact"})
    organisation_kind = fields.String(validate=validate.OneOf(ORGANISATION_KINDS))
    credit_code = fields.String(validate=validate.Regexp(CREDIT_CODE_PATTERN))
    active = fields.Boolean(metadata={"description": "true: still a member; false: left"})


# -- star ratings ---------------------------------------------------------------------------------------
class EvidenceSchema(Strict):
    text = Text(2000, min_length=1, required=True)
    document_refs = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "references of supporting documents (file numbers, archive ids)"},
    )


class StarRatingChange(Strict):
    branch_id = fields.UUID(required=True)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    effective_on = Day(required=True)
    evidence = fields.Nested(EvidenceSchema, required=True)
    reason = Text(1000, min_length=1, required=True)


class RatingChangeRead(Schema):
    id = fields.String(required=True)
    branch_id = fields.String(required=True)
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    from_rating = fields.String(required=True)
    to_rating = fields.String(required=True)
    effective_on = fields.String(required=True)
    evidence = fields.Nested(EvidenceSchema, required=True)
    reason = fields.String(required=True)
    decided_by = fields.String(allow_none=True)
    decided_by_role = fields.String(required=True)
    recorded_at = fields.String(required=True)


class RatingChangePage(Schema):
    items = fields.List(fields.Nested(RatingChangeRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class BranchRatingRead(Schema):
    branch_id = fields.String(required=True)
    branch_name = fields.String(required=True)
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    effective_on = fields.String(allow_none=True)


class BranchRatingPage(Schema):
    items = fields.List(fields.Nested(BranchRatingRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class StarRatingFilter(PageQuery):
    street_code = fields.String(validate=validate.Regexp(STREET_PATTERN))
    rating = fields.String(validate=validate.OneOf(RATINGS))
    branch_id = fields.UUID()


class StreetRatingCounts(Schema):
    street_code = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    total = fields.Integer(required=True)


class RatingCounts(Schema):
    items = fields.List(fields.Nested(StreetRatingCounts), required=True)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
