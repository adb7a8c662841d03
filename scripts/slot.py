"""Keep a Procfile slot open for one process: `python scripts/slot.py <command...>`.

honcho stops the whole suite when any process exits. Under `make run` a developer (or a demo) stops one
service to see the gateway answer 503 for its routes, so a service that exits on its own does not end its slot:
the slot says so and waits. `kill -HUP <slot pid>` starts the service again; SIGTERM/SIGINT (honcho stopping
the suite) stop it and end the slot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading


def main(command: list[str]) -> int:
    wanted = threading.Event()  # HUP: (re)start
    done = threading.Event()  # TERM/INT: stop for good
    child: list[subprocess.Popen[bytes]] = []

    def stop(signum: int, _frame: object) -> None:
        done.set()
        wanted.set()
        if child and child[0].poll() is None:
            child[0].send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, lambda *_: wanted.set())
    name = " ".join(command[-1:])
    while not done.is_set():
        child[:] = [subprocess.Popen(command)]
        code = child[0].wait()
        if done.is_set():
            return 0
        print(f"[slot] {name} exited with {code}; `kill -HUP {os.getpid()}` starts it again", flush=True)
        wanted.clear()
        wanted.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
