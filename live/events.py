"""Typed room events and the one door to the channel layer for live rooms.

Every event travels on the show's group as ``{"type": "live.event", "event": {...}}``;
``event["kind"]`` names it (``room.comment``, ``room.likes`` ...). Each process holds one
subscription per room (``live.rooms.RoomHub``) and fans out locally, so a publish costs
O(processes), never O(viewers). Private events carry ``to`` (a user id) and are delivered
only to that user's connections.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

LAYER_MESSAGE_TYPE = "live.event"
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def room_group(show_code: str) -> str:
    """The channel-layer group of one show (validated: layer names are restricted)."""
    if not _GROUP_SAFE.match(show_code):
        raise ValueError(f"invalid show code {show_code!r}")
    return f"live.room.{show_code}"


class CommentEvent(TypedDict):
    kind: str  # room.comment
    cid: str
    author_id: int | None
    author: str
    role: str  # viewer / host / moderator
    text: str
    at: float  # epoch seconds, post time


def comment_event(
    *, cid: str, author_id: int | None, author: str, role: str, text: str, at: float
) -> CommentEvent:
    return {
        "kind": "room.comment",
        "cid": cid,
        "author_id": author_id,
        "author": author,
        "role": role,
        "text": text,
        "at": at,
    }


def event(kind: str, **payload: Any) -> dict[str, Any]:
    """Any other room event: ``room.likes``, ``room.presence``, ``room.pinned``,
    ``room.drop``, ``room.announcement``, ``room.coupon``, ``room.comment_deleted``,
    ``room.status``, ``room.settings``, ``room.kick``, ``room.private``."""
    if not kind.startswith("room."):
        raise ValueError("room events are prefixed with 'room.'")
    return {"kind": kind, **payload}


#: private messages per event at most (one drain batch's confirmations go in a few events)
PRIVATE_PER_EVENT = 250


def private_message(kind: str, **payload: Any) -> dict[str, Any]:
    """What one user's connections get in their frame's ``private`` list."""
    return {"type": kind, **payload}


def private_event(user_id: int, kind: str, **payload: Any) -> dict[str, Any]:
    """A message for one user's connections only (a hold confirmation, a waitlist offer)."""
    return private_events([(user_id, private_message(kind, **payload))])


def private_events(deliveries: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """Messages for several users in one event: each room hub keeps those of its viewers,
    so a batch of confirmations is one publish, not one per buyer."""
    return {"kind": "room.private", "to": [[user, item] for user, item in deliveries]}


async def broadcast_async(show_code: str, payload: dict[str, Any]) -> None:
    """The one caller of the layer's ``group_send`` for live rooms."""
    layer = get_channel_layer()
    if layer is None:
        return
    await layer.group_send(room_group(show_code), {"type": LAYER_MESSAGE_TYPE, "event": payload})


def broadcast(show_code: str, payload: dict[str, Any]) -> None:
    """Sync twin of ``broadcast_async`` for services (call it through ``after_commit``)."""
    async_to_sync(broadcast_async)(show_code, payload)
