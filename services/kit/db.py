"""Engines and sessions: SQLite (WAL, writers serialised by a green lock) or PostgreSQL (psycopg2, green).

Database drivers block eventlet's hub. On PostgreSQL the runner applies psycogreen's patch so queries yield;
on SQLite every writing unit of work takes a process-wide lock (green once eventlet patches `threading`) and
opens `BEGIN IMMEDIATE`, so one worker waiting on SQLite's file lock never stalls the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError


class Database:
    """One service's database: an engine, a session factory and, on SQLite, the writers' lock."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = _sqlite_engine(url, echo) if self.is_sqlite else _postgres_engine(url, pool_size, echo)
        self._write_engine = self.engine.execution_options(kit_write=True)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=True)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False, autoflush=True)
        self._write_lock = threading.RLock()

    @property
    def is_postgres(self) -> bool:
        return not self.is_sqlite

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        """A session; the caller commits. Writers on SQLite hold the lock for the whole transaction."""
        if write and self.is_sqlite:
            with self._write_lock, self._write_sessions() as session:
                yield session
        else:
            factory = self._write_sessions if write else self._sessions
            with factory() as session:
                yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def flush_or(session: Session, conflict: Exception) -> None:
    """Flush; a concurrent twin that won a race on a unique key (or a row version) becomes `conflict`, the
    domain's own error, instead of a bare database error. The session must then be rolled back."""
    try:
        session.flush()
    except (IntegrityError, StaleDataError):
        raise conflict from None


def _sqlite_engine(url: str, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours (SQLAlchemy's documented recipe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("kit_write") else "BEGIN")

    return engine


def _postgres_engine(url: str, pool_size: int, echo: bool) -> Engine:
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
