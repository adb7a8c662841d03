"""What body each route takes, in one registry. Every route takes JSON (or no body) up to the gateway's
MAX_CONTENT_LENGTH (1 MiB by default); a route that takes another media type (a roster upload's
multipart/form-data, Open311's form-encoded POST) or needs another size (photos in base64) says so where it is
defined, with `@accepts(blp, media_type, ..., max_bytes=...)`, and nowhere else. The gateway's before-request
hook (`app._bodies_as_registered`) applies it: a body of a media type the route does not take is 415, one
over the route's size 413, both problem+json, before any schema or RPC."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

JSON = "application/json"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Body:
    media_types: frozenset[str] = frozenset({JSON})
    max_bytes: int | None = None  # None: the gateway's MAX_CONTENT_LENGTH


DEFAULT = Body()
_RULES: dict[str, Body] = {}


def accepts(blueprint: Any, *media_types: str, max_bytes: int | None = None) -> Callable[[F], F]:
    """Register what the decorated view of `blueprint` takes besides JSON, and its own size limit. Apply it
    below the blueprint's route decorator (it reads the view's name, which is its endpoint's last part)."""

    def register(view: F) -> F:
        endpoint = f"{blueprint.name}.{view.__name__}"
        if endpoint in _RULES:
            raise ValueError(f"{endpoint} registered twice")
        _RULES[endpoint] = Body(frozenset({JSON, *media_types}), max_bytes)
        return view

    return register


def rule_for(endpoint: str | None) -> Body:
    return _RULES.get(endpoint or "", DEFAULT)


def registered() -> dict[str, Body]:
    """Every route with a rule of its own (the API document lists them, and so can a test)."""
    return dict(_RULES)
