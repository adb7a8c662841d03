"""Running the suite's real parts from tests and benchmarks: processes, private RabbitMQ virtual hosts,
polling with a deadline. No pytest here (kit.testing wraps these as fixtures)."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import amqp
import requests

from kit.amqp import open_connection
from kit.config import DEFAULT_AMQP_URI, repo_root

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.05, what: str = "") -> T:
    """Poll until `predicate` returns something truthy; fail with `what` when the deadline passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except AssertionError:
            raise
        except Exception as exc:  # a service still starting refuses connections
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- RabbitMQ ------------------------------------------------------------------------------------------
def _with_vhost(uri: str, vhost: str) -> str:
    parsed = urllib.parse.urlparse(uri)
    return urllib.parse.urlunparse(parsed._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def _rabbitmqctl_path() -> str | None:
    return shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl" if Path("/usr/sbin/rabbitmqctl").exists() else None)


def rabbitmqctl(*args: str) -> bool:
    """Run the local broker's control tool; whether it succeeded (False when there is none)."""
    exe = _rabbitmqctl_path()
    if exe is None:
        return False
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=False)
    return done.returncode == 0


def _management(method: str, path: str, uri: str, body: dict[str, str] | None = None) -> bool:
    parsed = urllib.parse.urlparse(uri)
    port = int(os.environ.get("RABBITMQ_MANAGEMENT_PORT", "15672"))
    try:
        response = requests.request(
            method,
            f"http://{parsed.hostname}:{port}/api/{path}",
            auth=(parsed.username or "guest", parsed.password or "guest"),
            json=body if body is not None else ({} if method == "PUT" else None),
            timeout=5,
        )
    except requests.RequestException:
        return False
    return response.status_code < 300


# Each rabbitmqctl call starts an Erlang VM (about half a second of CPU); the management plugin's HTTP API
# answers in milliseconds. So the API is used when it answers, the CLI otherwise, and the CLI deletes
# virtual hosts in the background (a test need not wait for its leftovers to go; they go before exit).
_DELETIONS: list[subprocess.Popen[bytes]] = []
_WARNED = False


def _wait_for_deletions() -> None:
    while _DELETIONS:
        with contextlib.suppress(subprocess.TimeoutExpired):
            _DELETIONS.pop().wait(timeout=60)


atexit.register(_wait_for_deletions)


def create_vhost(uri: str, vhost: str) -> bool:
    user = urllib.parse.urlparse(uri).username or "guest"
    quoted = urllib.parse.quote(vhost, safe="")
    if _management("PUT", f"vhosts/{quoted}", uri):
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        return _management("PUT", f"permissions/{quoted}/{urllib.parse.quote(user)}", uri, everything)
    global _WARNED
    if not _WARNED:
        _WARNED = True
        warnings.warn(
            "RabbitMQ's management API does not answer: virtual hosts are made with rabbitmqctl (about a second "
            "each); `rabbitmq-plugins enable rabbitmq_management` makes the tests faster",
            stacklevel=2,
        )
    return rabbitmqctl("add_vhost", vhost) and rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")


def delete_vhost(uri: str, vhost: str) -> None:
    if _management("DELETE", f"vhosts/{urllib.parse.quote(vhost, safe='')}", uri):
        return
    exe = _rabbitmqctl_path()
    if exe is not None:
        _DELETIONS[:] = [p for p in _DELETIONS if p.poll() is None]
        devnull = subprocess.DEVNULL
        _DELETIONS.append(subprocess.Popen([exe, "delete_vhost", vhost], stdout=devnull, stderr=devnull))


