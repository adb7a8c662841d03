"""Whistles (吹哨报到) over HTTP: the catalogue (kinds, situations, versions), whistles, and one action route per
transition of a whistle's life. Each route is one RPC of the whistle service; who may do what where is the
service's job (scope, the raiser, the summoned department): a whistle outside the caller's scope is 404, an
illegal move 409. The routes belong to the `whistle` module: a street that does not run it answers 404."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from flask import Response, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from gateway import rpc
from gateway.auth import EVERY_ROLE, allow
from gateway.bodies import accepts
from gateway.headers import idempotency_key
from gateway.modules import belongs_to
from whistle.schemas.assessment import WhistleStatsQuery, WhistleStatsRead
from whistle.schemas.catalogue import (
    CataloguePublish,
    CatalogueVersionRead,
    KindList,
    SituationFilter,
    SituationList,
)
from whistle.schemas.history import HistoryRead, HistoryVerification
from whistle.schemas.notifications import DeliveryFilter, DeliveryPage
from whistle.schemas.whistles import (
    ACTION_ROLES,
    WhistleAssess,
    WhistleBlow,
    WhistleClose,
    WhistleCreate,
    WhistleDuplicates,
    WhistleExtensionDecision,
    WhistleFeedback,
    WhistleFilter,
    WhistleHandle,
    WhistleMerge,
    WhistlePage,
    WhistlePause,
    WhistleRead,
    WhistleRedispatch,
    WhistleReopen,
    WhistleReportIn,
    WhistleResume,
    WhistleSendBack,
)

MODULE = "whistle"
HANDLE_MAX_BYTES = 8 * 1024 * 1024  # three photos of 2 MiB in base64, and the text
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")

catalogue_blp = belongs_to(
    Blueprint("whistle_catalogue", __name__, url_prefix="/api/v1", description="The whistle catalogue"), MODULE
)
blp = belongs_to(
    Blueprint("whistles", __name__, url_prefix="/api/v1/whistles", description="Whistles: 吹哨报到"), MODULE
)
BLUEPRINTS = (catalogue_blp, blp)


def _whistle(method: str, *args: Any) -> Any:
    return rpc.current().call("whistle", method, g.caller, *args)


def _command(method: str, *args: Any) -> Any:
    return _whistle(method, *args, idempotency_key(request.headers.get("Idempotency-Key")))


@catalogue_blp.route("/whistle-kinds", methods=["GET"])
@allow(catalogue_blp, *EVERY_ROLE)
@catalogue_blp.response(200, KindList)
def list_kinds() -> Any:
    """The four kinds (问题哨, 服务哨, 攻坚哨, 应急哨) with their default limits, in today's catalogue"""
    return _whistle("list_kinds")


@catalogue_blp.route("/situations", methods=["GET"])
@allow(catalogue_blp, *EVERY_ROLE)
@catalogue_blp.arguments(SituationFilter, location="query", unknown=RAISE)
@catalogue_blp.response(200, SituationList)
def list_situations(query: dict[str, Any]) -> Any:
    """The situations of the catalogue in effect on a day (today by default), with departments and limits"""
    dumped = SituationFilter().dump(query)
    return _whistle("list_situations", dumped.get("kind"), dumped.get("on"))


@catalogue_blp.route("/catalogue-versions", methods=["POST"])
@allow(catalogue_blp, *ACTION_ROLES["publish_catalogue"])
@catalogue_blp.arguments(CataloguePublish)
@catalogue_blp.response(201, CatalogueVersionRead)
def publish_catalogue(body: dict[str, Any]) -> Any:
    """A new catalogue version from a stated day; older versions stay, each whistle keeps the one it was blown under"""
    return _command("publish_catalogue", CataloguePublish().dump(body))


@catalogue_blp.route("/catalogue-versions/<int:version>", methods=["GET"])
@allow(catalogue_blp, *EVERY_ROLE)
@catalogue_blp.response(200, CatalogueVersionRead)
def get_catalogue_version(version: int) -> Any:
    """One catalogue version, whole"""
    return _whistle("catalogue_version", version)


@catalogue_blp.route("/whistle-stats", methods=["GET"])
@allow(catalogue_blp, "district_admin", "street_secretary", "department")
@catalogue_blp.arguments(WhistleStatsQuery, location="query", unknown=RAISE)
@catalogue_blp.response(200, WhistleStatsRead)
def whistle_stats(query: dict[str, Any]) -> Any:
    """一哨一考核: a month's figures and ranking per department or per street (a street secretary their street's,
    a department its own row); final once the month is closed, live before"""
    return _whistle("whistle_stats", WhistleStatsQuery().dump(query))


