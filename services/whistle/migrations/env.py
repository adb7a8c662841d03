"""Alembic environment of the whistle service: its own tables and the kit's (outbox, inbox, ...)
and the delivery log of its notifications (kit_deliveries)."""

from kit.migrate import run_env
from kit.orm import DeliveryLogBase, KitBase
from whistle.adapters.orm.base import Base

run_env([Base.metadata, KitBase.metadata, DeliveryLogBase.metadata])
