"""Test fixtures every service shares (a pytest plugin: `pytest_plugins = ["kit.testing"]`).

Integration and end-to-end tests run against real RabbitMQ and real databases: each test session gets its
own RabbitMQ virtual host (so a suite running on the same broker is never disturbed) and PostgreSQL tests
get a fresh database. Nothing here sleeps to wait for a message: `wait_for` polls with a deadline.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy import delete as delete_rows

from kit.audit import drop_audit_guard, install_audit_guard
from kit.config import Settings
from kit.harness import (
    SERVICES,
    Process,
    Subscriber,
    Suite,
    broker_user,
    free_port,
    private_vhost,
    queue_depth,
    service_process,
    wait_for,
    wait_ready,
)
from kit.orm import AuditEntry

__all__ = [  # the fixtures are found by pytest; these helpers are re-exported for tests to import from here
    "SMTP_TEST_LOGIN",
    "Mailbox",
    "Process",
    "Subscriber",
    "broker_user",
    "free_port",
    "make_settings",
    "postgres_database",
    "private_vhost",
    "queue_depth",
    "service_process",
    "tamper_with_audit_entry",
    "unavailable",
    "wait_for",
    "wait_ready",
]

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# -- RabbitMQ ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _vhost_or_fail() -> Iterator[str]:
    try:
        cm = private_vhost()
        uri = cm.__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield uri
    finally:
        cm.__exit__(None, None, None)


@contextlib.contextmanager
def running_suite(workdir: Path, **env: str) -> Iterator[Suite]:
    """The suite as real processes on a private virtual host (kit.harness.Suite), started, and stopped after."""
    with _vhost_or_fail() as uri:
        running = Suite(workdir, uri, services=SERVICES, **env)
        try:
            yield running.start()
        finally:
            running.stop()


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A fresh virtual host per test: queues, their types and their leftovers never leak between tests."""
    with _vhost_or_fail() as uri:
        yield uri


@pytest.fixture(scope="module")
def module_amqp_uri() -> Iterator[str]:
    """One virtual host for a module whose tests share running processes (end-to-end suites)."""
    with _vhost_or_fail() as uri:
        yield uri


# -- databases -----------------------------------------------------------------------------------------
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


def unavailable(message: str) -> NoReturn:
    """A real part a test needs is missing: skipped on a developer's machine, a failure under CI=true, where
    every test must run."""
    if IN_CI:
        pytest.fail(message + " (CI=true: this test must run)")
    pytest.skip(message)


