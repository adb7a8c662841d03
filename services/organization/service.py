"""OrganizationService: the nameko service of the organisation tree and of who may act where (accounts,
sessions, scope), composed of one entrypoint class per topic (`rpc/<topic>.py`); nothing else lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kit.dependencies import EventSource, Observability, Storage, Work
from organization.rpc.accounts import AccountRpc
from organization.rpc.engagement import EngagementRpc
from organization.rpc.four_lists import FourListRpc
from organization.rpc.members import MemberRpc
from organization.rpc.modules import StreetModuleRpc
from organization.rpc.tree import TreeRpc


class OrganizationService(EventSource, TreeRpc, AccountRpc, MemberRpc, EngagementRpc, FourListRpc, StreetModuleRpc):
    name = "organization"
    if TYPE_CHECKING:  # nameko injects each worker's `Work` in place of the provider
        storage: Work
    else:
        storage = Storage()
    observability = Observability()
