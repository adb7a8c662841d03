"""Configuration read from the environment, once, into a typed settings object per service."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
# The streets of Guandu District (routing-key codes). `district` is the key of district-wide records.
GUANDU_STREETS = ("guanshang", "jinma", "xiaobanqiao", "yiliu", "taihe", "wujing", "liujia", "guandu")
DISTRICT = "district"
DEFAULT_METRICS_PORTS = {"organization": 9101, "patrol": 9102, "whistle": 9103, "scoring": 9104}


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def var_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("GUANDU_VAR_DIR", str(repo_root() / "var")))


def dev_secret(path: Path) -> str:
    """A development secret (a signing or encryption key) kept in `var/`: made once, then read by every
    process. Production sets the key in the environment instead; `var/` is never committed.

    The key is written to a temporary file and hard-linked into place, which fails if another process got
    there first: every process ends up reading the same key, never a half-written one.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        with os.fdopen(os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(scratch, path)
        scratch.unlink()
    return path.read_text().strip()


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class StreetSet:
    """The streets one deployment serves and the label its queues carry.

    `STREETS` unset (or `shared`) is the shared deployment: every known street that no dedicated deployment
    claims (`DEDICATED_STREETS`) plus `district`. Otherwise it is the explicit list.
    """

    streets: tuple[str, ...]
    label: str
    known: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StreetSet:
        known = (*_csv(env.get("KNOWN_STREETS", ",".join(GUANDU_STREETS))), DISTRICT)
        wanted = env.get("STREETS", "shared").strip() or "shared"
        if wanted == "shared":
            claimed = set(_csv(env.get("DEDICATED_STREETS", "")))
            return cls(tuple(s for s in known if s not in claimed), "shared", known)
        streets = tuple(sorted(set(_csv(wanted))))
        unknown = [s for s in streets if s not in known]
        if unknown:
            raise ValueError(f"STREETS names unknown streets: {unknown}")
        return cls(streets, "+".join(streets), known)


@dataclass(frozen=True)
class Settings:
    service: str
    amqp_uri: str
    database_url: str
    metrics_port: int
    streets: StreetSet
    queue_type: str = "classic"
    handler_max_attempts: int = 5
    handler_backoff_ms: tuple[int, ...] = (1000, 5000, 30000, 120000)
    outbox_retention_days: int = 400
    relay_batch_size: int = 200
    relay_idle_seconds: float = 0.5
    rpc_max_workers: int = 10
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        key = service.upper()
        default_db = f"sqlite:///{var_dir(env) / f'{service}.db'}"
        queue_type = env.get("QUEUE_TYPE", "classic")
        if queue_type not in ("classic", "quorum"):
            raise ValueError("QUEUE_TYPE must be classic or quorum")
        backoff = tuple(int(x) for x in _csv(env.get("HANDLER_BACKOFF_MS", "1000,5000,30000,120000")))
        return cls(
            service=service,
            amqp_uri=env.get("AMQP_URI", DEFAULT_AMQP_URI),
            database_url=env.get(f"{key}_DATABASE_URL", default_db),
            metrics_port=int(env.get("METRICS_PORT", DEFAULT_METRICS_PORTS.get(service, 9100))),
            streets=StreetSet.from_env(env),
            queue_type=queue_type,
            handler_max_attempts=int(env.get("HANDLER_MAX_ATTEMPTS", "5")),
            handler_backoff_ms=backoff or (1000,),
            outbox_retention_days=int(env.get("OUTBOX_RETENTION_DAYS", "400")),
            relay_batch_size=int(env.get("RELAY_BATCH_SIZE", "200")),
            relay_idle_seconds=float(env.get("RELAY_IDLE_SECONDS", "0.5")),
            rpc_max_workers=int(env.get("MAX_WORKERS", "10")),
            extra=dict(env),
        )

    def nameko_config(self) -> dict[str, object]:
        """The dict nameko's containers read (plus the kit's own keys under `GUANDU`)."""
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.rpc_max_workers,
            "serializer": "json",
            "ACCEPT": ["json", "cloudevents"],
            "HEARTBEAT": 30,
            "GUANDU": self,
        }
