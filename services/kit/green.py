"""Long loops in a service let its other green threads run.

nameko's workers are green threads: one that loops over thousands of rows without I/O that yields (SQLite
calls do not) holds up every other caller until it ends. Such a loop calls `pause()` every few hundred rows.
"""

from __future__ import annotations

import time


def pause() -> None:
    """Yield to the other green threads (eventlet's patch makes `time.sleep` green); elsewhere it only lets
    another OS thread take the GIL."""
    time.sleep(0)
