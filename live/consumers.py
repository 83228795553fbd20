"""The room WebSocket ``ws/live/<show>/``: parse a message, call one service, reply.

Protocol: docs/live-protocol.md. Anyone may watch; signed-in users comment, like and buy;
the host and moderators send ``host.*`` / ``mod.*`` messages over the same connection.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from hub.kernel.errors import DomainError, message_text
from hub.kernel.i18n import language_from_scope
from hub.kernel.ids import opaque_token
from live import events, quota
from live.comment_log import comment_log
from live.errors import InvalidMessage, NotAllowed, RateLimited, SignInRequired
from live.intents import parse_buy_intent
from live.models import CouponDrop, Drop, LineupItem, Show
from live.rooms import RoomHub, kick_drain
from live.selectors import drop_for_item, role_in_show, room_snapshot, show_by_code
from live.services import coupons, drops, moderation, shows
from live.services.comment_buy import comment_buy
from live.services.comments import CommentDraft, comment_check
from live.states import ShowStatus
from oms.models import ProductVariant

CLOSE_NOT_FOUND = 4404
CLOSE_FORBIDDEN = 4403
CLOSE_ABUSE = 4008  #: policy violation: too many bad or too-frequent messages

MAX_MESSAGE_BYTES = 4096
#: per connection: sustained messages per second and burst
RATE_PER_SECOND = 10.0
RATE_BURST = 20.0
STRIKES_TO_CLOSE = 10
STRIKE_WINDOW = 30.0
MAX_LIKES_PER_MESSAGE = 10


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _str(message: dict[str, Any], name: str, *, limit: int = 100) -> str:
    value = message.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidMessage(
            format_lazy(
                _("'{name}' must be a string of 1-{limit} characters"), name=name, limit=limit
            )
        )
    return value.strip()


def _int(message: dict[str, Any], name: str, default: int | None = None) -> int:
    value = message.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidMessage(format_lazy(_("'{name}' must be an integer"), name=name))
    return value


class RoomConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One viewer's connection. It has no channel-layer channel of its own: everything
    reaches it through its process's ``RoomHub``, so a connection costs no Redis
    subscription (the alias names no layer, so Channels skips the per-consumer channel)."""

    channel_layer_alias = "live.no-personal-channel"
    user_id: int | None = None
    role = "viewer"

    # ---- connection ----------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its per-message thread hop that closes stale database
        connections: every database call here goes through ``database_sync_to_async``,
        which does that around each call already, and chat needs no database at all."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' disconnect without that same thread hop (it has no groups to leave):
        when a drop sells out, thousands of buyers leave at once and each hop queued on
        the one thread the database calls share."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def connect(self) -> None:
        self.hub: RoomHub | None = None
        self.ready = False
        self.backlog: list[dict[str, Any]] = []
        self.bucket = TokenBucket(RATE_PER_SECOND, RATE_BURST)
        self.strikes: deque[float] = deque()
        code = str(self.scope["url_route"]["kwargs"]["show"])
        user = self.scope.get("user")
        self.user: User | None = user if isinstance(user, User) and user.is_authenticated else None
        self.user_id = self.user.pk if self.user else None
        self.language = language_from_scope(self.scope)  #: of the error frames' messages
        show = await database_sync_to_async(show_by_code)(code)
        if show is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.show: Show = show
        self.role = await database_sync_to_async(role_in_show)(self.user, show)
        await self.accept()
        hub = await RoomHub.join(show, self)
        self.hub = hub
        if self.user_id in hub.rules.banned:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        snapshot = await database_sync_to_async(room_snapshot)(show)
        snapshot["viewers"] = hub.total_viewers()
        hello = {
            "type": "hello",
            "seq": hub.seq,
            "you": {"user": self.user_id, "role": self.role},
            "snapshot": snapshot,
        }
        await self.send(text_data=json.dumps(hello, ensure_ascii=False))
        self.ready = True
        for queued in self.backlog:
            await self.base_send(queued)
        self.backlog = []

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hub.leave(self)

    async def deliver(self, message: dict[str, Any]) -> None:
        """A hub frame: the same ASGI message object goes to every viewer of the process."""
        if self.ready:
            await self.base_send(message)
        else:
            self.backlog.append(message)

    async def kick(self, code: int) -> None:
        await self.close(code=code)

    # ---- inbound -------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        ref: Any = None
        try:
            if text_data is None:
                raise InvalidMessage(_("send JSON text frames"))
            if len(text_data.encode()) > MAX_MESSAGE_BYTES:
                raise InvalidMessage(
                    format_lazy(
                        _("a message has at most {max_bytes} bytes"), max_bytes=MAX_MESSAGE_BYTES
                    )
                )
            try:
                message = json.loads(text_data)
            except ValueError:
                raise InvalidMessage(_("malformed JSON")) from None
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise InvalidMessage(_("a message is an object with a string 'type'"))
            ref = message.get("ref")
            if not self.bucket.take():
                raise RateLimited(_("too many messages; slow down"))
            handler = self.HANDLERS.get(message["type"])
            if handler is None:
                raise InvalidMessage(
                    format_lazy(_("unknown message type {type!r}"), type=message["type"])
                )
            await handler(self, message)
        except DomainError as error:
            await self._error(error, ref)

    async def _error(self, error: DomainError, ref: Any) -> None:
        with translation.override(self.language):
            message = message_text(error)
        frame: dict[str, Any] = {"type": "error", "code": error.code, "message": message}
        if error.details:
            frame["details"] = error.details
        if ref is not None:
            frame["ref"] = ref
        await self.send(text_data=json.dumps(frame, ensure_ascii=False, default=str))
        if isinstance(error, InvalidMessage | RateLimited):
            now = time.monotonic()
            self.strikes.append(now)
            while self.strikes and self.strikes[0] < now - STRIKE_WINDOW:
                self.strikes.popleft()
            if len(self.strikes) >= STRIKES_TO_CLOSE:
                await self.close(code=CLOSE_ABUSE)

    async def _reply(self, message: dict[str, Any], kind: str, **payload: Any) -> None:
        frame = {"type": kind, **payload}
        if message.get("ref") is not None:
            frame["ref"] = message["ref"]
        await self.send(text_data=json.dumps(frame, ensure_ascii=False, default=str))

    def _signed_in(self) -> User:
        if self.user is None:
            raise SignInRequired(_("sign in to do this"))
        return self.user

    def _staff(self) -> User:
        user = self._signed_in()
        if self.role not in ("host", "moderator"):
            raise NotAllowed(_("only the host or a moderator may do this"))
        return user

    # ---- viewer messages -----------------------------------------------------------------

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self._reply(message, "pong", at=time.time())

    async def on_comment(self, message: dict[str, Any]) -> None:
        user = self._signed_in()
        hub = self.hub
        assert hub is not None
        text = comment_check(
            text=message.get("text"), user_id=user.pk, role=self.role, rules=hub.rules, last_at=None
        )
        draft = CommentDraft(
            opaque_token(9), user.pk, user.get_username(), self.role, text, time.time()
        )
        # rate limit, slow mode and the durable append in one step (shared through Redis)
        await comment_log().admit(
            show_id=hub.show_id,
            draft=draft,
            limited=self.role == "viewer",
            slow_mode_seconds=hub.rules.slow_mode_seconds,
        )
        published = events.comment_event(
            cid=draft.cid,
            author_id=draft.author_id,
            author=draft.author,
            role=draft.role,
            text=draft.text,
            at=draft.at,
        )
        await events.broadcast_async(hub.code, dict(published))
        await self._reply(message, "comment.ok", cid=draft.cid)
        if parse_buy_intent(text) is not None:  # chat never costs a database round trip
            await self._comment_buy(user, text, draft.cid, message)

    async def _comment_buy(self, user: User, text: str, cid: str, message: dict[str, Any]) -> None:
        try:
            outcome = await database_sync_to_async(comment_buy)(
                show=self.show, buyer=user, text=text, cid=cid
            )
        except DomainError as error:
            await self._error(error, message.get("ref"))  # only raised for a buy intent
            return
        if outcome is None:
            return
        _intent, result = outcome
        await self._reply(message, "buy.result", via="comment", cid=cid, **result.as_dict())
        if result.status == "reserved":
            kick_drain(result.drop_id)

    async def on_like(self, message: dict[str, Any]) -> None:
        self._signed_in()
        count = _int(message, "count", 1)
        if not 1 <= count <= MAX_LIKES_PER_MESSAGE:
            raise InvalidMessage(format_lazy(_("count is 1-{max}"), max=MAX_LIKES_PER_MESSAGE))
        assert self.hub is not None
        self.hub.local_likes += count
        self.hub.unsaved_likes += count

    async def _drop(self, message: dict[str, Any]) -> Drop:
        drop_id = message.get("drop")
        if drop_id is None:
            show = await database_sync_to_async(Show.objects.select_related("pinned_item").get)(
                pk=self.show.pk
            )
            found = await database_sync_to_async(drop_for_item)(show, show.pinned_item)
            if found is None:
                raise InvalidMessage(_("nothing is on sale; name a 'drop'"))
            return found
        if not isinstance(drop_id, int) or isinstance(drop_id, bool):
            raise InvalidMessage(_("'drop' must be an integer"))
        assert self.hub is not None

        @database_sync_to_async
        def load() -> Drop | None:
            return (
                Drop.objects.select_related("item", "show__sales_channel")
                .filter(pk=drop_id, show=self.show)
                .first()
            )

        # the database gate needs the drop's current state; the Redis gate keeps its own
        found = await (self.hub.drops.get(drop_id, load) if quota.enabled() else load())
        if found is None:
            raise InvalidMessage(format_lazy(_("no drop {drop_id} in this show"), drop_id=drop_id))
        return found

    async def _variant(self, drop: Drop, sku: str) -> ProductVariant:
        assert self.hub is not None
        product_id = drop.item.product_id

        @database_sync_to_async
        def load() -> ProductVariant | None:
            return ProductVariant.objects.filter(sku=sku, product_id=product_id).first()

        variant = await self.hub.variants.get((sku, product_id), load)
        if variant is None:
            raise InvalidMessage(format_lazy(_("{sku} is not sold in this drop"), sku=sku))
        return variant

    async def on_buy(self, message: dict[str, Any]) -> None:
        user = self._signed_in()
        drop = await self._drop(message)
        variant = await self._variant(drop, _str(message, "sku", limit=64))
        quantity = _int(message, "quantity", 1)
        key = _str(message, "key")
        buy = drops.drop_buy_async if quota.enabled() else database_sync_to_async(drops.drop_buy)
        result = await buy(drop=drop, buyer=user, variant=variant, quantity=quantity, key=key)
        await self._reply(message, "buy.result", **result.as_dict())
        if result.status == "reserved" and not result.replayed:
            kick_drain(result.drop_id)
            if result.left is not None and self.hub is not None:
                self.hub.note_left(drop.pk, result.left)

    async def on_waitlist_join(self, message: dict[str, Any]) -> None:
        user = self._signed_in()
        drop = await self._drop(message)
        variant = await self._variant(drop, _str(message, "sku", limit=64))
        entry = await database_sync_to_async(drops.waitlist_join)(
            drop=drop, user=user, variant=variant, quantity=_int(message, "quantity", 1)
        )
        await self._reply(message, "waitlist.ok", drop=drop.pk, entry=entry.pk)

    async def on_coupon_claim(self, message: dict[str, Any]) -> None:
        user = self._signed_in()
        coupon_id = _int(message, "coupon")
        coupon = await database_sync_to_async(
            lambda: CouponDrop.objects.filter(pk=coupon_id, show=self.show).first()
        )()
        if coupon is None:
            raise InvalidMessage(
                format_lazy(_("no coupon {coupon_id} in this show"), coupon_id=coupon_id)
            )
        claim = await database_sync_to_async(coupons.coupon_claim)(
            coupon=coupon, user=user, key=_str(message, "key")
        )
        await self._reply(message, "coupon.ok", coupon=coupon.pk, code=coupon.code, claim=claim.pk)

    # ---- host and moderator messages -----------------------------------------------------

    async def _host_call(self, message: dict[str, Any], work: Callable[[User], Any]) -> Any:
        user = self._signed_in()
        if self.role != "host":
            raise NotAllowed(_("only the show's host may do this"))
        result = await database_sync_to_async(work)(user)
        await self._reply(message, "ok", of=message["type"])
        return result

    async def on_host_start(self, message: dict[str, Any]) -> None:
        await self._host_call(
            message,
            lambda u: shows.transition_show(show=self.show, target=ShowStatus.LIVE, actor=u),
        )

    async def on_host_end(self, message: dict[str, Any]) -> None:
        await self._host_call(
            message,
            lambda u: shows.transition_show(show=self.show, target=ShowStatus.ENDED, actor=u),
        )

    async def on_host_pin(self, message: dict[str, Any]) -> None:
        label = _str(message, "item", limit=16)
        await self._host_call(
            message, lambda u: shows.show_pin(show=self.show, actor=u, label=label)
        )

    async def on_host_unpin(self, message: dict[str, Any]) -> None:
        await self._host_call(
            message, lambda u: shows.show_pin(show=self.show, actor=u, label=None)
        )

    async def on_host_drop(self, message: dict[str, Any]) -> None:
        label = _str(message, "item", limit=16).upper()
        duration = message.get("duration")
        if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool)):
            raise InvalidMessage(_("'duration' must be an integer number of seconds"))

        def work(user: User) -> Drop:
            item = LineupItem.objects.filter(show=self.show, label=label).first()
            if item is None:
                raise InvalidMessage(
                    format_lazy(_("no line-up item labelled {label}"), label=label)
                )
            return drops.drop_open(
                show=self.show,
                item=item,
                actor=user,
                quota_units=message.get("quota"),
                price_amount=message.get("price"),
                per_buyer_limit=message.get("per_buyer_limit"),
                countdown_seconds=_int(message, "countdown", 0),
                duration_seconds=duration,
            )

        drop = await self._host_call(message, work)
        await self._reply(message, "drop.opened", drop=drop.pk)

    async def on_host_drop_end(self, message: dict[str, Any]) -> None:
        drop = await self._drop(message)
        await self._host_call(message, lambda u: drops.drop_close(drop=drop, actor=u))

    async def on_host_coupon(self, message: dict[str, Any]) -> None:
        code = _str(message, "code", limit=64)
        await self._host_call(
            message,
            lambda u: coupons.coupon_drop_create(
                show=self.show,
                actor=u,
                code=code,
                quantity=_int(message, "quantity"),
                claim_limit=_int(message, "claim_limit", 1),
            ),
        )

    async def on_host_announce(self, message: dict[str, Any]) -> None:
        text = _str(message, "text", limit=300)
        await self._host_call(
            message, lambda u: shows.show_announce(show=self.show, actor=u, text=text)
        )

    async def _mod_call(self, message: dict[str, Any], work: Callable[[User], Any]) -> None:
        user = self._staff()
        await database_sync_to_async(work)(user)
        await self._reply(message, "ok", of=message["type"])

    async def on_mod_delete(self, message: dict[str, Any]) -> None:
        cid = _str(message, "cid", limit=24)
        await self._mod_call(
            message, lambda u: moderation.comment_delete(show=self.show, actor=u, cid=cid)
        )

    async def on_mod_mute(self, message: dict[str, Any]) -> None:
        user_id, minutes = _int(message, "user"), _int(message, "minutes", 10)
        await self._mod_call(
            message,
            lambda u: moderation.user_mute(
                show=self.show, actor=u, user_id=user_id, minutes=minutes
            ),
        )

    async def on_mod_ban(self, message: dict[str, Any]) -> None:
        user_id = _int(message, "user")
        await self._mod_call(
            message, lambda u: moderation.user_ban(show=self.show, actor=u, user_id=user_id)
        )

    async def on_mod_slow_mode(self, message: dict[str, Any]) -> None:
        seconds = _int(message, "seconds")
        await self._mod_call(
            message, lambda u: moderation.slow_mode_set(show=self.show, actor=u, seconds=seconds)
        )

    async def on_mod_blocked_words(self, message: dict[str, Any]) -> None:
        words = message.get("words")
        if not isinstance(words, list):
            raise InvalidMessage(_("'words' must be a list of strings"))
        await self._mod_call(
            message, lambda u: moderation.blocked_words_set(show=self.show, actor=u, words=words)
        )

    HANDLERS: dict[str, Callable[[RoomConsumer, dict[str, Any]], Awaitable[None]]] = {
        "ping": on_ping,
        "comment": on_comment,
        "like": on_like,
        "buy": on_buy,
        "waitlist.join": on_waitlist_join,
        "coupon.claim": on_coupon_claim,
        "host.start": on_host_start,
        "host.end": on_host_end,
        "host.pin": on_host_pin,
        "host.unpin": on_host_unpin,
        "host.drop": on_host_drop,
        "host.drop_end": on_host_drop_end,
        "host.coupon": on_host_coupon,
        "host.announce": on_host_announce,
        "mod.delete": on_mod_delete,
        "mod.mute": on_mod_mute,
        "mod.ban": on_mod_ban,
        "mod.slow_mode": on_mod_slow_mode,
        "mod.blocked_words": on_mod_blocked_words,
    }
