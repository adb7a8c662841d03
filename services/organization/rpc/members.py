"""The members' RPC entrypoints, mixed into OrganizationService (nameko finds entrypoints on base classes).
Each loads its schema, calls one use case of `app/members.py`, and commits before it replies."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import rpc
from kit.errors import ServiceError
from organization.adapters.personal_data import PersonalDataCipher
from organization.app import members
from organization.schemas.members import (
    AccessLogFilter,
    MemberCreate,
    MemberFilter,
    MemberGet,
    MemberLeave,
    MemberTransfer,
    MemberUpdate,
    RosterExport,
)

if TYPE_CHECKING:
    from kit.dependencies import Work

MAX_ROSTER_BYTES = 2 * 1024 * 1024
_ciphers: dict[tuple[str, ...], PersonalDataCipher] = {}


def cipher_of(work: Work) -> PersonalDataCipher:
    """The service's cipher, built once per process from its settings (keys from env or var/)."""
    env = work.settings.extra
    key = tuple(env.get(k, "") for k in ("MEMBER_DATA_KEY", "MEMBER_LOOKUP_KEY", "GUANDU_VAR_DIR"))
    if key not in _ciphers:
        _ciphers[key] = PersonalDataCipher.from_env(env)
    return _ciphers[key]


class MemberRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def register_member(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = MemberCreate().load(payload)
        cipher = cipher_of(self.storage)
        return self.storage.command(
            ctx,
            idempotency_key,
            "register_member",
            members.redacted(payload, cipher),
            lambda uow: members.register_member(uow, ctx, data, cipher),
        )

    @rpc
    def update_member(
        self, ctx: CallerContext, member_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = MemberUpdate().load(payload)
        cipher = cipher_of(self.storage)
        return self.storage.command(
            ctx,
            idempotency_key,
            "update_member",
            [member_id, members.redacted(payload, cipher)],
            lambda uow: members.update_member(uow, ctx, member_id, data, cipher),
        )

    @rpc
    def transfer_member(
        self, ctx: CallerContext, member_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = MemberTransfer().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "transfer_member",
            [member_id, payload],
            lambda uow: members.transfer_member(uow, ctx, member_id, data),
        )

    @rpc
    def leave_member(
        self, ctx: CallerContext, member_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = MemberLeave().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "leave_member",
            [member_id, payload],
            lambda uow: members.leave_member(uow, ctx, member_id, data),
        )

    @rpc
    def import_members(
        self, ctx: CallerContext, branch_id: str, content_base64: str, idempotency_key: str
    ) -> dict[str, Any]:
        """A whole roster (.xlsx, base64) in one transaction, under one idempotency key."""
        try:
            content = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ServiceError(
                "invalid", "MEMBER_ROSTER_UNREADABLE", "the file is not base64", {"file": ["bad"]}
            ) from None
        if len(content) > MAX_ROSTER_BYTES:
            raise ServiceError("too_large", "MEMBER_ROSTER_TOO_LARGE", "a roster file is at most 2 MiB")
        rows = members.read_roster_file(ctx, content)  # in a child process, before the transaction opens
        cipher = cipher_of(self.storage)
        return self.storage.command(
            ctx,
            idempotency_key,
            "import_members",
            [branch_id, hashlib.sha256(content).hexdigest()],
            lambda uow: members.import_roster(uow, ctx, branch_id, rows, cipher),
        )

    @rpc
    def get_member(self, ctx: CallerContext, member_id: str, query: dict[str, Any]) -> dict[str, Any]:
        data = MemberGet().load(query)
        cipher = cipher_of(self.storage)
        if not data["reveal"]:
            with self.storage.read(ctx) as uow:
                return members.get_member(uow, ctx, member_id, False, cipher)
        with self.storage.unit(ctx) as uow:  # the access-log entry commits with the read, or neither happens
            result = members.get_member(uow, ctx, member_id, True, cipher)
            uow.commit()
            return result

    @rpc
    def list_members(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = MemberFilter().load(query)
        with self.storage.read(ctx) as uow:
            return members.list_members(uow, ctx, data)

    @rpc
    def list_member_transfers(self, ctx: CallerContext, member_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return members.list_transfers(uow, ctx, member_id)

    @rpc
    def export_members(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = RosterExport().load(query)
        cipher = cipher_of(self.storage)
        with self.storage.unit(ctx, write=data["reveal"]) as uow:
            result = members.export_roster(uow, ctx, str(data["branch_id"]), data["reveal"], cipher)
            if data["reveal"]:
                uow.commit()
            return result

    @rpc
    def list_access_log(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = AccessLogFilter().load(query)
        with self.storage.read(ctx) as uow:
            return members.list_access_log(uow, ctx, data)
