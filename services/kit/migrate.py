"""Alembic per service, run under a lock so replicas starting together migrate once.

PostgreSQL: a session advisory lock. SQLite: an exclusive file lock beside the database file.
Each service's `migrations/env.py` calls `run_env(metadata)`; `upgrade(service, url)` is what start-up
(or a Kubernetes Job) runs.
"""

from __future__ import annotations

import fcntl
import importlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, String, text
from sqlalchemy.engine import Connection, make_url

from kit.db import Database

MIGRATION_LOCK_ID = 727_100_001  # arbitrary, the same in every service; each service has its own database


def alembic_config(service: str, url: str) -> Config:
    package_file = importlib.import_module(service).__file__
    assert package_file is not None
    script_location = str(Path(package_file).parent / "migrations")
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


@contextmanager
def migration_lock(db: Database) -> Iterator[Connection | None]:
    if db.is_sqlite:
        database = make_url(db.url).database
        if not database or database == ":memory:":
            yield None
            return
        lock_path = Path(database + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield None
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        conn.commit()
        try:
            yield conn
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            conn.commit()


def upgrade(service: str, url: str, revision: str = "heads") -> None:
    _migrate(service, url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(service: str, url: str, revision: str) -> None:
    """Step back to `revision` (an operator's tool, and the tests' way to prove a migration keeps data)."""
    _migrate(service, url, lambda cfg: command.downgrade(cfg, revision))


def _migrate(service: str, url: str, run: Callable[[Config], None]) -> None:
    db = Database(url)
    try:
        with migration_lock(db), _one_transaction(db) as conn:
            cfg = alembic_config(service, url)
            cfg.attributes["connection"] = conn
            run(cfg)
    finally:
        db.dispose()


class DanglingReferences(RuntimeError):
    """After a migration on SQLite, rows refer to rows that do not exist; nothing was changed."""


@contextmanager
def _one_transaction(db: Database) -> Iterator[Connection]:
    """The whole upgrade in one transaction. On SQLite a table gains a constraint by being rebuilt, which
    foreign keys that are on would refuse (dropping a referenced table) or silently break, so they are off
    while it runs and checked before it commits (https://www.sqlite.org/lang_altertable.html, "otherwise")."""
    if db.is_postgres:
        with db.engine.begin() as conn:
            yield conn
        return
    with db.engine.connect() as conn:
        sqlite = conn.connection.driver_connection
        assert sqlite is not None
        sqlite.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, or SQLite ignores it
        try:
            with conn.begin():
                yield conn
                dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if dangling:
                    raise DanglingReferences(
                        f"{len(dangling)} rows refer to rows that do not exist, e.g. (table, rowid, refers to): "
                        f"{[tuple(row[:3]) for row in dangling[:5]]}; fix them and start again"
                    )
        finally:
            sqlite.execute("PRAGMA foreign_keys=ON")


def run_env(metadata: Sequence[MetaData]) -> None:
    """The body of every service's `migrations/env.py` (online mode only: we always have a database)."""
    cfg = context.config
    conn = cfg.attributes.get("connection")
    if conn is None:
        db = Database(cfg.get_main_option("sqlalchemy.url") or "")
        with db.engine.begin() as own:
            _run(own, metadata)
        db.dispose()
    else:
        _run(conn, metadata)


def _run(conn: Connection, metadata: Sequence[MetaData]) -> None:
    context.configure(
        connection=conn,
        target_metadata=list(metadata),
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def resize_audit_actor(op: Any, length: int, was: int) -> None:
    """A migration's step (`op` is alembic's): `kit_audit.actor_account_id` as String(length), the trail's guard
    triggers dropped and put back around it (on SQLite the batch rebuilds the table, which loses them)."""
    from kit.audit import drop_audit_guard, install_audit_guard

    bind = op.get_bind()
    drop_audit_guard(bind)
    with op.batch_alter_table("kit_audit") as batch:
        batch.alter_column("actor_account_id", type_=String(length), existing_type=String(was))
    install_audit_guard(bind)
