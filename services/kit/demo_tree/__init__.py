"""The Guandu demo tree (guandu.yaml) and the rules that name its records, shared by every service's demo data:
services may not import each other, yet a whistle blown in the demo must name the community organization made.

A node's id is the UUIDv5 of its org path under DEMO_NAMESPACE (`node_id`), any other demo record's the UUIDv5 of
`<kind>:<key>` (`demo_uid`), so the same path or key gives the same id in every service and every load.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEMO_NAMESPACE = uuid.UUID("6f1d8f5e-2c44-4a43-9d0e-0a9a1e0c0d01")
TREE = Path(__file__).parent / "guandu.yaml"


def node_id(org_path: str) -> str:
    """The id of a demo organisation node: the same path always gives the same id."""
    return str(uuid.uuid5(DEMO_NAMESPACE, org_path))


def demo_uid(kind: str, key: object) -> str:
    """The id of any other demo record (a member, a registration, a whistle): stable for its kind and key."""
    return str(uuid.uuid5(DEMO_NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True)
class Community:
    path: str
    name: str
    street_code: str
    areas: tuple[str, ...]  # paths


@dataclass(frozen=True)
class Street:
    code: str
    name: str
    short: str  # 六甲街道 → 六甲
    communities: tuple[Community, ...]

    @property
    def path(self) -> str:
        return f"/gd/{self.code}/"


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    org_path: str  # /departments/<code>/

    @property
    def id(self) -> str:
        return node_id(self.org_path)

    @property
    def desk(self) -> str:
        """The username of the department's duty desk (值班席), the account that acts for it."""
        return f"{self.code}.desk"


@cache
def load_tree() -> dict[str, Any]:
    """guandu.yaml as loaded (cached: treat it as read-only)."""
    tree: dict[str, Any] = yaml.safe_load(TREE.read_text("utf-8"))
    return tree


def streets(tree: Mapping[str, Any] | None = None) -> list[Street]:
    """The streets and their communities with the codes the organization loader gives them (c01, c02, ...)."""
    tree = tree or load_tree()
    root = f"/{tree['district']['code']}/"
    out = []
    for s in tree["streets"]:
        communities = []
        for i, name in enumerate(s["communities"], start=1):
            path = f"{root}{s['code']}/c{i:02d}/"
            areas = tuple(f"{path}a{a}/" for a in range(1, tree["areas_per_community"] + 1))
            communities.append(Community(path, name, s["code"], areas))
        out.append(Street(s["code"], s["name"], s["name"].removesuffix("街道"), tuple(communities)))
    return out


def departments(tree: Mapping[str, Any] | None = None) -> list[Department]:
    """The city departments under the `departments` root, in the file's order."""
    root = (tree or load_tree())["departments"]
    return [Department(u["code"], u["name"], f"/{root['code']}/{u['code']}/") for u in root["units"]]


def point(center: Sequence[float], index: int, spread: float = 0.012) -> dict[str, Any]:
    """A GeoJSON point for a street's `index`-th community, laid out on a small spiral around the street's centre:
    plausible and deterministic."""
    ring, step = divmod(index, 6)
    dx = spread * (1 + ring) * [1, 0.5, -0.5, -1, -0.5, 0.5][step]
    dy = spread * (1 + ring) * [0, 0.87, 0.87, 0, -0.87, -0.87][step]
    return {"type": "Point", "coordinates": [round(center[0] + dx, 5), round(center[1] + dy, 5)]}


def square(center: Sequence[float], half: float = 0.03) -> dict[str, Any]:
    """A GeoJSON square around a street's centre: its demo outline."""
    x, y = center
    ring = [
        [x - half, y - half],
        [x + half, y - half],
        [x + half, y + half],
        [x - half, y + half],
        [x - half, y - half],
    ]
    return {"type": "Polygon", "coordinates": [[[round(a, 5), round(b, 5)] for a, b in ring]]}
