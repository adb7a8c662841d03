"""The situation catalogue (事项清单): the four kinds of whistle, the situations a secretary may blow for, their
handling standard, lead and assisting departments and time limits. Versioned: a version takes effect from a
stated day, old versions stay, and a whistle keeps the version it was blown under."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from whistle.domain.calendar import Limit, Unit
from whistle.domain.errors import (
    CatalogueInvalid,
    CatalogueVersionNotFound,
    CatalogueVersionRefused,
    LimitInvalid,
    UnknownSituation,
)

_Bad = Callable[[str, str], None]  # records one field error


class Kind(StrEnum):
    PROBLEM = "problem"  # 问题哨: a problem a community cannot solve alone
    SERVICE = "service"  # 服务哨: a service residents or firms need
    TACKLING = "tackling"  # 攻坚哨: a hard, long-running task (重点攻坚)
    EMERGENCY = "emergency"  # 应急哨: an emergency


KIND_NAMES: dict[Kind, str] = {
    Kind.PROBLEM: "问题哨",
    Kind.SERVICE: "服务哨",
    Kind.TACKLING: "攻坚哨",
    Kind.EMERGENCY: "应急哨",
}


class Limits(NamedTuple):
    report_in: Limit  # 报到: the department acknowledges and sends someone
    resolution: Limit  # 办结: the department's part is done


# The defaults per kind, which a catalogue version may replace (`kinds:` in its YAML). A problem is reported in
# within the same half day (4 calendar hours, so a whistle blown at 17:00 is answered that evening, as the
# "2 working hours" practice intends without modelling office hours); emergencies run round the clock.
DEFAULT_LIMITS: dict[Kind, Limits] = {
    Kind.PROBLEM: Limits(Limit(4, Unit.HOURS), Limit(5, Unit.WORKING_DAYS)),
    Kind.SERVICE: Limits(Limit(1, Unit.WORKING_DAYS), Limit(3, Unit.WORKING_DAYS)),
    Kind.TACKLING: Limits(Limit(1, Unit.WORKING_DAYS), Limit(15, Unit.WORKING_DAYS)),
    Kind.EMERGENCY: Limits(Limit(1, Unit.HOURS), Limit(24, Unit.HOURS)),
}


@dataclass(frozen=True)
class Situation:
    code: str
    kind: Kind
    name: str
    standard: str  # 处置标准: what "handled" means for this situation
    lead: str  # the lead department's code (牵头)
    assisting: tuple[str, ...] = ()  # assisting departments (协办)
    report_in: Limit | None = None  # overrides of the kind's limits
    resolution: Limit | None = None

    @property
    def departments(self) -> tuple[str, ...]:
        return (self.lead, *self.assisting)


def limits_for(situation: Situation, defaults: Mapping[Kind, Limits] = DEFAULT_LIMITS) -> Limits:
    """The situation's own limits where it has them, else its kind's."""
    kind = defaults[situation.kind]
    return Limits(situation.report_in or kind.report_in, situation.resolution or kind.resolution)


@dataclass(frozen=True)
class CatalogueVersion:
    version: int
    effective_from: date
    situations: tuple[Situation, ...]
    kind_limits: Mapping[Kind, Limits] = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def situation(self, code: str) -> Situation:
        for situation in self.situations:
            if situation.code == code:
                return situation
        raise UnknownSituation(
            f"no situation {code!r} in catalogue version {self.version}", {"situation_code": ["unknown"]}
        )

    def limits_for(self, code: str) -> Limits:
        return limits_for(self.situation(code), self.kind_limits)

    def count_by_kind(self) -> dict[Kind, int]:
        return {kind: sum(s.kind is kind for s in self.situations) for kind in Kind}


@dataclass(frozen=True)
class Catalogue:
    """Every version so far, oldest first."""

    versions: tuple[CatalogueVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise CatalogueInvalid("a catalogue has at least one version")

    @property
    def latest(self) -> CatalogueVersion:
        return self.versions[-1]

    def version(self, number: int) -> CatalogueVersion:
        for version in self.versions:
            if version.version == number:
                return version
        raise CatalogueVersionNotFound(f"no catalogue version {number}")

    def version_at(self, day: date) -> CatalogueVersion:
        """The version in effect on `day`: the latest one effective on or before it."""
        in_effect = [v for v in self.versions if v.effective_from <= day]
        if not in_effect:
            raise CatalogueVersionNotFound(f"no catalogue version is in effect on {day.isoformat()}")
        return in_effect[-1]

    def with_version(self, new: CatalogueVersion) -> Catalogue:
        """The catalogue with `new` appended: it must be numbered next and take effect after the latest one."""
        latest = self.latest
        if new.version != latest.version + 1:
            raise CatalogueVersionRefused(
                f"the next catalogue version is {latest.version + 1}, not {new.version}", {"version": ["not next"]}
            )
        if new.effective_from <= latest.effective_from:
            raise CatalogueVersionRefused(
                f"version {new.version} must take effect after {latest.effective_from.isoformat()}",
                {"effective_from": [f"after {latest.effective_from.isoformat()}"]},
            )
        return Catalogue((*self.versions, new))


def validate_catalogue(doc: Mapping[str, Any], departments: Collection[str]) -> CatalogueVersion:
    """A catalogue version from its document (the YAML or JSON shape of catalogue/default.yaml), or
    CatalogueInvalid naming every bad field (`situations[3].lead`: unknown department, ...)."""
    errors: dict[str, list[str]] = {}

    def bad(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        bad("version", "a whole number from 1")
    effective_from = _day(doc.get("effective_from"))
    if effective_from is None:
        bad("effective_from", "a date (YYYY-MM-DD)")
    kind_limits = _kind_limits(doc.get("kinds") or {}, bad)
    situations = _situations(doc.get("situations"), departments, bad)
    if errors:
        raise CatalogueInvalid(f"the catalogue has {len(errors)} bad field(s)", errors)
    assert isinstance(version, int)  # both checked above
    assert effective_from is not None
    return CatalogueVersion(version, effective_from, situations, kind_limits)


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _limit(value: object, where: str, bad: _Bad) -> Limit | None:
    """A limit is written `{hours: 4}` or `{working_days: 5}`."""
    if not isinstance(value, Mapping) or len(value) != 1:
        bad(where, "one of {hours: N} or {working_days: N}")
        return None
    ((unit, amount),) = value.items()
    if unit not in tuple(Unit):
        bad(where, f"unit {unit!r}: hours or working_days")
        return None
    try:
        return Limit(amount, Unit(unit))
    except LimitInvalid as exc:
        bad(where, exc.detail)
        return None


def _kind_limits(doc: object, bad: _Bad) -> dict[Kind, Limits]:
    limits = dict(DEFAULT_LIMITS)
    if not isinstance(doc, Mapping):
        bad("kinds", "a mapping of kind to its limits")
        return limits
    for name, entry in doc.items():
        if name not in tuple(Kind):
            bad(f"kinds.{name}", f"unknown kind: one of {', '.join(Kind)}")
            continue
        kind = Kind(name)
        entry = entry if isinstance(entry, Mapping) else {}
        default = DEFAULT_LIMITS[kind]
        report_in = _limit(entry["report_in"], f"kinds.{name}.report_in", bad) if "report_in" in entry else None
        resolution = _limit(entry["resolution"], f"kinds.{name}.resolution", bad) if "resolution" in entry else None
        limits[kind] = Limits(report_in or default.report_in, resolution or default.resolution)
    return limits


def _text(entry: Mapping[str, Any], name: str, where: str, bad: _Bad) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        bad(f"{where}.{name}", "required text")
        return ""
    return value.strip()


def _situations(doc: object, departments: Collection[str], bad: _Bad) -> tuple[Situation, ...]:
    if not isinstance(doc, list) or not doc:
        bad("situations", "a non-empty list")
        return ()
    situations: list[Situation] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc):
        where = f"situations[{i}]"
        if not isinstance(entry, Mapping):
            bad(where, "a mapping")
            continue
        code = _text(entry, "code", where, bad)
        if code in seen:
            bad(f"{where}.code", f"duplicate code {code!r}")
        seen.add(code)
        kind_name = entry.get("kind")
        if kind_name not in tuple(Kind):
            bad(f"{where}.kind", f"unknown kind {kind_name!r}: one of {', '.join(Kind)}")
        lead = _text(entry, "lead", where, bad)
        if lead and lead not in departments:
            bad(f"{where}.lead", f"unknown department {lead!r}")
        assisting = entry.get("assisting") or []
        if not isinstance(assisting, list) or not all(isinstance(a, str) for a in assisting):
            bad(f"{where}.assisting", "a list of department codes")
            assisting = []
        for code_ in assisting:
            if code_ not in departments:
                bad(f"{where}.assisting", f"unknown department {code_!r}")
        if lead in assisting or len(set(assisting)) != len(assisting):
            bad(f"{where}.assisting", "each department once, the lead not among them")
        report_in = _limit(entry["report_in"], f"{where}.report_in", bad) if "report_in" in entry else None
        resolution = _limit(entry["resolution"], f"{where}.resolution", bad) if "resolution" in entry else None
        name, standard = _text(entry, "name", where, bad), _text(entry, "standard", where, bad)
        if kind_name in tuple(Kind):
            situations.append(
                Situation(code, Kind(kind_name), name, standard, lead, tuple(assisting), report_in, resolution)
            )
    return tuple(situations)
