"""The declarative base of the whistle service's tables (SQLAlchemy 2, typed), with the kit's naming rule."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from kit.orm import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