def _postgres_or_skip() -> None:
    problem = _postgres_reachable()
    if problem is not None:
        unavailable(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {problem}")


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skipped (failed under CI=true) when unreachable."""
    _postgres_or_skip()
    name = f"guandu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _postgres_url(name)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Each test that takes this (or `database_url`) runs twice: on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL database."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with postgres_database() as url:
            yield url


_TEMPLATES: dict[tuple[str, str], str] = {}


def seeded_database(kind: str, key: str, build: Callable[[str], None], workdir: Path) -> Iterator[str]:
    """A fresh database of `kind` holding what `build(url)` puts in it, built once per test session and
    copied for each test (an SQLite file copy; PostgreSQL's `CREATE DATABASE ... TEMPLATE`), so a test gets
    a migrated, seeded database in milliseconds and may change it freely."""
    if kind == "sqlite":
        template = _TEMPLATES.get((kind, key))
        if template is None:
            template = str(workdir.parent / f"template-{key}-{uuid.uuid4().hex[:8]}.db")
            build(f"sqlite:///{template}")  # build disposes its engines: the WAL is checkpointed into the file
            _TEMPLATES[(kind, key)] = template
        copy = workdir / f"{key}.db"
        shutil.copyfile(template, copy)
        yield f"sqlite:///{copy}"
        return
    _postgres_or_skip()
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        template = _TEMPLATES.get((kind, key))
        if template is None:
            template = f"guandu_tmpl_{key}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{template}"'))
            build(_postgres_url(template))
            _TEMPLATES[(kind, key)] = template
        name = f"guandu_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        try:
            yield _postgres_url(name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def drop_templates() -> None:
    """Drop the PostgreSQL templates this session built (SQLite templates live in pytest's tmp dirs)."""
    names = [name for (kind, _), name in _TEMPLATES.items() if kind == "postgres"]
    if not names or _postgres_reachable() is not None:
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_templates()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL does (SKIP LOCKED, several replicas)."""
    with postgres_database() as url:
        yield url


def tamper_with_audit_entry(
    url: str, subject_type: str, subject_id: str, seq: int, *, delete: bool = False, **changes: Any
) -> None:
    """Do to the trail what the triggers exist to stop, as someone covering their tracks would: drop the
    guard, change one entry's columns (by default its data) or delete it, and put the guard back. For the
    tests that show verification naming the entry (`kit.audit.verify_subject_chain`)."""
    entry = (AuditEntry.subject_type == subject_type) & (AuditEntry.subject_id == subject_id) & (AuditEntry.seq == seq)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            drop_audit_guard(conn)
            if delete:
                done = conn.execute(delete_rows(AuditEntry).where(entry))
            else:
                done = conn.execute(update(AuditEntry).where(entry).values(changes or {"data": '{"tampered":true}'}))
            assert done.rowcount == 1, f"no audit entry {subject_type}/{subject_id} #{seq}"
            install_audit_guard(conn)
    finally:
        engine.dispose()


def make_settings(service: str, *, amqp_uri: str, database_url: str, **overrides: Any) -> Settings:
    env = {"AMQP_URI": amqp_uri, f"{service.upper()}_DATABASE_URL": database_url, "METRICS_PORT": "0"}
    settings = Settings.from_env(service, env)
    return replace(settings, **overrides)


# -- processes -----------------------------------------------------------------------------------------
# -- nameko containers in the test process -------------------------------------------------------------
@pytest.fixture
def container_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """nameko containers built from kit settings; killed at the end of the test.

    A container's kill waits for its consume loop to notice, and kombu's loop looks up from the socket only
    once a second when no message comes: here it looks every 50 ms, so that a test does not spend a second
    ending each container it started."""
    from kombu.mixins import ConsumerMixin
    from nameko.containers import ServiceContainer
    from nameko.messaging import QueueConsumer

    monkeypatch.setattr(QueueConsumer, "consume", functools.partialmethod(ConsumerMixin.consume, safety_interval=0.05))

    containers: list[Any] = []

    def make(service_cls: type, settings: Settings) -> Any:
        container = ServiceContainer(service_cls, settings.nameko_config())
        containers.append(container)
        return container

    yield make
    for container in containers:
        with contextlib.suppress(Exception):
            container.kill()


# -- local servers for kit.notify and kit.blobs ----------------------------------------------------------
class Mailbox:
    """What the test SMTP server received. It accepts the login `SMTP_TEST_LOGIN` (without TLS) and refuses
    every recipient whose address starts with `nobody@` (550)."""

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.ca_file: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


SMTP_TEST_LOGIN = ("guandu", "guandu-test-password")


def _smtp_authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    login = (auth_data.login, auth_data.password) if isinstance(auth_data, LoginPassword) else None
    return AuthResult(success=login == tuple(part.encode() for part in SMTP_TEST_LOGIN))


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free local port, for the duration of one test."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(free_port())  # aiosmtpd's Controller cannot take port 0
    controller = Controller(
        mailbox, hostname=mailbox.host, port=mailbox.port, authenticator=_smtp_authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    import ipaddress
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from kit.clock import SystemClock

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = SystemClock().now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def starttls_smtp_server(tmp_path: Path) -> Iterator[Mailbox]:
    """Like `smtp_server`, but STARTTLS is required before anything else (login included), with a self-signed
    certificate for 127.0.0.1 whose PEM file is `mailbox.ca_file`."""
    import ssl

    from aiosmtpd.controller import Controller

    cert_file, key_file = _self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox = Mailbox(free_port())
    mailbox.ca_file = str(cert_file)
    controller = Controller(
        mailbox,
        hostname=mailbox.host,
        port=mailbox.port,
        authenticator=_smtp_authenticate,
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """The URL of a real S3-compatible server (moto's, in a thread) on a free local port: any access key is
    accepted, buckets are created by the test."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# -- a local HTTP server (a robot webhook, an SMS gateway) -----------------------------------------------------
class JsonHandler(BaseHTTPRequestHandler):
    """A handler of a test's local HTTP server that answers JSON and logs nothing; subclass it with `do_POST`."""

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on a free local port in a thread while the block runs; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
