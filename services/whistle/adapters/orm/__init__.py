"""The whistle service's tables, one module per topic on one declarative base; importing this package loads
every table module, so the metadata (and Alembic) knows them all."""

from whistle.adapters.orm import assessment, catalogue, departments, whistles
from whistle.adapters.orm.base import Base

__all__ = ["Base", "assessment", "catalogue", "departments", "whistles"]