@contextlib.contextmanager
def private_vhost() -> Iterator[str]:
    """A private virtual host on the real broker at AMQP_URI, deleted afterwards."""
    base = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    try:
        open_connection(base).close()
    except Exception as exc:
        raise RuntimeError(
            f"RabbitMQ is not reachable at {base} ({exc}); `make test` starts it, or set AMQP_URI"
        ) from exc
    vhost = f"guandu-test-{uuid.uuid4().hex[:8]}"
    if not create_vhost(base, vhost):
        raise RuntimeError(
            "cannot create a RabbitMQ virtual host: run as a user allowed to use rabbitmqctl, "
            "or enable the management plugin (rabbitmq-plugins enable rabbitmq_management)"
        )
    try:
        yield _with_vhost(base, vhost)
    finally:
        delete_vhost(base, vhost)


@contextlib.contextmanager
def broker_user(uri: str, username: str, permissions: Mapping[str, str]) -> Iterator[str]:
    """A broker user with `permissions` (configure/write/read regexes) on `uri`'s virtual host, made through
    the management API and deleted afterwards; its AMQP URI (a department system's view of the broker)."""
    parsed = urllib.parse.urlparse(uri)
    vhost = urllib.parse.unquote(parsed.path[1:]) or "/"
    password = uuid.uuid4().hex
    user = urllib.parse.quote(username, safe="")
    if not _management("PUT", f"users/{user}", uri, {"password": password, "tags": ""}):
        raise RuntimeError(f"cannot create the broker user {username}: is the management API on?")
    try:
        if not _management("PUT", f"permissions/{urllib.parse.quote(vhost, safe='')}/{user}", uri, dict(permissions)):
            raise RuntimeError(f"cannot give {username} its permissions on {vhost}")
        host = f"{parsed.hostname}:{parsed.port or 5672}"
        yield urllib.parse.urlunparse(parsed._replace(netloc=f"{user}:{password}@{host}"))
    finally:
        _management("DELETE", f"users/{user}", uri)


def queue_depth(uri: str, queue: str) -> int | None:
    """Messages ready in a queue (None when it does not exist), read without consuming."""
    conn = open_connection(uri)
    try:
        try:
            _, messages, _ = conn.channel().queue_declare(queue, passive=True)
        except amqp.exceptions.NotFound:
            return None
        return int(messages)
    finally:
        conn.close()


class Subscriber:
    """A test subscriber: its own queue bound to an exchange, reading the JSON bodies that arrive."""

    def __init__(self, uri: str, exchange: str, keys: list[str]) -> None:
        self.conn = open_connection(uri)
        self.channel = self.conn.channel()
        self.channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        self.queue = f"test-subscriber-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.queue, durable=False, exclusive=True, auto_delete=True)
        for key in keys:
            self.channel.queue_bind(self.queue, exchange, key)
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while (message := self.channel.basic_get(self.queue, no_ack=True)) is not None:
            self.received.append(json.loads(message.body))
        return self.received

    def wait_for_count(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.drain()) >= count, timeout=timeout, what=f"{count} messages on {self.queue}")
        return self.received

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


# -- processes -----------------------------------------------------------------------------------------
class Process:
    """A real process of the suite (a service, the gateway, a relay), with its log kept for the report."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        handle = self.log_path.open("ab")
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=handle, stderr=subprocess.STDOUT, cwd=repo_root())
        handle.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye, as a crash would be."""
        if self.popen is not None and self.alive:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None or not self.alive:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def service_process(service: str, *, amqp_uri: str, database_url: str, log_dir: Path, **env: str) -> Process:
    port = env.pop("METRICS_PORT", None) or str(free_port())
    process = Process(
        service,
        [sys.executable, "-m", "kit.runner", service],
        {"AMQP_URI": amqp_uri, f"{service.upper()}_DATABASE_URL": database_url, "METRICS_PORT": port, **env},
        log_dir,
    )
    process.metrics_port = int(port)  # type: ignore[attr-defined]
    return process


def wait_ready(url: str, process: Process, timeout: float = 60.0) -> None:
    def ready() -> bool:
        if not process.alive:
            raise AssertionError(f"{process.name} exited:\n{process.log_tail()}")
        return requests.get(url, timeout=2).status_code == 200

    try:
        wait_for(ready, timeout=timeout, interval=0.2, what=f"{process.name} ready at {url}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- {process.name} log ---\n{process.log_tail()}") from None


