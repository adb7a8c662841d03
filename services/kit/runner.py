"""Start one service process: `python -m kit.runner organization`.

Patches eventlet first (nothing else may import sockets before it), makes PostgreSQL's driver green,
configures JSON logs, migrates the database under a lock, then runs the nameko container until SIGTERM or
SIGINT, when it stops gracefully (workers finish, unacked messages go back to the broker).
"""

from __future__ import annotations

import os
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko 2.14 needs it: nothing to do

import eventlet  # noqa: E402

eventlet.monkey_patch()
# A service is one process: prometheus-client's multiprocess mode (the gateway's, under gunicorn) is not for it.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

import argparse  # noqa: E402
import importlib  # noqa: E402
import signal  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from kit.config import Settings  # noqa: E402
from kit.logs import configure_logging, get_logger  # noqa: E402
from kit.migrate import upgrade  # noqa: E402
from kit.ops import OpsServer  # noqa: E402

log = get_logger("kit.runner")


def green_postgres() -> None:
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()


def service_class(name: str) -> type:
    module = importlib.import_module(f"{name}.service")
    return getattr(module, f"{name.capitalize()}Service")  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one Guandu service")
    parser.add_argument("service", help="organization, patrol, whistle or scoring")
    parser.add_argument("--no-migrate", action="store_true", help="the database is migrated by a separate Job")
    args = parser.parse_args(argv)
    settings = Settings.from_env(args.service)
    configure_logging(args.service, level=settings.extra.get("LOG_LEVEL", "INFO"))
    green_postgres()
    if not args.no_migrate:
        upgrade(args.service, settings.database_url)
    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(service_class(args.service))

    stop_requested = False
    started = False

    def serving(state: bool) -> None:
        for container in runner.containers:
            for extension in container.extensions:
                if isinstance(extension, OpsServer):
                    extension.serving = state

    def shutdown(*_: object) -> None:
        # Once only: a second runner.stop() while the first is under way never returns, and signals do come
        # twice (honcho signals the process group, and scripts/slot.py forwards the same signal). Not before
        # runner.start() has returned either: a stop racing the extensions' start hangs just the same.
        nonlocal stop_requested
        if not stop_requested:
            stop_requested = True
            serving(False)
            if started:
                eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    started = True
    log.info("service started", service=args.service, streets=list(settings.streets.streets))
    if stop_requested:
        eventlet.spawn(runner.stop)
    else:
        serving(True)
    runner.wait()
    log.info("service stopped", service=args.service)


if __name__ == "__main__":
    main()
