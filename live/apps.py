from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    label = "live"
    verbose_name = "Live rooms"

    def ready(self) -> None:
        """Answer the hooks other apps expose, so they never import the live app."""
        from checkout.live_prices import register_live_price_resolver
        from live.selectors import coupon_claimed_in_room, live_prices_for_hold
        from members.live_coupons import register_live_coupon_claim_checker

        register_live_price_resolver(live_prices_for_hold)
        register_live_coupon_claim_checker(coupon_claimed_in_room)
