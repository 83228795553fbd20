"""Comment-to-buy: a chat line with a buy keyword becomes a hold on the pinned or named item."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from live.errors import DropNotOpen, InvalidMessage
from live.intents import BuyIntent, match_variant, parse_buy_intent
from live.models import LineupItem, Show
from live.selectors import drop_for_item
from live.services.drops import BuyResult, drop_buy


def comment_buy(
    *, show: Show, buyer: User, text: str, cid: str
) -> tuple[BuyIntent, BuyResult] | None:
    """Buy what the comment asks for, once per comment id; None when it is just chat."""
    intent = parse_buy_intent(text)
    if intent is None:
        return None
    show.refresh_from_db(fields=["pinned_item"])
    item: LineupItem | None
    if intent.label is not None:
        item = LineupItem.objects.filter(show=show, label=intent.label).first()
        if item is None:
            raise InvalidMessage(
                format_lazy(_("no product labelled {label} in this show"), label=intent.label)
            )
    else:
        item = show.pinned_item
        if item is None:
            raise InvalidMessage(_("no product is pinned; name one, e.g. SOLD A12"))
    drop = drop_for_item(show, item)
    if drop is None:
        raise DropNotOpen(format_lazy(_("{label} is not on sale right now"), label=item.label))
    variants = list(item.product.variants.all())
    variant = match_variant(variants, intent.hints)
    if variant is None:
        options = ", ".join(
            "/".join(str(v) for v in (x.attributes or {}).values()) or x.sku for x in variants
        )
        raise InvalidMessage(
            format_lazy(_("which one? say e.g. '买 1 XL' ({options})"), options=options)
        )
    result = drop_buy(
        drop=drop, buyer=buyer, variant=variant, quantity=intent.quantity, key=f"comment:{cid}"
    )
    return intent, result
