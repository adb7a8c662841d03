"""Alembic environment of the whistle service: its own tables and the kit's (outbox, inbox, ...)."""

from kit.migrate import run_env
from kit.orm import KitBase
from whistle.adapters.orm.base import Base

run_env([Base.metadata, KitBase.metadata])
