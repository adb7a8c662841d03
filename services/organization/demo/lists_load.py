"""The generated four-list items (四张清单) of the district, street and community secretaries, recorded through
the four lists' use cases: created, moved along their states, with their progress notes. Items past due and
still open are left for the service's overdue scan to flag and announce, as in live use."""

from __future__ import annotations

from kit.context import CallerContext
from kit.uow import UnitOfWork
from organization.app import four_lists
from organization.demo.generate import DemoData

# The path each final state is reached by (open is where every item starts).
STEPS = {"open": (), "in_progress": ("in_progress",), "done": ("in_progress", "done"), "cancelled": ("cancelled",)}


def load_four_lists(uow: UnitOfWork, demo: DemoData, account_ids: dict[str, str]) -> int:
    ctx = CallerContext.system()
    for item in demo.four_list_items:
        created = four_lists.create_item(
            uow,
            ctx,
            {
                "kind": item.list_kind,
                "title": item.title,
                "description": "",
                "due_date": item.due_on,
                "org_id": item.owner_org_id,
                "owner_account_id": account_ids[item.owner_username],
            },
        )
        version = created["version"]
        for note in item.progress:
            version = four_lists.add_note(uow, ctx, created["id"], {"text": f"{note.on.isoformat()} {note.text}"})[
                "version"
            ]
        for status in STEPS[item.status]:
            version = four_lists.change_status(uow, ctx, created["id"], {"status": status, "version": version})[
                "version"
            ]
    return len(demo.four_list_items)
