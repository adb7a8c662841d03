"""The organization service's tables, one module per topic on one declarative base; importing this package
loads every table module, so the metadata (and Alembic) knows them all."""

from organization.adapters.orm import accounts, engagement, four_lists, members, modules, tree
from organization.adapters.orm.base import Base

__all__ = ["Base", "accounts", "engagement", "four_lists", "members", "modules", "tree"]
