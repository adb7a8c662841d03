"""What the gateway refuses of any request before a schema sees it, the same on every route: JSON nested deeper
than MAX_DEPTH (Python's parser and every schema recurse), text that is not Unicode (a lone surrogate such as
"\\ud800" parses from JSON but breaks every encoder after it: logs, RPC, the database), and NUL characters,
which no field of the suite holds and PostgreSQL cannot store. Each answers 400 problem+json and changes
nothing."""

from __future__ import annotations

import re
from typing import Any

from flask import request

from kit.errors import ServiceError

MAX_DEPTH = 32
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _refuse(code: str, detail: str) -> ServiceError:
    return ServiceError("bad_request", code, detail)


def check_request(json_body: bool) -> None:
    for key, value in request.args.items(multi=True):
        if _NOT_TEXT.search(key) or _NOT_TEXT.search(value):
            raise _refuse("QUERY_TEXT_INVALID", "the query holds a NUL character or text that is not Unicode")
    if not json_body:
        return
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body, deep = None, True
    else:
        deep = False
    if deep or _too_deep_or_not_text(body):
        raise _refuse(
            "BODY_TEXT_INVALID",
            f"the body nests deeper than {MAX_DEPTH} or holds a NUL character or text that is not Unicode",
        )


def _too_deep_or_not_text(value: Any) -> bool:
    """Walked without recursion, so no body can exhaust the stack here."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _NOT_TEXT.search(item):
                return True
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return True
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and _NOT_TEXT.search(key):
                    return True
                pending.append((child, depth + 1))
    return False
