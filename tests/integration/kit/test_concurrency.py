"""What several replicas do at once: migrate under a lock, relay without publishing an event twice."""

import subprocess
import sys
import threading
from collections import Counter

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.harness import Subscriber
from kit.migrate import alembic_config
from kit.orm import OutboxRow
from kit.relay import Relay
from kit.uow import UnitOfWork
from tests.integration.kit.support import create_schema, thing

MIGRATE = "from kit.migrate import upgrade; import sys; upgrade('organization', sys.argv[1])"


def test_replicas_starting_together_migrate_once(database_url):
    runs = [subprocess.Popen([sys.executable, "-c", MIGRATE, database_url], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [run.communicate(timeout=120)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    db = Database(database_url)
    with db.engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    db.dispose()
    assert versions == [(ScriptDirectory.from_config(alembic_config("organization", database_url)).get_current_head(),)]


@pytest.mark.postgres
def test_two_relays_on_postgresql_share_the_backlog_without_doubles(amqp_uri, postgres_url):
    """SKIP LOCKED: each relay claims rows the other has not (on SQLite one relay per database is the rule)."""
    create_schema(postgres_url)
    db = Database(postgres_url)
    with UnitOfWork(db, service="producer", clock=SystemClock(), context=CallerContext.system()) as uow:
        for i in range(1500):
            uow.add_event(thing(f"r{i}"))
        uow.commit()
    subscriber = Subscriber(amqp_uri, "producer.events", ["thing.made.#"])
    relays = [Relay(db, amqp_uri, batch_size=50) for _ in range(2)]

    def drain(relay: Relay) -> None:
        while relay.relay_once():
            pass

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    received = subscriber.wait_for_count(1500)
    subscriber.close()
    with db.session(write=False) as session:
        unsent = session.scalars(select(OutboxRow.seq).where(OutboxRow.sent_at.is_(None))).all()
    db.dispose()
    assert unsent == []
    assert sum(r.published_total for r in relays) == 1500
    assert all(r.published_total for r in relays), "both relays should have taken a share"
    assert len(received) == 1500
    assert max(Counter(m["id"] for m in received).values()) == 1
