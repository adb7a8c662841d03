"""Disabling an account: it can no longer log in or refresh, and `account.disabled` is in the outbox once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.orm import OutboxRow
from kit.uow import UnitOfWork
from organization.adapters.repositories.accounts import AccountRepository
from organization.app import accounts
from organization.app.accounts import disable_account
from organization.domain.accounts import LockoutPolicy, SessionPolicy
from organization.domain.errors import AccountDisabled, RefreshInvalid


def test_a_disabled_account_cannot_log_in_or_refresh_and_is_announced_once(demo_db):
    db = Database(demo_db)

    def unit() -> UnitOfWork:
        return UnitOfWork(db, service="organization", clock=SystemClock(), context=CallerContext.system())

    try:
        with unit() as uow:
            session = accounts.authenticate(uow, "taihe.secretary", "Guandu@2026", LockoutPolicy(), SessionPolicy())
            uow.commit()
        account_id = session["account"]["account_id"]
        with unit() as uow:
            account = AccountRepository(uow.session).get(account_id)
            assert account is not None
            assert disable_account(uow, account, "left the post")
            assert not disable_account(uow, account, "again")  # already disabled: nothing more recorded
            uow.commit()
        with unit() as uow, pytest.raises(AccountDisabled):
            accounts.authenticate(uow, "taihe.secretary", "Guandu@2026", LockoutPolicy(), SessionPolicy())
        with unit() as uow, pytest.raises(RefreshInvalid):
            accounts.refresh_session(uow, session["refresh_token"], SessionPolicy())
        with db.session(write=False) as s:
            keys = list(s.scalars(select(OutboxRow.routing_key).where(OutboxRow.event_type == "account.disabled")))
        assert keys == ["account.disabled.taihe"]
    finally:
        db.dispose()
