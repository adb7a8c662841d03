"""Who may take each action on a whistle, by role (organization's roles, plus `system` for the suite's own
loaders and services). Which whistle a caller may act on is the scope's business, enforced in the queries."""

from __future__ import annotations

from whistle.domain.errors import NotAllowed

SECRETARIES = frozenset({"street_secretary", "community_secretary"})
RAISERS = frozenset({"resident", "member"})
SYSTEM = frozenset({"system"})

MAY: dict[str, frozenset[str]] = {
    "create": RAISERS | SECRETARIES | {"branch_secretary"} | SYSTEM,  # 收集: residents, members, secretaries, patrol
    "blow": SECRETARIES | SYSTEM,
    "redispatch": SECRETARIES | SYSTEM,
    "assess": SECRETARIES | SYSTEM,
    "close": SECRETARIES | SYSTEM,
    "reopen": SECRETARIES | RAISERS | SYSTEM,
    "report_in": frozenset({"department"}),
    "send_back": frozenset({"department"}),
    "handle": frozenset({"department"}),
    "request_extension": frozenset({"department"}),
    "approve_extension": SECRETARIES | SYSTEM,
    "refuse_extension": SECRETARIES | SYSTEM,
    "pause": SECRETARIES | SYSTEM,  # waiting on the resident: every clock stands still
    "resume": SECRETARIES | SYSTEM,
    # the raiser (checked against the whistle), or a secretary for a whistle nobody's account raised
    "give_feedback": SECRETARIES | RAISERS | SYSTEM,
    "publish_catalogue": frozenset({"district_admin"}) | SYSTEM,
    # 重复诉求: a likely duplicate (same situation, 50 m, 48 h) joins the live whistle it repeats
    "merge": SECRETARIES | SYSTEM,
    "find_duplicates": SECRETARIES | frozenset({"district_admin"}) | SYSTEM,
}


def check_may(role: str, action: str) -> None:
    if role not in MAY[action]:
        raise NotAllowed(f"a {role} may not {action.replace('_', ' ')} a whistle")
