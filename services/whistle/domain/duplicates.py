"""Likely duplicates (重复诉求): the same situation raised twice within 50 metres and 48 hours, which a
secretary may merge into one whistle."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
DUPLICATE_METRES = 50.0
DUPLICATE_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise ValueError(f"not a WGS84 point: ({self.lon}, {self.lat})")


@dataclass(frozen=True)
class Sighting:
    """What duplicate detection compares: a whistle's situation, place and time of collection."""

    situation_code: str
    point: Point
    at: datetime


def distance_m(a: Point, b: Point) -> float:
    """The great-circle (haversine) distance in metres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(point: Point, metres: float) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) holding every point within `metres`: the indexed prefilter a
    repository runs before `distance_m` decides (generous near the poles, which Guandu is not)."""
    dlat = math.degrees(metres / EARTH_RADIUS_M)
    dlon = math.degrees(metres / (EARTH_RADIUS_M * max(math.cos(math.radians(point.lat)), 1e-9)))
    return (
        max(point.lon - dlon, -180.0),
        max(point.lat - dlat, -90.0),
        min(point.lon + dlon, 180.0),
        min(point.lat + dlat, 90.0),
    )


def is_likely_duplicate(a: Sighting, b: Sighting) -> bool:
    """The same situation within 50 m and 48 h of each other (both limits included)."""
    return (
        a.situation_code == b.situation_code
        and abs(a.at - b.at) <= DUPLICATE_WINDOW
        and distance_m(a.point, b.point) <= DUPLICATE_METRES
    )
