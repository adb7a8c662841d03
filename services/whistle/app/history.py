"""Use cases of a whistle's history (吹哨全留痕): its audit entries in order and their verification, for exactly
those who may read the whistle (one out of scope is not found, like one that does not exist)."""

from __future__ import annotations

from typing import Any

from kit.audit import audit_history, subject_chain_break
from kit.context import CallerContext
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from whistle.adapters.repositories.whistles import WhistleRepository
from whistle.domain.errors import WhistleNotFound
from whistle.domain.lifecycle import Whistle

SUBJECT = "whistle"  # the subject_type app/whistles.py audits every change under


def _whistle(uow: UnitOfWork, ctx: CallerContext, whistle_id: str) -> Whistle:
    """The whistle through its own scoped lookup: the history is visible exactly where the whistle is."""
    found = WhistleRepository(uow.session).get(whistle_id, ctx) if is_uuid(whistle_id) else None
    if found is None:
        raise WhistleNotFound("whistle not found")
    return found[0]


def whistle_history(uow: UnitOfWork, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
    _whistle(uow, ctx, whistle_id)
    return {"whistle_id": whistle_id, "entries": audit_history(uow.session, SUBJECT, whistle_id)}


def verify_whistle_history(uow: UnitOfWork, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
    """The chain checked entry by entry (the first changed, unlinked or missing `seq`), then its head against
    the whistle: every change is audited with the state it left, so a trail whose last entry names another
    state than the whistle's has lost entries at its end, which no link shows."""
    w = _whistle(uow, ctx, whistle_id)
    entries = audit_history(uow.session, SUBJECT, whistle_id)
    broken = subject_chain_break(uow.session, SUBJECT, whistle_id)
    seq, reason = (None, None) if broken is None else (broken.seq, broken.reason)
    if broken is None and (not entries or entries[-1]["data"].get("state") != str(w.state)):
        seq, reason = len(entries) + 1, "head"
    return {
        "whistle_id": whistle_id,
        "entries": len(entries),
        "sound": seq is None,
        "first_broken_seq": seq,
        "reason": reason,
    }
