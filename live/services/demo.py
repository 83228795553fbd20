"""The live demo: one scheduled show by the demo host with five catalog products."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from live.errors import InvalidMessage
from live.models import Show
from live.services.shows import lineup_add, show_create
from oms.models import Product, SalesChannel

DEMO_TITLE = "LiveHub launch show · 开播特卖"
LINEUP_SIZE = 5


def live_demo_load(*, host_username: str = "host") -> Show:
    """Create the demo show once; running it again returns the same show."""
    host = User.objects.filter(username=host_username).first()
    channel = SalesChannel.objects.filter(code="live").first()
    if host is None or channel is None:
        raise InvalidMessage(
            _("run load_demo_data first (needs the 'host' user and 'live' channel)")
        )
    existing = Show.objects.filter(host=host, title=DEMO_TITLE).first()
    if existing is not None:
        return existing
    products = list(
        Product.objects.filter(is_active=True, variants__isnull=False)
        .distinct()
        .order_by("id")[:LINEUP_SIZE]
    )
    with transaction.atomic():
        show = show_create(
            host=host,
            title=DEMO_TITLE,
            scheduled_at=timezone.now() + timedelta(hours=1),
            sales_channel=channel,
        )
        for number, product in enumerate(products, start=1):
            list_price = min(v.price_amount for v in product.variants.all())
            lineup_add(
                show=show,
                actor=host,
                product=product,
                label=f"A{number}",
                live_price_amount=list_price * 8 // 10,
                quota=50,
                per_buyer_limit=2,
            )
    return show
