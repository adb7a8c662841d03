"""Dual registration, service reports, alliances and star ratings over HTTP: each route is one RPC of the
organization service (docs/engagement.md). Object-level scope is the service's job (a record outside the
caller's community or street is 404); a role that may never take an action gets 403 here, before any RPC.
Unknown query parameters are refused like unknown body fields."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from gateway import rpc
from gateway.auth import allow
from gateway.headers import idempotency_key
from gateway.modules import belongs_to
from kit.wire import PageQuery
from organization.schemas.engagement import (
    AllianceFilter,
    AllianceJoin,
    AllianceLeave,
    AlliancePage,
    AllianceRead,
    BranchRatingPage,
    BranchRatingRead,
    DualRegistrationCreate,
    DualRegistrationEnd,
    DualRegistrationFilter,
    DualRegistrationPage,
    DualRegistrationRead,
    RatingChangePage,
    RatingChangeRead,
    RatingCounts,
    ServiceReportCreate,
    ServiceReportFilter,
    ServiceReportPage,
    ServiceReportRead,
    StarRatingChange,
    StarRatingFilter,
)

# The street modules these routes belong to: module gating (a street that does not run a module answers
# 404 for its routes) attaches to these names.
DUAL_REGISTRATION_MODULE = "dual_registration"
ALLIANCES_MODULE = "alliances"
STAR_RATINGS_MODULE = "star_ratings"

READERS = ("district_admin", "street_secretary", "community_secretary", "branch_secretary")
RECORDERS = ("district_admin", "street_secretary", "community_secretary")
RATERS = ("district_admin", "street_secretary")

dual_registrations = Blueprint(
    "dual_registrations",
    __name__,
    url_prefix="/api/v1/dual-registrations",
    description="Dual registration (双报到双报告): organisations and members registered with communities",
)
service_reports = Blueprint(
    "service_reports",
    __name__,
    url_prefix="/api/v1/service-reports",
    description="Periodic service reports of dual registrations and their confirmation by the community",
)
alliances = Blueprint(
    "alliances",
    __name__,
    url_prefix="/api/v1/alliances",
    description="Memberships of street party-building alliances (党建联盟) and community big party committees (大党委)",
)
star_ratings = Blueprint(
    "star_ratings",
    __name__,
    url_prefix="/api/v1/star-ratings",
    description="Branch standardisation and star ratings, with their history",
)
BLUEPRINTS = (dual_registrations, service_reports, alliances, star_ratings)
belongs_to(dual_registrations, DUAL_REGISTRATION_MODULE)
belongs_to(service_reports, DUAL_REGISTRATION_MODULE)
belongs_to(alliances, ALLIANCES_MODULE)
belongs_to(star_ratings, STAR_RATINGS_MODULE)


def _organization(method: str, *args: Any) -> Any:
    return rpc.current().call("organization", method, g.caller, *args)


def _command(method: str, *args: Any) -> Any:
    """A state-changing call: it carries the client's Idempotency-Key, or one made for this request."""
    return _organization(method, *args, idempotency_key(request.headers.get("Idempotency-Key")))


# -- dual registration ----------------------------------------------------------------------------------
@dual_registrations.route("", methods=["GET"])
@allow(dual_registrations, *READERS)
@dual_registrations.arguments(DualRegistrationFilter, location="query", unknown=RAISE)
@dual_registrations.response(200, DualRegistrationPage)
def list_dual_registrations(query: dict[str, Any]) -> Any:
    """Registrations in the caller's scope, newest first: per community, per organisation, in force during a
    `period`, and with `unreported=true` those without a report for that period"""
    return _organization("list_dual_registrations", DualRegistrationFilter().dump(query))


@dual_registrations.route("", methods=["POST"])
@allow(dual_registrations, *RECORDERS)
@dual_registrations.arguments(DualRegistrationCreate)
@dual_registrations.response(201, DualRegistrationRead)
def record_dual_registration(body: dict[str, Any]) -> Any:
    """Record an organisation or an in-service member registering with a community"""
    created = _command("record_dual_registration", DualRegistrationCreate().dump(body))
    return created, {"Location": url_for("dual_registrations.get_dual_registration", registration_id=created["id"])}


@dual_registrations.route("/<uuid:registration_id>", methods=["GET"])
@allow(dual_registrations, *READERS)
@dual_registrations.response(200, DualRegistrationRead)
def get_dual_registration(registration_id: UUID) -> Any:
    """One registration"""
    return _organization("get_dual_registration", str(registration_id))


@dual_registrations.route("/<uuid:registration_id>/end", methods=["POST"])
@allow(dual_registrations, *RECORDERS)
@dual_registrations.arguments(DualRegistrationEnd)
@dual_registrations.response(200, DualRegistrationRead)
def end_dual_registration(body: dict[str, Any], registration_id: UUID) -> Any:
    """End a registration (once)"""
    return _command("end_dual_registration", str(registration_id), DualRegistrationEnd().dump(body))


