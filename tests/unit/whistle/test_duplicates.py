"""Likely duplicates: the same situation within 50 m and 48 h, by the haversine distance."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.whistle.builders import T0
from whistle.domain.duplicates import EARTH_RADIUS_M, Point, Sighting, bounding_box, distance_m, is_likely_duplicate

WUJING = Point(102.7230, 25.0290)  # 吴井, Kunming


def moved(point: Point, north_m: float = 0.0, east_m: float = 0.0) -> Point:
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(point.lat))))
    return Point(point.lon + dlon, point.lat + dlat)


def test_a_degree_of_latitude_is_about_111_km():
    assert distance_m(Point(0, 0), Point(0, 1)) == pytest.approx(111_195, abs=1)
    assert distance_m(Point(0, 0), Point(180, 0)) == pytest.approx(math.pi * EARTH_RADIUS_M)


@pytest.mark.parametrize(("north", "east"), [(49, 0), (0, 49), (51, 0), (0, 51), (30, 40)])
def test_offsets_measure_as_meant(north, east):
    assert distance_m(WUJING, moved(WUJING, north, east)) == pytest.approx(math.hypot(north, east), abs=0.01)


@pytest.mark.parametrize(
    ("metres", "hours", "situation", "duplicate"),
    [(49, 1, "drain", True), (51, 1, "drain", False), (10, 47, "drain", True), (10, 49, "drain", False),
     (0, 48, "drain", True), (0, 0, "noise", False)],
)  # fmt: skip
def test_the_same_situation_within_50_m_and_48_h(metres, hours, situation, duplicate):
    a = Sighting("drain", WUJING, T0)
    b = Sighting(situation, moved(WUJING, east_m=metres), T0 + timedelta(hours=hours))
    assert is_likely_duplicate(a, b) is duplicate
    assert is_likely_duplicate(b, a) is duplicate


def test_the_bounding_box_holds_the_circle_and_not_beyond():
    box = bounding_box(WUJING, 50)

    def inside(p: Point) -> bool:
        return box[0] <= p.lon <= box[2] and box[1] <= p.lat <= box[3]

    for north, east in [(49.9, 0), (-49.9, 0), (0, 49.9), (0, -49.9), (35, 35)]:
        assert inside(moved(WUJING, north, east))
    for north, east in [(51, 0), (0, -51)]:
        assert not inside(moved(WUJING, north, east))


@given(st.floats(-60, 60), st.floats(-60, 60))
def test_every_point_near_enough_is_in_the_box(north, east):
    near = moved(WUJING, north, east)
    if distance_m(WUJING, near) <= 99:
        box = bounding_box(WUJING, 100)
        assert box[0] <= near.lon <= box[2] and box[1] <= near.lat <= box[3]


def test_a_point_is_on_the_globe():
    with pytest.raises(ValueError, match="WGS84"):
        Point(200, 0)
