"""The situation catalogue: validation names every bad field, versions follow one another, a whistle keeps the
version it was blown under, and the shipped default holds 46 valid situations (20 + 10 + 8 + 8)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.unit.whistle.builders import CAL, DEPARTMENTS, T0, V1, catalogue_doc, collected
from whistle.catalogue import DEMO_DEPARTMENTS, NEW_DEPARTMENTS, default_catalogue
from whistle.catalogue import DEPARTMENTS as SHIPPED_DEPARTMENTS
from whistle.domain.calendar import Limit, Unit
from whistle.domain.catalogue import (
    DEFAULT_LIMITS,
    Catalogue,
    Kind,
    Limits,
    limits_for,
    validate_catalogue,
)
from whistle.domain.errors import (
    CatalogueInvalid,
    CatalogueVersionNotFound,
    CatalogueVersionRefused,
    UnknownSituation,
)


def situation(**changes: object) -> dict[str, object]:
    return {"code": "x", "kind": "problem", "name": "名", "standard": "标准", "lead": "water", **changes}


def errors_of(doc: dict[str, object]) -> dict[str, list[str]]:
    with pytest.raises(CatalogueInvalid) as caught:
        validate_catalogue(doc, DEPARTMENTS)
    assert caught.value.kind == "invalid" and caught.value.code == "WHISTLE_CATALOGUE_INVALID"
    return caught.value.errors


def test_the_default_catalogue_has_46_situations_of_four_kinds():
    version = default_catalogue().latest
    assert len(version.situations) == 46
    assert version.count_by_kind() == {Kind.PROBLEM: 20, Kind.SERVICE: 10, Kind.TACKLING: 8, Kind.EMERGENCY: 8}
    assert len({s.code for s in version.situations}) == 46
    used = {code for s in version.situations for code in s.departments}
    assert used == set(SHIPPED_DEPARTMENTS)  # every department is needed, none unknown
    for code in ("sewage_outfall", "illegal_construction", "fire_lane_blocked", "gas_leak", "elderly_alone",
                 "property_dispute"):  # fmt: skip
        assert version.situation(code).standard


def test_the_default_catalogue_needs_the_new_departments():
    assert set(NEW_DEPARTMENTS).isdisjoint(DEMO_DEPARTMENTS)
    with pytest.raises(CatalogueInvalid) as caught:
        default_catalogue(departments=DEMO_DEPARTMENTS)
    assert any("unknown department 'gas'" in m for ms in caught.value.errors.values() for m in ms)


def test_the_defaults_per_kind_and_a_situations_own_limits():
    version = default_catalogue().latest
    assert version.limits_for("sewage_outfall") == DEFAULT_LIMITS[Kind.PROBLEM]
    assert version.limits_for("gas_leak") == Limits(Limit(1, Unit.HOURS), Limit(12, Unit.HOURS))
    assert version.limits_for("fire_lane_blocked").report_in == Limit(2, Unit.HOURS)


def test_a_version_may_set_its_kinds_limits():
    doc = catalogue_doc(kinds={"problem": {"report_in": {"hours": 2}}})
    version = validate_catalogue(doc, DEPARTMENTS)
    assert version.limits_for("drain") == Limits(Limit(2, Unit.HOURS), DEFAULT_LIMITS[Kind.PROBLEM].resolution)
    assert limits_for(version.situation("gas_leak")) == DEFAULT_LIMITS[Kind.EMERGENCY]


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        (situation(lead="nobody"), "situations[0].lead", "unknown department 'nobody'"),
        (situation(assisting=["cityman", "ghosts"]), "situations[0].assisting", "unknown department 'ghosts'"),
        (situation(assisting=["water"]), "situations[0].assisting", "the lead not among them"),
        (situation(kind="whisper"), "situations[0].kind", "unknown kind"),
        (situation(name=""), "situations[0].name", "required"),
        (situation(standard=None), "situations[0].standard", "required"),
        (situation(report_in={"hours": 0}), "situations[0].report_in", "at least 1"),
        (situation(report_in={"days": 3}), "situations[0].report_in", "hours or working_days"),
        (situation(resolution={"hours": 1, "working_days": 2}), "situations[0].resolution", "one of"),
        (situation(resolution="5 days"), "situations[0].resolution", "one of"),
    ],
)
def test_a_bad_situation_is_named_by_its_field(entry, field, says):
    errors = errors_of(catalogue_doc(situations=[entry]))
    assert field in errors and any(says in message for message in errors[field]), errors


def test_duplicate_codes_and_every_bad_field_at_once():
    errors = errors_of(
        {
            "version": 0,
            "effective_from": "soon",
            "kinds": {"rumour": {}, "emergency": {"resolution": {"minutes": 30}}},
            "situations": [situation(), situation(lead="nobody")],
        }
    )
    assert set(errors) == {
        "version",
        "effective_from",
        "kinds.rumour",
        "kinds.emergency.resolution",
        "situations[1].code",
        "situations[1].lead",
    }
    assert errors["situations[1].code"] == ["duplicate code 'x'"]


def test_a_catalogue_has_situations():
    assert "situations" in errors_of(catalogue_doc(situations=[]))


def test_an_unknown_situation_is_a_422():
    with pytest.raises(UnknownSituation) as caught:
        V1.situation("nothing")
    assert caught.value.kind == "invalid"


def version(number: int, effective: str, report_in_hours: int = 4):
    doc = catalogue_doc(
        version=number, effective_from=effective, kinds={"problem": {"report_in": {"hours": report_in_hours}}}
    )
    return validate_catalogue(doc, DEPARTMENTS)


def test_versions_take_effect_from_their_day_and_old_ones_stay():
    catalogue = Catalogue((version(1, "2026-01-01"),)).with_version(version(2, "2026-04-01", report_in_hours=2))
    assert catalogue.version_at(date(2026, 3, 31)).version == 1
    assert catalogue.version_at(date(2026, 4, 1)).version == 2
    assert catalogue.version(1).kind_limits[Kind.PROBLEM].report_in == Limit(4, Unit.HOURS)
    with pytest.raises(CatalogueVersionNotFound):
        catalogue.version_at(date(2025, 12, 31))
    with pytest.raises(CatalogueVersionNotFound):
        catalogue.version(3)


@pytest.mark.parametrize(
    ("number", "effective", "field"),
    [(3, "2026-05-01", "version"), (1, "2026-05-01", "version"), (2, "2026-01-01", "effective_from"),
     (2, "2025-06-01", "effective_from")],
)  # fmt: skip
def test_a_new_version_comes_next_and_later(number, effective, field):
    catalogue = Catalogue((version(1, "2026-01-01"),))
    with pytest.raises(CatalogueVersionRefused) as caught:
        catalogue.with_version(version(number, effective))
    assert field in caught.value.errors and caught.value.kind == "conflict"
    assert len(catalogue.versions) == 1


def test_a_whistle_keeps_the_version_it_was_blown_under():
    catalogue = Catalogue((version(1, "2026-01-01"),))
    w = collected()
    w.blow(catalogue.version_at(T0.date()), CAL, at=T0)
    catalogue = catalogue.with_version(version(2, "2026-03-03", report_in_hours=1))
    w.send_back("water", reason="不归水务", at=T0)
    w.redispatch(CAL, at=T0, lead="water")  # summoned again after v2 took effect
    assert w.catalogue_version == 1
    assert w.departments["water"].report_in.limit == Limit(4, Unit.HOURS)
    assert catalogue.version(w.catalogue_version).limits_for("drain").report_in == Limit(4, Unit.HOURS)


def test_an_empty_catalogue_is_refused():
    with pytest.raises(CatalogueInvalid):
        Catalogue(())