SERVICES = ("organization", "whistle")  # in start order: whistle asks organization to replay its events


class Suite:
    """The suite as real processes for end-to-end tests and benchmarks: services (SQLite files in `workdir`),
    the demo data, and the gateway under gunicorn, all on one RabbitMQ virtual host."""

    def __init__(self, workdir: Path, amqp_uri: str, *, services: tuple[str, ...] = SERVICES, **env: str):
        self.workdir = workdir
        self.services = services
        self.gateway_port = free_port()
        self.env: dict[str, str] = {
            "AMQP_URI": amqp_uri,
            "GUANDU_VAR_DIR": str(workdir),
            "GATEWAY_PORT": str(self.gateway_port),
            "JWT_KEYS": f"suite:{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "DEMO_PASSWORD": env.pop("DEMO_PASSWORD", "Guandu@2026"),
            # 400 whistles (the year's 8,325 take minutes): none where organization loads none
            "WHISTLE_DEMO_RECORDS": env.pop(
                "WHISTLE_DEMO_RECORDS", "none" if env.get("DEMO_RECORDS") == "none" else "small"
            ),
            # Rate-limit counters of this suite only: suites run one after another within a minute, and with
            # REDIS_URL set (CI) they would otherwise share one count per username and address.
            "RATE_LIMIT_KEY_PREFIX": env.pop("RATE_LIMIT_KEY_PREFIX", f"suite-{uuid.uuid4().hex}"),
            **{f"{s.upper()}_DATABASE_URL": f"sqlite:///{workdir / (s + '.db')}" for s in services},
            **env,
        }
        self.processes: dict[str, Process] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def load_demo(self) -> None:
        for service in self.services:
            if importlib.util.find_spec(f"{service}.demo") is None:
                continue  # a service without demo data starts empty (and migrates itself)
            subprocess.run(
                [sys.executable, "-m", f"{service}.demo"],
                env={**os.environ, **self.env},
                cwd=repo_root(),
                check=True,
                capture_output=True,
            )

    def start_service(self, service: str, **env: str) -> Process:
        process = service_process(
            service,
            amqp_uri=self.env["AMQP_URI"],
            database_url=self.env[f"{service.upper()}_DATABASE_URL"],
            log_dir=self.workdir,
            **{**self.env, **env},
        )
        self.processes[service] = process.start()
        wait_ready(f"http://127.0.0.1:{process.metrics_port}/readyz", process)  # type: ignore[attr-defined]
        return process

    def start_gateway(self, **env: str) -> Process:
        metrics_port = env.pop("METRICS_PORT", None) or str(free_port())
        process = Process(
            "gateway",
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                "gateway/gunicorn.conf.py",
                "gateway.app:create_app()",
            ],
            # the gateway alone runs prometheus-client in multiprocess mode, in a directory of its own
            {
                **self.env,
                "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "prometheus-gateway"),
                "METRICS_PORT": metrics_port,
                **env,
            },
            self.workdir,
        )
        process.metrics_port = int(metrics_port)  # type: ignore[attr-defined]
        self.processes["gateway"] = process.start()
        wait_ready(f"{self.base_url}/healthz", process)
        return process

    def start(self) -> Suite:
        self.load_demo()
        for service in self.services:
            self.start_service(service)
        self.start_gateway()
        wait_for(
            lambda: requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200,
            timeout=30,
            what="the gateway's readiness",
        )
        return self

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def token(self, username: str, password: str | None = None) -> str:
        response = requests.post(
            f"{self.base_url}/api/v1/auth/token",
            timeout=10,
            json={"username": username, "password": password or self.env["DEMO_PASSWORD"]},
        )
        response.raise_for_status()
        return str(response.json()["access_token"])
