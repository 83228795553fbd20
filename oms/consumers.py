"""Live order inbox for store staff: stock and order-status events as they commit."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from hub.kernel.roles import Role, user_has_role
from oms.events import ORDERS_GROUP, STOCK_GROUP

CLOSE_FORBIDDEN = 4403


def _may_watch(user: Any) -> bool:
    return user_has_role(user, Role.STORE_STAFF) or user_has_role(user, Role.MERCHANT_ADMIN)


class InboxConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups_joined = (STOCK_GROUP, ORDERS_GROUP)

    async def connect(self) -> None:
        if not await database_sync_to_async(_may_watch)(self.scope.get("user")):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def stock_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def order_status_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
