"""Load the Guandu demo data once: `python -m organization.demo` (migrates first; a second run does nothing).

Everything goes through the same handlers and unit of work as live use, so the loader emits the same
events (carrying the time the fact happened) for the relay to publish.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from kit.clock import SystemClock
from kit.config import Settings
from kit.context import CallerContext
from kit.db import Database
from kit.migrate import upgrade
from kit.uow import UnitOfWork
from organization import handlers, street_modules
from organization.adapters.passwords import hash_password
from organization.adapters.repository import OrgRepository
from organization.domain.tree import Level

DEMO_NAMESPACE = uuid.UUID("6f1d8f5e-2c44-4a43-9d0e-0a9a1e0c0d01")
DEFAULT_DEMO_PASSWORD = "Guandu@2026"  # noqa: S105 - the documented demo password, overridable
# The tree as it stood when the party-building alliances were founded (the facts' time, not the load's).
FOUNDED = datetime(2019, 3, 1, tzinfo=UTC)
DATA = Path(__file__).parent / "guandu.yaml"


def node_id(org_path: str) -> str:
    return str(uuid.uuid5(DEMO_NAMESPACE, org_path))


def _point(center: Sequence[float], index: int, spread: float = 0.012) -> dict[str, Any]:
    # Communities laid out on a small spiral around the street's centre: plausible, deterministic.
    ring, step = divmod(index, 6)
    dx = spread * (1 + ring) * [1, 0.5, -0.5, -1, -0.5, 0.5][step]
    dy = spread * (1 + ring) * [0, 0.87, 0.87, 0, -0.87, -0.87][step]
    return {"type": "Point", "coordinates": [round(center[0] + dx, 5), round(center[1] + dy, 5)]}


def _square(center: Sequence[float], half: float = 0.03) -> dict[str, Any]:
    x, y = center
    ring = [
        [x - half, y - half],
        [x + half, y - half],
        [x + half, y + half],
        [x - half, y + half],
        [x - half, y - half],
    ]
    return {"type": "Polygon", "coordinates": [[[round(a, 5), round(b, 5)] for a, b in ring]]}


class Loader:
    def __init__(self, uow: UnitOfWork, password_hash: str) -> None:
        self.uow = uow
        self.ctx = CallerContext.system()
        self.password_hash = password_hash
        self.accounts: list[tuple[str, str, str]] = []

    def org(self, parent: dict[str, Any], code: str, name: str, level: Level, **extra: Any) -> dict[str, Any]:
        path = f"{parent['org_path']}{code}/"
        payload = {"parent_id": parent["id"], "code": code, "name": name, "level": str(level), **extra}
        return handlers.create_org(self.uow, self.ctx, payload, node_id=node_id(path), created_at=FOUNDED)

    def account(
        self, username: str, display_name: str, role: str, org: dict[str, Any], department_code: str | None = None
    ) -> None:
        handlers.create_account(
            self.uow,
            username=username,
            password="",
            display_name=display_name,
            role=role,
            org_id=org["id"],
            department_code=department_code,
            password_hash=self.password_hash,
        )
        self.accounts.append((username, role, display_name))

    def load(self, data: dict[str, Any]) -> None:
        d = data["district"]
        district = handlers.create_root(
            self.uow,
            code=d["code"],
            name=d["name"],
            level=Level.DISTRICT,
            node_id=node_id(f"/{d['code']}/"),
            created_at=FOUNDED,
            location={"type": "Point", "coordinates": d["center"]},
        )
        self.account("district.admin", "官渡区委组织部管理员", "district_admin", district)
        for street in data["streets"]:
            self.street(district, street, data)
        deps = data["departments"]
        root = handlers.create_root(
            self.uow,
            code=deps["code"],
            name=deps["name"],
            level=Level.DEPARTMENTS,
            node_id=node_id(f"/{deps['code']}/"),
            created_at=FOUNDED,
        )
        for unit in deps["units"]:
            dept = self.org(root, unit["code"], unit["name"], Level.DEPARTMENT)
            self.account(f"{unit['code']}.desk", f"{unit['name']}值班席", "department", dept, unit["code"])

    def street(self, district: dict[str, Any], street: dict[str, Any], data: dict[str, Any]) -> None:
        short = street["name"].removesuffix("街道")
        node = self.org(
            district,
            street["code"],
            street["name"],
            Level.STREET,
            brand=street["brand"],
            location=_square(street["center"]),
        )
        self.account(f"{street['code']}.secretary", f"{short}街道党工委书记", "street_secretary", node)
        street_modules.load_defaults(self.uow, node)  # the modules each street runs (catalogue/modules.yaml)
        self.org(node, "wc", f"{short}街道党工委", Level.WORKING_COMMITTEE)
        self.org(node, "alliance", f"{short}街道党建联盟", Level.ALLIANCE)
        for i, name in enumerate(street["communities"], start=1):
            code = f"c{i:02d}"
            community = self.org(node, code, f"{name}社区", Level.COMMUNITY, location=_point(street["center"], i - 1))
            self.account(f"{street['code']}.{code}.secretary", f"{name}社区党委书记", "community_secretary", community)
            self.org(community, "bpc", f"{name}社区大党委", Level.BIG_PARTY_COMMITTEE)
            for b in range(1, data["branches_per_community"] + 1):
                self.org(community, f"br{b}", f"{name}社区第{_cn(b)}党支部", Level.BRANCH)
            for a in range(1, data["areas_per_community"] + 1):
                area = self.org(community, f"a{a}", f"{name}社区第{_cn(a)}居民小组", Level.AREA)
                for b in range(1, data["buildings_per_area"] + 1):
                    self.org(area, f"b{b}", f"{name}{a}区{b}栋", Level.BUILDING)


def _cn(n: int) -> str:
    return "一二三四五六七八九十"[n - 1]


def load(settings: Settings, password: str) -> tuple[bool, list[tuple[str, str, str]], float]:
    """(loaded now?, accounts, seconds). Does nothing when the district is already there."""
    started = time.perf_counter()
    upgrade("organization", settings.database_url)
    db = Database(settings.database_url)
    try:
        with UnitOfWork(db, service="organization", clock=SystemClock(), context=CallerContext.system()) as uow:
            if OrgRepository(uow.session).root("gd") is not None:
                return False, [], time.perf_counter() - started
            loader = Loader(uow, hash_password(password))
            loader.load(yaml.safe_load(DATA.read_text("utf-8")))
            uow.commit()
        return True, loader.accounts, time.perf_counter() - started
    finally:
        db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load the Guandu demo data into the organization service")
    parser.parse_args(argv)
    password = os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
    loaded, accounts, seconds = load(Settings.from_env("organization"), password)
    if not loaded:
        print("organization: demo data already loaded")
        return 0
    print(f"organization: demo data loaded in {seconds:.1f}s ({len(accounts)} accounts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
