"""Column types every service uses, and the kit's own tables: outbox, inbox, idempotency keys, audit trail,
and the delivery log of the services that notify people (`kit.notify`).

The kit's tables live in each service's database (each service's Alembic history creates them), because
the state change, its events, its inbox entry and its idempotency record commit in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An integer primary key that is BIGINT on PostgreSQL and SQLite's rowid alias on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware datetime (SQLite would hand back a naive one)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored in UTC and must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        when: datetime = value
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class KitBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OutboxRow(KitBase):
    """One copy of one event to publish: (exchange, routing key, body). Kept after sending, for replay."""

    __tablename__ = "kit_outbox"
    __table_args__ = (
        Index(
            "ix_kit_outbox_unsent",
            "seq",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
        Index("ix_kit_outbox_occurred_at", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    exchange: Mapped[str] = mapped_column(String(80))
    routing_key: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class InboxEntry(KitBase):
    """An event a handler has applied; its primary key makes a second application impossible."""

    __tablename__ = "kit_inbox"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyRecord(KitBase):
    """The result of a state-changing command, under the caller's idempotency key."""

    __tablename__ = "kit_idempotency"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    command: Mapped[str] = mapped_column(String(80))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class AuditEntry(KitBase):
    """One entry of the append-only trail. Each subject (`subject_type`, `subject_id`) has its own hash chain:
    `seq` numbers its entries 1, 2, 3 ... and `hash` covers the entry and the previous entry's hash (kit.audit).
    `id` is the order of writing across subjects. Triggers refuse UPDATE and DELETE (`audit_guard_ddl`)."""

    __tablename__ = "kit_audit"
    # Also the index every chain read uses; a second writer racing on a chain fails here instead of forking it.
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "seq", name="uq_kit_audit_subject_seq"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_account_id: Mapped[str | None] = mapped_column(String(64))  # a department system is <code>.system
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DeliveryLogBase(DeclarativeBase):
    """The delivery log has its own metadata: only a service that sends notifications carries the table (its
    `migrations/env.py` passes `DeliveryLogBase.metadata` to `run_env` beside `KitBase.metadata`)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DeliveryRow(DeliveryLogBase):
    """One notification to one address on one channel for one event, and how its sending went.

    Unique per (event, channel, address), so a handler's retry finds what was already sent and sends only the
    rest. The address is kept masked (a phone number, a robot's secret key) beside a digest of it.
    """

    __tablename__ = "kit_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel", "address_digest", name="uq_kit_deliveries_target"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    address_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


AUDIT_GUARD_MESSAGE = "kit_audit is append-only"


def audit_guard_ddl(dialect: str) -> list[str]:
    """The statements that make `kit_audit` refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).

    A service's migration runs them (`kit.audit.install_audit_guard`); `metadata.create_all` runs them too.
    On SQLite a table rebuild (Alembic's batch mode) drops its triggers: a migration that rebuilds
    `kit_audit` installs the guard again afterwards.
    """
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER kit_audit_no_{op.lower()} BEFORE {op} ON kit_audit "
            f"BEGIN SELECT RAISE(ABORT, '{AUDIT_GUARD_MESSAGE}: {op} refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            # No "%" (a driver given parameters would read it as a placeholder) and no ":name" (SQLAlchemy's).
            "CREATE OR REPLACE FUNCTION kit_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION USING MESSAGE = '{AUDIT_GUARD_MESSAGE}: ' || TG_OP || ' refused'; END $$",
            "CREATE TRIGGER kit_audit_append_only BEFORE UPDATE OR DELETE ON kit_audit "
            "FOR EACH ROW EXECUTE FUNCTION kit_audit_append_only()",
            "CREATE TRIGGER kit_audit_no_truncate BEFORE TRUNCATE ON kit_audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION kit_audit_append_only()",
        ]
    raise ValueError(f"no audit guard for dialect {dialect!r}")


def audit_guard_drop_ddl(dialect: str) -> list[str]:
    """The statements that remove the guard again (a migration's downgrade; the tamper tests)."""
    if dialect == "sqlite":
        return ["DROP TRIGGER IF EXISTS kit_audit_no_update", "DROP TRIGGER IF EXISTS kit_audit_no_delete"]
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS kit_audit_append_only ON kit_audit",
            "DROP TRIGGER IF EXISTS kit_audit_no_truncate ON kit_audit",
            "DROP FUNCTION IF EXISTS kit_audit_append_only()",
        ]
    raise ValueError(f"no audit guard for dialect {dialect!r}")


@event.listens_for(AuditEntry.__table__, "after_create")
def _guard_created_table(table: Any, connection: Connection, **_: Any) -> None:
    for statement in audit_guard_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


def under(column: Any, scope_path: str) -> Any:
    """Rows whose path column lies in `scope_path` (a prefix match with LIKE's wildcards escaped): the one
    object-level scope filter of every repository."""
    return column.startswith(scope_path, autoescape=True)


def table_of(model: type[Any]) -> Table:
    """A mapped class's Table, typed as one (SQLAlchemy types `__table__` as any FromClause), for Core
    statements built once and run many times."""
    return cast(Table, model.__table__)
