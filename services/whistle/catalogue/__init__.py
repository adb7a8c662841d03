"""Data shipped with the whistle service: the default situation catalogue (default.yaml) and China's holiday
calendars (holidays-<year>.yaml), read into the domain's types."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from whistle.domain.calendar import HolidayCalendar
from whistle.domain.catalogue import Catalogue, validate_catalogue

HERE = Path(__file__).parent
HOLIDAY_YEARS = (2025, 2026)
# The city departments of organization's demo tree (`departments` root, `<code>.desk` accounts) ...
DEMO_DEPARTMENTS = ("cityman", "water", "ecoenv", "housing", "market", "emergency", "transport", "police", "civil",
                    "health")  # fmt: skip
# ... and those the catalogue also needs, added to that tree alongside: 消防救援大队, 供电局, 燃气公司.
NEW_DEPARTMENTS = ("fire", "power", "gas")
DEPARTMENTS = DEMO_DEPARTMENTS + NEW_DEPARTMENTS


def _load(name: str) -> Any:
    return yaml.safe_load((HERE / name).read_text("utf-8"))


def default_catalogue(departments: Collection[str] = DEPARTMENTS) -> Catalogue:
    """The shipped catalogue (one version), checked against the department codes given."""
    return Catalogue((validate_catalogue(_load("default.yaml"), departments),))


def holiday_calendar() -> HolidayCalendar:
    """Every shipped year's holidays and 调休 working days in one calendar."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year in HOLIDAY_YEARS:
        doc = _load(f"holidays-{year}.yaml")
        for period in doc["holidays"]:
            first, last = period["from"], period["to"]
            holidays |= {first + timedelta(days=n) for n in range((last - first).days + 1)}
        workdays |= set(doc["makeup_workdays"])
    if holidays & workdays:
        raise ValueError(f"days both off and worked: {sorted(holidays & workdays)}")
    return HolidayCalendar(frozenset(holidays), frozenset(workdays))
