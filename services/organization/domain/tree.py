"""The organisation tree: levels, what may hang under what, who may change which level, and the node
aggregate that records its own events.

district → street (街道) → community (社区) → residential area/group (居民区/小组) → building (楼栋), with party
bodies attached (street working committee and party-building alliance 党建联盟, community big party committee
大党委, branches 支部), and a separate `departments` root for city departments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from organization.domain.errors import (
    CodeTaken,
    CycleRefused,
    HasActiveChildren,
    InvalidCode,
    LevelNotAllowed,
    NodeClosed,
    RoleCannotChangeLevel,
    RoleCannotCreateLevel,
    StaleVersion,
)

DISTRICT_STREET_CODE = "district"
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class Level(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    AREA = "area"
    BUILDING = "building"
    WORKING_COMMITTEE = "working_committee"
    ALLIANCE = "alliance"
    BIG_PARTY_COMMITTEE = "big_party_committee"
    BRANCH = "branch"
    DEPARTMENTS = "departments"
    DEPARTMENT = "department"


ROOT_LEVELS = frozenset({Level.DISTRICT, Level.DEPARTMENTS})

# parent level -> the levels its children may have
ALLOWED_CHILDREN: dict[Level, frozenset[Level]] = {
    Level.DISTRICT: frozenset({Level.STREET}),
    Level.STREET: frozenset({Level.COMMUNITY, Level.WORKING_COMMITTEE, Level.ALLIANCE}),
    Level.COMMUNITY: frozenset({Level.AREA, Level.BIG_PARTY_COMMITTEE, Level.BRANCH}),
    Level.AREA: frozenset({Level.BUILDING, Level.BRANCH}),
    Level.BUILDING: frozenset(),
    Level.WORKING_COMMITTEE: frozenset({Level.BRANCH}),
    Level.ALLIANCE: frozenset(),
    Level.BIG_PARTY_COMMITTEE: frozenset({Level.BRANCH}),
    Level.BRANCH: frozenset(),
    Level.DEPARTMENTS: frozenset({Level.DEPARTMENT}),
    Level.DEPARTMENT: frozenset(),
}

_BELOW_STREET = frozenset(
    {
        Level.COMMUNITY,
        Level.AREA,
        Level.BUILDING,
        Level.WORKING_COMMITTEE,
        Level.ALLIANCE,
        Level.BIG_PARTY_COMMITTEE,
        Level.BRANCH,
    }
)
_BELOW_COMMUNITY = frozenset({Level.AREA, Level.BUILDING, Level.BIG_PARTY_COMMITTEE, Level.BRANCH})

# role -> the levels it may create, rename, move and close (inside its scope)
MANAGEABLE_LEVELS: dict[str, frozenset[Level]] = {
    "system": frozenset(Level),
    "district_admin": frozenset(Level) - ROOT_LEVELS,
    "street_secretary": _BELOW_STREET,
    "community_secretary": _BELOW_COMMUNITY,
}


def check_may_create(role: str, level: Level) -> None:
    if level not in MANAGEABLE_LEVELS.get(role, frozenset()):
        raise RoleCannotCreateLevel(f"a {role} may not create a {level}")


def check_may_change(role: str, level: Level) -> None:
    if level not in MANAGEABLE_LEVELS.get(role, frozenset()):
        raise RoleCannotChangeLevel(f"a {role} may not change a {level}")


def check_level(parent_level: Level, child_level: Level) -> None:
    if child_level not in ALLOWED_CHILDREN[parent_level]:
        allowed = ", ".join(sorted(ALLOWED_CHILDREN[parent_level])) or "nothing"
        raise LevelNotAllowed(
            f"a {child_level} cannot be placed under a {parent_level} (allowed: {allowed})",
            {"level": [f"under a {parent_level} only: {allowed}"]},
        )


def path_depth(org_path: str) -> int:
    """`/gd/` is 0, `/gd/liujia/` is 1, and so on."""
    return org_path.count("/") - 2


@dataclass(frozen=True)
class OrgCreated:
    node: OrgNode


@dataclass(frozen=True)
class OrgRenamed:
    node: OrgNode
    old_name: str


@dataclass(frozen=True)
class OrgMoved:
    node: OrgNode
    old_parent_id: str
    old_path: str
    old_street_code: str
    moved_nodes: int


@dataclass(frozen=True)
class OrgClosed:
    node: OrgNode


OrgEvent = OrgCreated | OrgRenamed | OrgMoved | OrgClosed


@dataclass(frozen=True)
class MovePlan:
    """How a move rewrites the subtree: every path under `old_path` starts with `new_path` instead."""

    old_path: str
    new_path: str
    old_street_code: str
    new_street_code: str

    @property
    def depth_delta(self) -> int:
        return path_depth(self.new_path) - path_depth(self.old_path)


@dataclass
class OrgNode:
    id: str
    code: str
    name: str
    level: Level
    parent_id: str | None
    org_path: str
    street_code: str
    status: str
    version: int
    created_at: datetime
    location: dict[str, Any] | None = None
    brand: str | None = None
    closed_at: datetime | None = None
    events: list[OrgEvent] = field(default_factory=list, compare=False, repr=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def depth(self) -> int:
        return path_depth(self.org_path)

    @classmethod
    def root(
        cls, *, id: str, code: str, name: str, level: Level, now: datetime, location: dict[str, Any] | None = None
    ) -> OrgNode:
        if level not in ROOT_LEVELS:
            raise LevelNotAllowed(f"a {level} needs a parent", {"parent_id": ["required"]})
        _check_code(code)
        node = cls(
            id=id,
            code=code,
            name=name,
            level=level,
            parent_id=None,
            org_path=f"/{code}/",
            street_code=DISTRICT_STREET_CODE,
            status="active",
            version=1,
            created_at=now,
            location=location,
        )
        node.events.append(OrgCreated(replace(node, events=[])))
        return node

    @classmethod
    def create(
        cls,
        *,
        id: str,
        parent: OrgNode,
        code: str,
        name: str,
        level: Level,
        now: datetime,
        sibling_codes: set[str],
        location: dict[str, Any] | None = None,
        brand: str | None = None,
    ) -> OrgNode:
        if not parent.active:
            raise NodeClosed(f"{parent.name} is closed: nothing new can go under it")
        check_level(parent.level, level)
        _check_code(code)
        if code in sibling_codes:
            raise CodeTaken(f"{parent.name} already has a child with code {code!r}", {"code": ["already used"]})
        node = cls(
            id=id,
            code=code,
            name=name,
            level=level,
            parent_id=parent.id,
            org_path=f"{parent.org_path}{code}/",
            street_code=code if level == Level.STREET else parent.street_code,
            status="active",
            version=1,
            created_at=now,
            location=location,
            brand=brand if level == Level.STREET else None,
        )
        node.events.append(OrgCreated(replace(node, events=[])))
        return node

    def _check_current(self, expected_version: int) -> None:
        if expected_version != self.version:
            raise StaleVersion(
                f"version {expected_version} is stale: the node is at version {self.version}",
                {"version": [f"current version is {self.version}"]},
            )
        if not self.active:
            raise NodeClosed(f"{self.name} is closed")

    def rename(self, name: str, *, expected_version: int) -> None:
        self._check_current(expected_version)
        if name == self.name:
            return
        old_name, self.name = self.name, name
        self.version += 1
        self.events.append(OrgRenamed(replace(self, events=[]), old_name))

    def plan_move(self, new_parent: OrgNode, *, expected_version: int, sibling_codes: set[str]) -> MovePlan:
        """Check a move and say how it rewrites the subtree; `apply_move` records it once done."""
        self._check_current(expected_version)
        if self.parent_id is None:
            raise LevelNotAllowed("a root does not move")
        if new_parent.org_path.startswith(self.org_path):
            raise CycleRefused(
                f"{new_parent.name} lies inside {self.name}'s subtree: the move would make a cycle",
                {"new_parent_id": ["lies inside the subtree being moved"]},
            )
        if not new_parent.active:
            raise NodeClosed(f"{new_parent.name} is closed: nothing can move under it")
        check_level(new_parent.level, self.level)
        if new_parent.id != self.parent_id and self.code in sibling_codes:
            raise CodeTaken(f"{new_parent.name} already has a child with code {self.code!r}")
        return MovePlan(
            old_path=self.org_path,
            new_path=f"{new_parent.org_path}{self.code}/",
            old_street_code=self.street_code,
            new_street_code=new_parent.street_code,
        )

    def apply_move(self, new_parent: OrgNode, plan: MovePlan, moved_nodes: int) -> None:
        old_parent_id = self.parent_id or ""
        self.parent_id = new_parent.id
        self.org_path = plan.new_path
        self.street_code = plan.new_street_code
        self.version += 1
        self.events.append(
            OrgMoved(replace(self, events=[]), old_parent_id, plan.old_path, plan.old_street_code, moved_nodes)
        )

    def close(self, *, expected_version: int, active_children: int, now: datetime) -> None:
        self._check_current(expected_version)
        if active_children:
            raise HasActiveChildren(f"{self.name} still has {active_children} active children: close them first")
        self.status = "closed"
        self.closed_at = now
        self.version += 1
        self.events.append(OrgClosed(replace(self, events=[])))


def _check_code(code: str) -> None:
    if not CODE_RE.match(code):
        raise InvalidCode(f"invalid code {code!r}", {"code": ["lowercase letters, digits and '-', at most 32"]})
