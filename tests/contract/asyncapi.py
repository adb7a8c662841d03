"""The AsyncAPI document and its checks: the document against the official AsyncAPI 3.0.0 JSON Schema
(fetched once, pinned by version and sha512, from the npm registry's @asyncapi/specs package), and any
emitted envelope against the message its type is documented as."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from kit.config import repo_root, var_dir
from kit.testing import unavailable

DOC = repo_root() / "docs" / "asyncapi.yaml"
ENVELOPE = repo_root() / "services" / "kit" / "schemas" / "cloudevent.schema.json"
SPECS_VERSION = "6.11.1"
SPECS_URL = f"https://registry.npmjs.org/@asyncapi/specs/-/specs-{SPECS_VERSION}.tgz"
SPECS_SHA512 = "A3WBLqAKGoJ2+6FWFtpjBlCQ1oFCcs4GxF7zsIGvNqp/klGUHjlA3aAcZ9XMMpLGE8zPeYDz2x9FmO6DSuKraQ=="
DOC_URI = "urn:guandu:asyncapi"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOC.read_text("utf-8"))
    return loaded


def official_schema() -> dict[str, Any]:
    """AsyncAPI 3.0.0's JSON Schema, cached under var/; skipped (failed under CI) when it cannot be had."""
    cached = var_dir() / "cache" / f"asyncapi-specs-{SPECS_VERSION}-3.0.0.json"
    if not cached.exists():
        try:
            with urllib.request.urlopen(SPECS_URL, timeout=30) as response:
                blob = response.read()
        except OSError as exc:
            unavailable(f"cannot fetch the AsyncAPI 3.0.0 schema from {SPECS_URL}: {exc}")  # offline, not in CI
        digest = base64.b64encode(hashlib.sha512(blob).digest()).decode()
        assert digest == SPECS_SHA512, "the downloaded @asyncapi/specs package is not the pinned one"
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            member = archive.extractfile("package/schemas/3.0.0.json")
            assert member is not None
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(member.read())
    schema: dict[str, Any] = json.loads(cached.read_text("utf-8"))
    return schema


def _registry() -> Registry:
    envelope = json.loads(ENVELOPE.read_text("utf-8"))
    return Registry().with_resources(
        [
            (DOC_URI, Resource.from_contents(document(), default_specification=DRAFT7)),
            # the document refers to the kit's envelope schema by its path relative to docs/
            ("urn:guandu:services/kit/schemas/cloudevent.schema.json", Resource(envelope, DRAFT7)),
        ]
    )


def messages_by_type() -> dict[str, str]:
    """event type -> component message name."""
    return {m["name"]: key for key, m in document()["components"]["messages"].items()}


def validate_event(envelope: dict[str, Any]) -> None:
    name = messages_by_type().get(envelope["type"])
    assert name is not None, f"{envelope['type']} is emitted but not documented in docs/asyncapi.yaml"
    envelope_ref = '"urn:guandu:services/kit/schemas/cloudevent.schema.json"'
    payload = json.loads(
        json.dumps(document()["components"]["messages"][name]["payload"]).replace(
            '"../services/kit/schemas/cloudevent.schema.json"', envelope_ref
        )
    )
    payload = _absolute_refs(payload)
    jsonschema.Draft7Validator(payload, registry=_registry()).validate(envelope)


def _absolute_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (DOC_URI + v if k == "$ref" and v.startswith("#") else _absolute_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_refs(v) for v in node]
    return node


def asyncapi_path() -> Path:
    return DOC
