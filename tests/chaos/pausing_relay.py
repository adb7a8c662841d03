"""A real outbox relay process that stops dead at a chosen step, for the relay fault tests.

    python tests/chaos/pausing_relay.py <service> --pause-before {publish,mark_sent} --marker PATH

It reads `<SERVICE>_DATABASE_URL`, `AMQP_URI` and `RELAY_BATCH_SIZE` like `python -m kit.relay <service>` and
runs the kit's own relay loop. On its first batch, just before the chosen step, it writes the marker file (a
JSON list of the event ids it claimed) and blocks forever with its transaction and its broker connection
open: the test kills it with SIGKILL. It never kills or stops itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kit.config import Settings
from kit.db import Database
from kit.logs import configure_logging
from kit.relay import Relay

log = logging.getLogger("pausing_relay")
STEPS = ("publish", "mark_sent")


class PausingRelay(Relay):
    def __init__(self, *args: object, pause_before: str, marker: Path, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pause_before = pause_before
        self.marker = marker

    def publish(self, rows: Sequence[Any]) -> None:
        if self.pause_before == "publish":
            self._halt(rows)
        super().publish(rows)

    def mark_sent(self, session: Session, rows: Sequence[Any]) -> None:
        if self.pause_before == "mark_sent":
            self._halt(rows)
        super().mark_sent(session, rows)

    def _halt(self, rows: Sequence[Any]) -> None:
        partial = self.marker.with_name(self.marker.name + ".partial")
        partial.write_text(json.dumps([row.event_id for row in rows]))
        os.replace(partial, self.marker)  # the test never reads a half-written marker
        log.info("paused before %s with %d rows claimed; waiting to be killed", self.pause_before, len(rows))
        threading.Event().wait()  # forever: only SIGKILL ends this process


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="An outbox relay that stops dead before a step")
    parser.add_argument("service")
    parser.add_argument("--pause-before", choices=STEPS, required=True)
    parser.add_argument("--marker", type=Path, required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env(args.service)
    configure_logging(args.service + "-pausing-relay")
    relay = PausingRelay(
        Database(settings.database_url),
        settings.amqp_uri,
        batch_size=settings.relay_batch_size,
        pause_before=args.pause_before,
        marker=args.marker,
    )
    log.info("pausing relay started for %s", args.service)
    relay.run(threading.Event(), threading.Event(), idle_seconds=settings.relay_idle_seconds)


if __name__ == "__main__":
    main()