# -- service reports ------------------------------------------------------------------------------------
@service_reports.route("", methods=["GET"])
@allow(service_reports, *READERS)
@service_reports.arguments(ServiceReportFilter, location="query", unknown=RAISE)
@service_reports.response(200, ServiceReportPage)
def list_service_reports(query: dict[str, Any]) -> Any:
    """Reports in the caller's scope, latest period first"""
    return _organization("list_service_reports", ServiceReportFilter().dump(query))


@service_reports.route("", methods=["POST"])
@allow(service_reports, *RECORDERS)
@service_reports.arguments(ServiceReportCreate)
@service_reports.response(201, ServiceReportRead)
def record_service_report(body: dict[str, Any]) -> Any:
    """Record a registration's report for a month (one per month)"""
    created = _command("record_service_report", ServiceReportCreate().dump(body))
    return created, {"Location": url_for("service_reports.get_service_report", report_id=created["id"])}


@service_reports.route("/<uuid:report_id>", methods=["GET"])
@allow(service_reports, *READERS)
@service_reports.response(200, ServiceReportRead)
def get_service_report(report_id: UUID) -> Any:
    """One report"""
    return _organization("get_service_report", str(report_id))


@service_reports.route("/<uuid:report_id>/confirm", methods=["POST"])
@allow(service_reports, *RECORDERS)
@service_reports.response(200, ServiceReportRead)
def confirm_service_report(report_id: UUID) -> Any:
    """The community confirms the services were done (once)"""
    return _command("confirm_service_report", str(report_id))


# -- alliances and big party committees -------------------------------------------------------------------
@alliances.route("", methods=["GET"])
@allow(alliances, *READERS)
@alliances.arguments(AllianceFilter, location="query", unknown=RAISE)
@alliances.response(200, AlliancePage)
def list_alliance_memberships(query: dict[str, Any]) -> Any:
    """Memberships in the caller's scope, newest first"""
    return _organization("list_alliance_memberships", AllianceFilter().dump(query))


@alliances.route("", methods=["POST"])
@allow(alliances, *RECORDERS)
@alliances.arguments(AllianceJoin)
@alliances.response(201, AllianceRead)
def join_alliance(body: dict[str, Any]) -> Any:
    """An organisation joins a street's alliance or a community's big party committee"""
    created = _command("join_alliance", AllianceJoin().dump(body))
    return created, {"Location": url_for("alliances.get_alliance_membership", membership_id=created["id"])}


@alliances.route("/<uuid:membership_id>", methods=["GET"])
@allow(alliances, *READERS)
@alliances.response(200, AllianceRead)
def get_alliance_membership(membership_id: UUID) -> Any:
    """One membership"""
    return _organization("get_alliance_membership", str(membership_id))


@alliances.route("/<uuid:membership_id>/leave", methods=["POST"])
@allow(alliances, *RECORDERS)
@alliances.arguments(AllianceLeave)
@alliances.response(200, AllianceRead)
def leave_alliance(body: dict[str, Any], membership_id: UUID) -> Any:
    """The organisation leaves (once)"""
    return _command("leave_alliance", str(membership_id), AllianceLeave().dump(body))


# -- star ratings ---------------------------------------------------------------------------------------
@star_ratings.route("", methods=["GET"])
@allow(star_ratings, *READERS)
@star_ratings.arguments(StarRatingFilter, location="query", unknown=RAISE)
@star_ratings.response(200, BranchRatingPage)
def list_star_ratings(query: dict[str, Any]) -> Any:
    """Active branches in the caller's scope with their current rating (`none` when never rated), by path"""
    return _organization("list_star_ratings", StarRatingFilter().dump(query))


@star_ratings.route("", methods=["POST"])
@allow(star_ratings, *RATERS)
@star_ratings.arguments(StarRatingChange)
@star_ratings.response(201, RatingChangeRead)
def change_star_rating(body: dict[str, Any]) -> Any:
    """Decide a branch's new rating, with its effective date, evidence and reason"""
    change = _command("change_star_rating", StarRatingChange().dump(body))
    return change, {"Location": url_for("star_ratings.star_rating_history", branch_id=change["branch_id"])}


@star_ratings.route("/counts", methods=["GET"])
@allow(star_ratings, *READERS)
@star_ratings.response(200, RatingCounts)
def count_star_ratings() -> Any:
    """Active branches per street and rating in the caller's scope"""
    return _organization("count_star_ratings")


@star_ratings.route("/<uuid:branch_id>", methods=["GET"])
@allow(star_ratings, *READERS)
@star_ratings.response(200, BranchRatingRead)
def get_star_rating(branch_id: UUID) -> Any:
    """A branch's current rating"""
    return _organization("get_star_rating", str(branch_id))


@star_ratings.route("/<uuid:branch_id>/history", methods=["GET"])
@allow(star_ratings, *READERS)
@star_ratings.arguments(PageQuery, location="query", unknown=RAISE)
@star_ratings.response(200, RatingChangePage)
def star_rating_history(query: dict[str, Any], branch_id: UUID) -> Any:
    """Every decision on a branch's rating, newest first"""
    return _organization("star_rating_history", str(branch_id), query)
