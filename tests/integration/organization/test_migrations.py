"""The Alembic history builds exactly the tables the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from kit.migrate import DanglingReferences, downgrade, upgrade
from kit.orm import KitBase
from organization.adapters.orm.base import Base


def test_migrations_match_the_models(database_url):
    upgrade("organization", database_url)
    upgrade("organization", database_url)  # a second run is a no-op
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), [Base.metadata, KitBase.metadata])
    engine.dispose()
    assert diff == []


HEAD = "0008"


def test_a_dangling_member_id_stops_the_upgrade_and_changes_nothing(demo_db):
    """0005 adds the members' foreign keys; a database holding an id of no member is refused whole, on SQLite
    by the check run before commit (its rebuild runs with foreign keys off), on PostgreSQL by the constraint."""
    downgrade("organization", demo_db, "0004")
    engine = create_engine(demo_db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET member_id = 'no-such-member' WHERE username = 'district.admin'"))
    with pytest.raises((DanglingReferences, IntegrityError)):
        upgrade("organization", demo_db)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0004"
        assert conn.scalar(text("SELECT member_id FROM accounts WHERE username = 'district.admin'")) == "no-such-member"
        conn.rollback()
    with engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET member_id = NULL WHERE username = 'district.admin'"))
    engine.dispose()
    upgrade("organization", demo_db)
    assert _version(demo_db) == HEAD


def _version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.scalar(text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    return str(version)
