"""Where checkout learns a live drop's price without importing the live app.

The live app registers a resolver in its ``AppConfig.ready()``:
``register_live_price_resolver(lambda hold: {sku: price} or None)``. Checkout of a
``live_drop`` hold with no resolver answer is refused rather than priced wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from oms.models import Hold

LivePriceResolver = Callable[[Hold], dict[str, int] | None]
_resolvers: list[LivePriceResolver] = []


def register_live_price_resolver(resolver: LivePriceResolver) -> None:
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def live_prices_for(hold: Hold) -> dict[str, int] | None:
    for resolver in _resolvers:
        prices = resolver(hold)
        if prices is not None:
            return prices
    return None
