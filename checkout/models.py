"""Carts, the address book and the regional shipping and tax tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Cart(models.Model):
    """A server-side cart: one per signed-in user, or per anonymous session."""

    sales_channel = models.ForeignKey(
        "oms.SalesChannel", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sales_channel", "user"],
                condition=Q(user__isnull=False),
                name="one_cart_per_user_and_channel",
            ),
            models.UniqueConstraint(
                fields=["sales_channel", "session_key"],
                condition=Q(user__isnull=True),
                name="one_cart_per_session_and_channel",
            ),
        ]


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("oms.ProductVariant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="one_line_per_variant")
        ]


class Address(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    name = models.CharField(max_length=100)
    phone = models.CharField(max_length=20)
    region = models.CharField(max_length=32)  #: province code for shipping/tax, e.g. ``SH``
    city = models.CharField(max_length=100)
    line1 = models.CharField(max_length=200)
    postcode = models.CharField(max_length=12, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "id"]

    def as_shipping_address(self) -> dict[str, str]:
        return {
            "name": self.name,
            "phone": self.phone,
            "region": self.region,
            "city": self.city,
            "line1": self.line1,
            "postcode": self.postcode,
        }


class ShippingRate(models.Model):
    """Shipping fee by region; ``region='*'`` is the fallback."""

    region = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    amount = models.PositiveBigIntegerField()
    free_over = models.PositiveBigIntegerField(null=True, blank=True)  #: goods total

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "currency"], name="one_rate_per_region")
        ]


class TaxRate(models.Model):
    """Tax by region; ``included`` prices already contain it (China VAT), else it is added."""

    region = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    rate_bp = models.PositiveIntegerField()  #: basis points, 1300 = 13%
    included = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "currency"], name="one_tax_per_region")
        ]
