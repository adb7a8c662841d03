"""Use cases of the situation catalogue: the kinds, the situations in effect on a day, one version whole, and a
district admin publishing a new version (validated against the departments projection, effective from a
stated day; old versions stay)."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

from kit.clock import local_date
from kit.context import CallerContext, require_authenticated
from kit.uow import UnitOfWork
from whistle.adapters.repositories.catalogue import CatalogueRepository, DepartmentRepository
from whistle.catalogue import holiday_calendar
from whistle.domain.calendar import HolidayCalendar, Limit
from whistle.domain.catalogue import (
    KIND_NAMES,
    Catalogue,
    CatalogueVersion,
    Kind,
    Situation,
    limits_for,
    validate_catalogue,
)
from whistle.domain.errors import CatalogueVersionRefused
from whistle.domain.roles import check_may


@cache
def calendar() -> HolidayCalendar:
    """The shipped holiday calendars (read once per process)."""
    return holiday_calendar()


def _mentioned(doc: dict[str, Any]) -> set[str]:
    """The departments a stored version names: it was checked against the projection when published, and a
    department closed since does not unmake history."""
    codes: set[str] = set()
    for s in doc.get("situations") or []:
        codes.add(str(s.get("lead")))
        codes.update(str(a) for a in s.get("assisting") or [])
    return codes


_VALIDATED: dict[str, CatalogueVersion] = {}  # by digest; a published version never changes
_VALIDATED_MAX = 256  # a district publishes a few a year; tests make many databases


def _validated(repo: CatalogueRepository, digest: str) -> CatalogueVersion:
    """One stored version, validated once per process: keyed by its document's digest, so a blow does not parse
    and check 46 situations again, and two databases' versions with one number but other texts never mix."""
    version = _VALIDATED.get(digest)
    if version is None:
        doc = json.loads(repo.text(digest))
        version = validate_catalogue(doc, _mentioned(doc))
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()
        _VALIDATED[digest] = version
    return version


def load_catalogue(uow: UnitOfWork) -> Catalogue:
    repo = CatalogueRepository(uow.session)
    return Catalogue(tuple(_validated(repo, digest) for digest in repo.digests()))


def version_in_effect(uow: UnitOfWork, on: date | None = None) -> CatalogueVersion:
    return load_catalogue(uow).version_at(on or local_date(uow.clock.now()))


# -- wire shapes ---------------------------------------------------------------------------------------
def limit_read(limit: Limit) -> dict[str, Any]:
    return {"amount": limit.amount, "unit": str(limit.unit)}


def situation_read(s: Situation, version: CatalogueVersion) -> dict[str, Any]:
    limits = limits_for(s, version.kind_limits)
    return {
        "code": s.code,
        "kind": str(s.kind),
        "name": s.name,
        "standard": s.standard,
        "lead": s.lead,
        "assisting": list(s.assisting),
        "report_in": limit_read(limits.report_in),
        "resolution": limit_read(limits.resolution),
    }


def version_read(version: CatalogueVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "effective_from": version.effective_from.isoformat(),
        "kinds": [kind_read(k, version) for k in Kind],
        "situations": [situation_read(s, version) for s in version.situations],
    }


def kind_read(kind: Kind, version: CatalogueVersion) -> dict[str, Any]:
    limits = version.kind_limits[kind]
    return {
        "code": str(kind),
        "name": KIND_NAMES[kind],
        "report_in": limit_read(limits.report_in),
        "resolution": limit_read(limits.resolution),
        "situations": version.count_by_kind()[kind],
    }


# -- queries -------------------------------------------------------------------------------------------
def list_kinds(uow: UnitOfWork, ctx: CallerContext) -> dict[str, Any]:
    require_authenticated(ctx)
    version = version_in_effect(uow)
    return {"version": version.version, "items": [kind_read(k, version) for k in Kind]}


def list_situations(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    require_authenticated(ctx)
    version = version_in_effect(uow, query.get("on"))
    kind = query.get("kind")
    items = [situation_read(s, version) for s in version.situations if kind is None or s.kind == kind]
    return {"version": version.version, "effective_from": version.effective_from.isoformat(), "items": items}


def get_catalogue_version(uow: UnitOfWork, ctx: CallerContext, number: int) -> dict[str, Any]:
    require_authenticated(ctx)
    return version_read(load_catalogue(uow).version(number))


# -- commands ------------------------------------------------------------------------------------------
def publish_catalogue(uow: UnitOfWork, ctx: CallerContext, document: dict[str, Any]) -> dict[str, Any]:
    """A new version: checked whole against the active departments (422 naming every bad field), numbered next
    and effective after the latest and not before today (409), so no past day changes what was in effect."""
    check_may(ctx.role, "publish_catalogue")
    repo = CatalogueRepository(uow.session)
    new = validate_catalogue(document, DepartmentRepository(uow.session).active_codes())
    today = local_date(uow.clock.now())
    if new.effective_from < today:
        raise CatalogueVersionRefused(
            f"a new version takes effect today or later, not {new.effective_from.isoformat()}",
            {"effective_from": [f"from {today.isoformat()}"]},
        )
    load_catalogue(uow).with_version(new)  # numbered next, after the latest
    repo.add(new, document, at=uow.clock.now(), by=ctx.account_id)
    summary = {
        "version": new.version,
        "effective_from": new.effective_from.isoformat(),
        "situations": len(new.situations),
    }
    uow.audit("catalogue.publish", "catalogue", str(new.version), summary)
    return version_read(new)