@catalogue_blp.route("/notification-deliveries", methods=["GET"])
@allow(catalogue_blp, "district_admin")
@catalogue_blp.arguments(DeliveryFilter, location="query", unknown=RAISE)
@catalogue_blp.response(200, DeliveryPage)
def list_deliveries(query: dict[str, Any]) -> Any:
    """The notification delivery log, newest first: each reminder, overdue and escalation notice sent or failed,
    by channel, with masked addresses (for the district's admins)"""
    return _whistle("list_deliveries", DeliveryFilter().dump(query))


@blp.route("", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.arguments(WhistleFilter, location="query", unknown=RAISE)
@blp.response(200, WhistlePage)
def list_whistles(query: dict[str, Any]) -> Any:
    """The whistles the caller may see, newest first: by state, kind, street, situation, department, overdue, time"""
    return _whistle("list_whistles", WhistleFilter().dump(query))


@blp.route("", methods=["POST"])
@allow(blp, *ACTION_ROLES["create"])
@blp.arguments(WhistleCreate)
@blp.response(201, WhistleRead, headers={"Location": {"description": "the new whistle", "schema": {"type": "string"}}})
def create_whistle(body: dict[str, Any]) -> Any:
    """Raise a problem or a need (collected): a resident or member in their own community, a secretary in scope"""
    whistle = _command("create_whistle", WhistleCreate().dump(body))
    return whistle, {"Location": url_for("whistles.get_whistle", whistle_id=whistle["id"])}


@blp.route("/<uuid:whistle_id>", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, WhistleRead)
def get_whistle(whistle_id: UUID) -> Any:
    """One whistle with its departments, their stages and deadlines"""
    return _whistle("get_whistle", str(whistle_id))


def _action(method: str, schema: Any, whistle_id: UUID, body: dict[str, Any]) -> Any:
    return _command(method, str(whistle_id), schema.dump(body))


@blp.route("/<uuid:whistle_id>/blow", methods=["POST"])
@allow(blp, *ACTION_ROLES["blow"])
@blp.arguments(WhistleBlow)
@blp.response(200, WhistleRead)
def blow(body: dict[str, Any], whistle_id: UUID) -> Any:
    """吹哨: summon the situation's lead and assisting departments (or those named); their clocks start"""
    return _action("blow", WhistleBlow(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/report-in", methods=["POST"])
@allow(blp, *ACTION_ROLES["report_in"])
@blp.arguments(WhistleReportIn)
@blp.response(200, WhistleRead)
def report_in(body: dict[str, Any], whistle_id: UUID) -> Any:
    """报到: a summoned department reports for duty"""
    return _action("report_in", WhistleReportIn(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/send-back", methods=["POST"])
@allow(blp, *ACTION_ROLES["send_back"])
@blp.arguments(WhistleSendBack)
@blp.response(200, WhistleRead)
def send_back(body: dict[str, Any], whistle_id: UUID) -> Any:
    """A summoned department returns the whistle as not its job, with the reason"""
    return _action("send_back", WhistleSendBack(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/redispatch", methods=["POST"])
@allow(blp, *ACTION_ROLES["redispatch"])
@blp.arguments(WhistleRedispatch)
@blp.response(200, WhistleRead)
def redispatch(body: dict[str, Any], whistle_id: UUID) -> Any:
    """Summon other departments after a return or a reopen"""
    return _action("redispatch", WhistleRedispatch(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/approve-extension", methods=["POST"])
@allow(blp, *ACTION_ROLES["approve_extension"])
@blp.arguments(WhistleExtensionDecision)
@blp.response(200, WhistleRead)
def approve_extension(body: dict[str, Any], whistle_id: UUID) -> Any:
    """Grant a department the extra time it asked for: its resolution deadline moves, reminders anew"""
    return _action("approve_extension", WhistleExtensionDecision(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/refuse-extension", methods=["POST"])
@allow(blp, *ACTION_ROLES["refuse_extension"])
@blp.arguments(WhistleExtensionDecision)
@blp.response(200, WhistleRead)
def refuse_extension(body: dict[str, Any], whistle_id: UUID) -> Any:
    """Refuse a department's request for more time: its deadline stands"""
    return _action("refuse_extension", WhistleExtensionDecision(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/pause", methods=["POST"])
@allow(blp, *ACTION_ROLES["pause"])
@blp.arguments(WhistlePause)
@blp.response(200, WhistleRead)
def pause(body: dict[str, Any], whistle_id: UUID) -> Any:
    """Wait on the resident: every summoned department's clocks stand still (the reason stays in the history)"""
    return _action("pause", WhistlePause(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/resume", methods=["POST"])
@allow(blp, *ACTION_ROLES["resume"])
@blp.arguments(WhistleResume)
@blp.response(200, WhistleRead)
def resume(body: dict[str, Any], whistle_id: UUID) -> Any:
    """The clocks run again, each due instant later by the pause's length"""
    return _action("resume", WhistleResume(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/merge", methods=["POST"])
@allow(blp, *ACTION_ROLES["merge"])
@blp.arguments(WhistleMerge)
@blp.response(200, WhistleRead)
def merge(body: dict[str, Any], whistle_id: UUID) -> Any:
    """重复诉求: merge a likely duplicate (same situation, 50 m, 48 h) into the live whistle it repeats"""
    return _action("merge", WhistleMerge(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/duplicates", methods=["GET"])
@allow(blp, *ACTION_ROLES["find_duplicates"])
@blp.response(200, WhistleDuplicates)
def likely_duplicates(whistle_id: UUID) -> Any:
    """The live whistles in the caller's scope that likely repeat this one: its situation within 50 m and 48 h"""
    return _whistle("likely_duplicates", str(whistle_id))


@blp.route("/<uuid:whistle_id>/handle", methods=["POST"])
@allow(blp, *ACTION_ROLES["handle"])
@blp.arguments(WhistleHandle)
@blp.response(200, WhistleRead)
@accepts(blp, max_bytes=HANDLE_MAX_BYTES)
def handle(body: dict[str, Any], whistle_id: UUID) -> Any:
    """The lead department hands in the result, its evidence and up to three photos (base64 JSON, 8 MiB in all)"""
    return _action("handle", WhistleHandle(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/photos/<string:key>", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.doc(
    responses={
        "200": {
            "description": "the photo",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES},
        }
    }
)
def get_photo(whistle_id: UUID, key: str) -> Response:
    """One photo of a whistle's result (a whistle or key the caller may not read is 404)"""
    photo = _whistle("get_photo", str(whistle_id), key)
    return Response(base64.b64decode(photo["data"]), mimetype=photo["content_type"])


@blp.route("/<uuid:whistle_id>/feedback", methods=["POST"])
@allow(blp, *ACTION_ROLES["give_feedback"])
@blp.arguments(WhistleFeedback)
@blp.response(200, WhistleRead)
def give_feedback(body: dict[str, Any], whistle_id: UUID) -> Any:
    """The raiser says whether they are satisfied, basically satisfied or not"""
    return _action("give_feedback", WhistleFeedback(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/assess", methods=["POST"])
@allow(blp, *ACTION_ROLES["assess"])
@blp.arguments(WhistleAssess)
@blp.response(200, WhistleRead)
def assess(body: dict[str, Any], whistle_id: UUID) -> Any:
    """一哨一考核: the secretary rates how it was handled"""
    return _action("assess", WhistleAssess(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/close", methods=["POST"])
@allow(blp, *ACTION_ROLES["close"])
@blp.arguments(WhistleClose)
@blp.response(200, WhistleRead)
def close(body: dict[str, Any], whistle_id: UUID) -> Any:
    """Close an assessed whistle: timeliness and satisfaction go out with `whistle.closed`"""
    return _action("close", WhistleClose(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/reopen", methods=["POST"])
@allow(blp, *ACTION_ROLES["reopen"])
@blp.arguments(WhistleReopen)
@blp.response(200, WhistleRead)
def reopen(body: dict[str, Any], whistle_id: UUID) -> Any:
    """Reopen when the raiser is not satisfied (a bounded number of times), with the reason"""
    return _action("reopen", WhistleReopen(), whistle_id, body)


@blp.route("/<uuid:whistle_id>/history", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, HistoryRead)
def get_history(whistle_id: UUID) -> Any:
    """吹哨全留痕: every change of the whistle in order, each entry chained to the one before by its hash"""
    return _whistle("whistle_history", str(whistle_id))


@blp.route("/<uuid:whistle_id>/history/verify", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, HistoryVerification)
def verify_history(whistle_id: UUID) -> Any:
    """Recompute the whistle's hash chain: sound, or the first entry that was changed, removed or cut"""
    return _whistle("verify_whistle_history", str(whistle_id))
