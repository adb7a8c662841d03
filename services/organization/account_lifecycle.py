"""Disabling an account, shared by every path that does it (an admin's decision, a member leaving): the
account stops logging in, every refresh token it holds is revoked, and `account.disabled` tells the suite.
The gateway re-reads account state within ACCOUNT_STATE_TTL seconds, so live access tokens stop too."""

from __future__ import annotations

from kit.events import Event
from kit.uow import UnitOfWork
from organization.adapters.repository import AccountRepository
from organization.domain.accounts import Account


def disable_account(uow: UnitOfWork, account: Account, reason: str) -> bool:
    """Disable `account` inside the caller's unit of work; False (and nothing recorded) if it already was."""
    if not account.disable():
        return False
    accounts = AccountRepository(uow.session)
    now = uow.clock.now()
    accounts.save_status(account)
    revoked = accounts.revoke_all_tokens(account.id, now)
    org_path, street = accounts.placement(account.org_id)
    data = {
        "account_id": account.id,
        "username": account.username,
        "role": account.role,
        "org_id": account.org_id,
        "member_id": account.member_id,
        "reason": reason,
        "revoked_refresh_tokens": revoked,
    }
    uow.add_event(
        Event(
            type="account.disabled",
            subject=account.id,
            data=data,
            street_codes=(street,),
            org_path=org_path,
            time=now,
        )
    )
    uow.audit("account.disable", "account", account.id, {"reason": reason})
    return True
