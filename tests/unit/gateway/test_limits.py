"""The gateway's in-memory rate-limit counters: limits' fixed windows, without a thread per hit."""

import threading

import limits.storage.memory
from limits.storage import storage_from_string

from gateway.limits import MemoryCounters


def test_the_storage_uri_names_the_gateway_counters():
    assert isinstance(storage_from_string("gateway-memory://"), MemoryCounters)


def test_hits_count_up_within_a_window_and_start_again_after_it():
    counters = MemoryCounters()
    assert [counters.incr("account:a", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.incr("account:b", 60) == 1
    assert counters.incr("ended", 0) == 1  # a window of no length has ended by the next hit
    assert counters.incr("ended", 0) == 1


def test_a_hit_starts_no_thread(monkeypatch):
    counters = MemoryCounters()
    counters.timer.join()  # the one sweep limits' constructor starts has run: limits would now start another

    def no_timer(*args, **kwargs):
        raise AssertionError("a hit started a thread")

    monkeypatch.setattr(limits.storage.memory.threading, "Timer", no_timer)
    monkeypatch.setattr(threading.Thread, "start", no_timer)
    for _ in range(1000):
        counters.incr("account:a", 60)
    assert counters.get("account:a") == 1000
