"""The whistle service's Alembic history builds exactly the tables the models describe, on SQLite and
PostgreSQL, with the shipped catalogue as version 1; and steps back down to nothing."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from kit.migrate import downgrade, upgrade
from kit.orm import DeliveryLogBase, KitBase
from whistle.adapters.orm.base import Base


def test_migrations_match_the_models_and_load_the_catalogue(database_url):
    upgrade("whistle", database_url)
    upgrade("whistle", database_url)  # a second run is a no-op
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert (
                compare_metadata(
                    MigrationContext.configure(conn), [Base.metadata, KitBase.metadata, DeliveryLogBase.metadata]
                )
                == []
            )
            rows = conn.execute(text("SELECT version, effective_from FROM catalogue_versions")).all()
            assert [(v, str(day)) for v, day in rows] == [(1, "2025-01-01")]
        downgrade("whistle", database_url, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
