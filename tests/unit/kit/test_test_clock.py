"""The test clock a whole process can be given (kit.clock.clock_from_env): a file's time, only under
GUANDU_ENV=test, refused everywhere else."""

from datetime import UTC, datetime, timedelta

import pytest

from kit.clock import ClockFileRefused, FileClock, SystemClock, clock_from_env

WHEN = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)


def test_without_a_clock_file_it_is_the_wall_clock():
    assert isinstance(clock_from_env({}), SystemClock)
    assert isinstance(clock_from_env({"GUANDU_ENV": "test"}), SystemClock)


def test_a_clock_file_is_refused_unless_the_environment_is_test(tmp_path):
    path = tmp_path / "now"
    path.write_text(WHEN.isoformat())
    for env in ({}, {"GUANDU_ENV": "production"}, {"GUANDU_ENV": "development"}, {"GUANDU_ENV": "TEST"}):
        with pytest.raises(ClockFileRefused):
            clock_from_env({**env, "TEST_CLOCK_FILE": str(path)})


def test_the_file_clock_stands_still_until_the_file_says_otherwise(tmp_path):
    path = tmp_path / "now"
    path.write_text("2026-12-31T23:59:00+00:00\n")
    clock = clock_from_env({"GUANDU_ENV": "test", "TEST_CLOCK_FILE": str(path)})
    assert isinstance(clock, FileClock)
    assert clock.now() == clock.now() == WHEN
    clock.set(WHEN + timedelta(hours=3))  # another process writing the file moves this one
    assert FileClock(path).now() == WHEN + timedelta(hours=3)
    assert path.read_text() == "2027-01-01T02:59:00Z"


def test_a_missing_or_naive_time_stops_the_process_at_start(tmp_path):
    with pytest.raises(FileNotFoundError):
        clock_from_env({"GUANDU_ENV": "test", "TEST_CLOCK_FILE": str(tmp_path / "absent")})
    (tmp_path / "naive").write_text("2026-12-31T23:59:00")
    with pytest.raises(ValueError, match="offset"):
        FileClock(tmp_path / "naive")
