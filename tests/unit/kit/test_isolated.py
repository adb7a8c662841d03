"""Heavy work in a bounded child process (kit.isolated): the answer, the refusal, and every way it can fail.
Standard-library functions stand in for the work: the child imports only what `python -I` can."""

from __future__ import annotations

import json
import math
import zlib

import pytest

from kit.isolated import Busy, ChildProcesses, Failed


def test_the_answer_comes_back_and_a_refusal_crosses_as_itself():
    pool = ChildProcesses(slots=1)
    assert pool.run(json.loads, b'{"rows": [[2, {"name": "x"}]]}', refusal=ValueError) == {"rows": [[2, {"name": "x"}]]}
    with pytest.raises(ValueError, match="Expecting value"):
        pool.run(json.loads, b"not json", refusal=ValueError)


def test_a_crash_is_a_failure_not_an_answer():
    with pytest.raises(Failed, match="TypeError"):
        ChildProcesses(slots=1).run(math.sqrt, b"1", refusal=ValueError)


def test_the_memory_limit_stops_a_bomb():
    bomb = zlib.compress(b"\0" * (256 * 1024 * 1024))  # 256 MiB once inflated, 250 KiB here
    with pytest.raises(Failed, match="MemoryError"):
        ChildProcesses(slots=1, memory_bytes=128 * 1024 * 1024).run(zlib.decompress, bomb, refusal=ValueError)


def test_the_deadline_kills_the_child():
    with pytest.raises(Failed, match="stopped"):
        ChildProcesses(slots=1, timeout=0.001).run(json.loads, b"[]", refusal=ValueError)


def test_a_call_finding_every_slot_taken_is_refused_at_once():
    pool = ChildProcesses(slots=1)
    assert pool._slots.acquire(blocking=False)  # another call holds the one slot
    with pytest.raises(Busy):
        pool.run(json.loads, b"[]", refusal=ValueError)
    pool._slots.release()
    assert pool.run(json.loads, b"[]", refusal=ValueError) == []
