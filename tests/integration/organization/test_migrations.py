"""The Alembic history builds exactly the tables the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from kit.migrate import upgrade
from kit.orm import KitBase
from organization.adapters.orm import Base


def test_migrations_match_the_models(database_url):
    upgrade("organization", database_url)
    upgrade("organization", database_url)  # a second run is a no-op
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), [Base.metadata, KitBase.metadata])
    engine.dispose()
    assert diff == []
