"""CPU-heavy work on untrusted input (reading an uploaded workbook) in a child process, bounded.

A nameko service's workers are green threads on one OS thread: CPU work never yields, so while one worker
parses a file every other caller of the service waits. Here the work runs in a fresh child process (another
core, its own memory): the parent waits on the child's pipes, which eventlet's patch makes green, so the
service keeps answering. The child gets no secrets (an empty environment), a memory limit and a deadline,
after which it is killed. At most `slots` children run per process; a call that finds them all busy is
refused at once, because a call left waiting would hold one of nameko's few workers.

The function runs as `module:qualname` in the child: it takes bytes and returns JSON-able values; the one
exception type named `refusal` (the input is refused, with a message for the caller) crosses back as itself.
"""

from __future__ import annotations

import importlib
import json
import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any


class Busy(Exception):
    """Every slot is taken: try again shortly."""


class Failed(Exception):
    """The child crashed, ran out of memory or out of time."""


def _is_timeout(exc: Exception) -> bool:
    """subprocess.TimeoutExpired, or its twin: under eventlet's patch the green `communicate` raises the class
    of eventlet's private copy of the subprocess module, which `except subprocess.TimeoutExpired` misses."""
    return (type(exc).__module__, type(exc).__name__) == ("subprocess", "TimeoutExpired")


def _name(thing: Any) -> str:
    return f"{thing.__module__}:{thing.__qualname__}"


def _load(name: str) -> Any:
    module, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


class ChildProcesses:
    def __init__(self, slots: int, *, timeout: float = 60.0, memory_bytes: int = 1024 * 1024 * 1024) -> None:
        self._slots = threading.BoundedSemaphore(slots)  # green once eventlet has patched threading
        self.timeout = timeout
        self.memory_bytes = memory_bytes

    def run(self, func: Callable[[bytes], Any], data: bytes, *, refusal: type[Exception]) -> Any:
        if not self._slots.acquire(blocking=False):
            raise Busy("every worker process is busy")
        try:
            args = [sys.executable, "-I", "-m", "kit.isolated", _name(func), _name(refusal), str(self.memory_bytes)]
            # the command line is ours (this module, two names, a number); the input goes in on stdin
            done = subprocess.run(  # noqa: S603
                args, input=data, capture_output=True, timeout=self.timeout, env={}, check=False
            )
        except Exception as exc:  # run() has killed the child
            if not _is_timeout(exc):
                raise
            raise Failed(f"still working after {self.timeout:g}s: stopped") from None
        finally:
            self._slots.release()
        if done.returncode != 0:
            # the exception's type only: its message may quote the input (personal data, say)
            last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise Failed(f"the worker process failed ({done.returncode}): {last.split(':')[0][:80]}")
        answer = json.loads(done.stdout)
        if "refused" in answer:
            raise refusal(answer["refused"])
        return answer["result"]


def main(argv: Sequence[str]) -> int:
    """The child: `python -I -m kit.isolated module:function module:RefusalType memory_bytes` < input."""
    func_name, refusal_name, memory = argv
    limit = int(memory)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    func, refusal = _load(func_name), _load(refusal_name)
    data = sys.stdin.buffer.read()
    try:
        answer = {"result": func(data)}
    except refusal as exc:
        answer = {"refused": str(exc)}
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
