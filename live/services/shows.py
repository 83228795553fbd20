"""Shows: create, line-up, moderators, start/end, pin/unpin, announcements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from hub.kernel.errors import InvalidTransition
from hub.kernel.ids import opaque_token
from hub.kernel.outbox import outbox_publish
from hub.kernel.roles import Role, user_has_role
from hub.kernel.states import require_transition
from live import events, locks
from live.errors import InvalidMessage, NotAllowed
from live.models import Drop, LineupItem, Show, ShowModerator
from live.selectors import can_host, drop_for_item, item_state
from live.services.drops import _close, drop_open
from live.services.replay import replay_mark
from live.states import SHOW_TRANSITIONS, DropStatus, ShowStatus
from oms.models import Product, SalesChannel

MAX_ANNOUNCEMENT = 300


def show_create(
    *, host: User, title: str, scheduled_at: datetime, sales_channel: SalesChannel
) -> Show:
    """A host schedules a show; the code in its URL is opaque."""
    if not user_has_role(host, Role.HOST):
        raise NotAllowed(_("only hosts may create shows"))
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise InvalidMessage(_("a title of 1-200 characters is required"))
    if sales_channel.kind != SalesChannel.Kind.LIVE:
        raise InvalidMessage(_("a show sells through a live sales channel"))
    with transaction.atomic():
        show = Show.objects.create(
            code=opaque_token(9),
            host=host,
            title=title,
            scheduled_at=scheduled_at,
            sales_channel=sales_channel,
        )
        show_id = show.pk
        after_commit(lambda: _stream_ensure(show_id))
        audit_record(
            kind="live.show.created",
            aggregate_type="live_show",
            aggregate_id=show.code,
            actor_id=host.pk,
            payload={"title": title, "scheduled_at": scheduled_at.isoformat()},
        )
    return show


def _stream_ensure(show_id: int) -> None:
    """Give a new show its video stream (and key) right away (after commit)."""
    from live.video.services.streams import stream_ensure

    stream_ensure(show=Show.objects.get(pk=show_id))


def lineup_add(
    *,
    show: Show,
    actor: User,
    product: Product,
    label: str,
    live_price_amount: int,
    quota: int,
    per_buyer_limit: int = 1,
) -> LineupItem:
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may change its line-up"))
    label = (label or "").strip().upper()
    if not label or len(label) > 16 or " " in label:
        raise InvalidMessage(_("a label of 1-16 characters without spaces is required"))
    if live_price_amount < 0 or quota < 1 or per_buyer_limit < 1:
        raise InvalidMessage(_("price must be >= 0, quota and per-buyer limit >= 1"))
    if LineupItem.objects.filter(show=show, label=label).exists():
        raise InvalidMessage(
            format_lazy(_("label {label} is already used in this show"), label=label)
        )
    with transaction.atomic():
        return LineupItem.objects.create(
            show=show,
            product=product,
            label=label,
            position=show.lineup.count(),
            live_price_amount=live_price_amount,
            quota=quota,
            per_buyer_limit=per_buyer_limit,
        )


def moderator_add(*, show: Show, actor: User, user: User) -> ShowModerator:
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may assign moderators"))
    with transaction.atomic():
        row, _created = ShowModerator.objects.get_or_create(show=show, user=user)
        audit_record(
            kind="live.moderator.added",
            aggregate_type="live_show",
            aggregate_id=show.code,
            actor_id=actor.pk,
            payload={"user": user.pk},
        )
    after_commit(lambda: events.broadcast(show.code, events.event("room.settings")))
    return row


def transition_show(*, show: Show, target: str, actor: User) -> Show:
    """Start or end a show (host only); ending closes its open drops."""
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may start or end it"))
    with transaction.atomic():
        show = locks.lock_show(show.pk)
        require_transition(SHOW_TRANSITIONS, aggregate="show", current=show.status, target=target)
        now = timezone.now()
        previous = show.status
        show.status = target
        if target == ShowStatus.LIVE:
            show.started_at = now
        if target == ShowStatus.ENDED:
            show.ended_at = now
            for drop in Drop.objects.filter(show=show, status=DropStatus.OPEN):
                try:
                    _close(drop=drop, actor=actor)
                except InvalidTransition:
                    continue
        show.save(update_fields=["status", "started_at", "ended_at"])
        audit_record(
            kind=f"live.show.{target}",
            aggregate_type="live_show",
            aggregate_id=show.code,
            actor_id=actor.pk,
            payload={},
        )
        # for the rest of the system ("your show is live" pushes), delivered at least once
        outbox_publish(
            topic="show.status_changed", payload={"show": show.code, "from": previous, "to": target}
        )
        code = show.code
        after_commit(lambda: events.broadcast(code, events.event("room.status", status=target)))
    return show


def show_pin(*, show: Show, actor: User, label: str | None) -> Show:
    """Pin a line-up item (opening its standing drop) or unpin with ``label=None``."""
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may pin products"))
    item: LineupItem | None = None
    if label is not None:
        item = (
            LineupItem.objects.select_related("product", "show__sales_channel")
            .filter(show=show, label=str(label).strip().upper())
            .first()
        )
        if item is None:
            raise InvalidMessage(format_lazy(_("no line-up item labelled {label!r}"), label=label))
    with transaction.atomic():
        show = locks.lock_show(show.pk)
        show.pinned_item = item
        show.save(update_fields=["pinned_item"])
        if item is not None and drop_for_item(show, item) is None:
            drop_open(show=show, item=item, actor=actor, kind=Drop.Kind.PINNED)
        state = item_state(item)
        code = show.code
        after_commit(lambda: events.broadcast(code, events.event("room.pinned", item=state)))
        if item is not None:
            marker = {"item": item.label, "product": item.product_id,
                      "price": item.live_price_amount}  # fmt: skip
            replay_mark(show_id=show.pk, kind="pin", payload=marker)
        else:
            replay_mark(show_id=show.pk, kind="unpin", payload={})
    return show


def show_announce(*, show: Show, actor: User, text: str) -> dict[str, Any]:
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may announce"))
    text = (text or "").strip()
    if not 1 <= len(text) <= MAX_ANNOUNCEMENT:
        raise InvalidMessage(
            format_lazy(_("an announcement has 1-{max} characters"), max=MAX_ANNOUNCEMENT)
        )
    payload = events.event("room.announcement", text=text, at=timezone.now().timestamp())
    events.broadcast(show.code, payload)
    return payload
