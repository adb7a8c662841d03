"""Identifiers: every record's id is a UUID, and a path argument that is not one is simply not found."""

from __future__ import annotations

import uuid


def is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return False
    return True
