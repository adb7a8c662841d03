"""The unit of work: one transaction holding a change, its events (outbox rows), its audit entries, the inbox
entry of the event that caused it and the idempotency record of the command that asked for it.

It commits inside the handler, before nameko sends the reply or acks the message; the nameko provider that
hands it out only cleans up (rolls back whatever was not committed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.audit import GENESIS_HASH, append_rows, verify_audit_chain
from kit.bulk import insert_many
from kit.canonical import canonical_json, fingerprint
from kit.clock import Clock
from kit.context import CallerContext
from kit.db import Database
from kit.errors import AlreadyHandled, ServiceError
from kit.events import Event, envelope, routes
from kit.orm import AuditEntry, IdempotencyRecord, InboxEntry, OutboxRow

__all__ = [  # the trail's names stay importable from here, where they were first
    "GENESIS_HASH",
    "UnitOfWork",
    "canonical_json",
    "fingerprint",
    "run_command",
    "verify_audit_chain",
]

R = TypeVar("R")
# The idempotency lookup of every command, built once (a command binds values, it builds no SQL).
_RECALL = select(IdempotencyRecord.command, IdempotencyRecord.request_hash, IdempotencyRecord.result).where(
    IdempotencyRecord.scope == bindparam("scope"), IdempotencyRecord.key == bindparam("key")
)


class UnitOfWork:
    def __init__(
        self,
        db: Database,
        *,
        service: str,
        clock: Clock,
        context: CallerContext,
        write: bool = True,
        inbox_consumer: str | None = None,
        event_id: str | None = None,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.service = service
        self.clock = clock
        self.context = context
        self.write = write
        self._inbox = (inbox_consumer, event_id) if inbox_consumer and event_id else None
        self._on_commit = on_commit
        self._events: list[Event] = []
        self._audit: list[dict[str, Any]] = []
        self._remembered: list[dict[str, Any]] = []
        self._session_cm: Any = None
        self._session: Session | None = None
        self.committed = False

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it as a context manager")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session_cm = self.db.session(write=self.write)
        self._session = self._session_cm.__enter__()
        if self._inbox and self.session.get(InboxEntry, self._inbox) is not None:
            self.__exit__(None, None, None)
            raise AlreadyHandled(self._inbox[1])
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self.committed and self._session is not None:
                self._session.rollback()
        finally:
            cm, self._session_cm, self._session = self._session_cm, None, None
            if cm is not None:
                cm.__exit__(exc_type, exc, tb)

    # -- what the change causes ---------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        self._events.append(event)

    def audit(self, action: str, subject_type: str, subject_id: str, data: dict[str, Any]) -> None:
        self._audit.append({"action": action, "subject_type": subject_type, "subject_id": subject_id, "data": data})

    # -- idempotent commands ------------------------------------------------------------------------------
    def recall(self, key: str, command: str, request: Any) -> Any | None:
        """The stored result of this key, None if new; a key reused for another request is refused."""
        record = self.session.execute(_RECALL, {"scope": self._idempotency_scope(), "key": key}).first()
        if record is None:
            return None
        if record.command != command or record.request_hash != fingerprint(request):
            raise ServiceError(
                "invalid",
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was already used for a different request",
            )
        return json.loads(record.result)

    def remember(self, key: str, command: str, request: Any, result: Any) -> None:
        """Store the result under the key, written at commit (a twin's committed key refuses it there)."""
        self._remembered.append(
            {
                "scope": self._idempotency_scope(),
                "key": key,
                "command": command,
                "request_hash": fingerprint(request),
                "result": canonical_json(result),
                "created_at": self.clock.now(),
            }
        )

    def _idempotency_scope(self) -> str:
        return self.context.account_id or self.context.role

    # -- commit -------------------------------------------------------------------------------------------
    def commit(self) -> None:
        session = self.session
        session.flush()
        now = self.clock.now()
        # Core executemany, not ORM objects: a loader's one transaction may hold tens of thousands of each.
        insert_many(session, IdempotencyRecord, self._remembered)
        insert_many(session, OutboxRow, self._outbox_rows(now))
        if self._audit:
            insert_many(session, AuditEntry, self._audit_rows(session, now))
        if self._inbox:
            session.add(InboxEntry(consumer=self._inbox[0], event_id=self._inbox[1], handled_at=now))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            if self._inbox and self._inbox_has_entry():
                raise AlreadyHandled(self._inbox[1]) from None
            raise
        self.committed = True
        self._events.clear()
        self._audit.clear()
        self._remembered.clear()
        if self._on_commit is not None:
            self._on_commit()

    def _inbox_has_entry(self) -> bool:
        assert self._inbox is not None
        with self.db.session(write=False) as fresh:
            return fresh.get(InboxEntry, self._inbox) is not None

    def _outbox_rows(self, now: Any) -> Iterator[dict[str, Any]]:
        for event in self._events:
            env = envelope(event, source_service=self.service, correlation_id=self.context.correlation_id)
            for exchange, routing_key, body in routes(event, env, self.service):
                yield {
                    "event_id": env["id"],
                    "event_type": event.type,
                    "exchange": exchange,
                    "routing_key": routing_key,
                    "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    "occurred_at": event.time,
                    "created_at": now,
                }

    def _audit_rows(self, session: Session, now: Any) -> Iterator[dict[str, Any]]:
        """The entries, each appended to its subject's chain (kit.audit; locked per subject on PostgreSQL,
        while SQLite's writers are serialised anyway)."""
        entries = [
            {
                "occurred_at": now,
                "actor_account_id": self.context.account_id,
                "actor_role": self.context.role,
                "action": entry["action"],
                "subject_type": entry["subject_type"],
                "subject_id": entry["subject_id"],
                "data": canonical_json(entry["data"]),
                "correlation_id": self.context.correlation_id,
            }
            for entry in self._audit
        ]
        return append_rows(session, entries, lock=self.db.is_postgres)


def run_command(
    new_uow: Callable[[], UnitOfWork],
    *,
    key: str,
    command: str,
    request: Any,
    execute: Callable[[UnitOfWork], R],
) -> R:
    """Run a state-changing command once per idempotency key; a repeat returns the stored result.

    The result is stored in the same transaction as the change. When a concurrent twin with the same key
    commits first, the primary key refuses ours and we answer with the twin's result.
    """
    if not key or len(key) > 200:
        raise ServiceError("invalid", "IDEMPOTENCY_KEY_INVALID", "an idempotency key of 1-200 characters is required")
    with new_uow() as uow:
        stored = uow.recall(key, command, request)
        if stored is not None:
            return stored  # type: ignore[no-any-return]
        result = execute(uow)
        uow.remember(key, command, request, result)
        try:
            uow.commit()
        except IntegrityError as exc:
            error = exc
        else:
            return result
    with new_uow() as uow:
        stored = uow.recall(key, command, request)
    if stored is not None:
        return stored  # type: ignore[no-any-return]
    raise ServiceError("conflict", "CONFLICT", "the change conflicts with another one; try again") from error
