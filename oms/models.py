"""OMS tables: catalog, locations, sales channels, stock truth, holds, orders, returns."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from hub.kernel.money import Money
from oms.states import FulfilmentStatus, HoldStatus, OrderStatus, ReturnStatus

# ==== Catalog ============================================================================


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    default_currency = models.CharField(max_length=3, default="CNY")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="products")
    slug = models.SlugField(max_length=120, unique=True)
    name_en = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200)
    description_en = models.TextField(blank=True)
    description_zh = models.TextField(blank=True)
    category = models.CharField(max_length=64, blank=True, db_index=True)
    image = models.ImageField(upload_to="products/", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name_en


class ProductVariant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=32, unique=True, null=True, blank=True)
    #: e.g. ``{"size": "M", "colour": "red"}``
    attributes = models.JSONField(default=dict, blank=True)
    price_amount = models.PositiveBigIntegerField()  #: list price, minor units
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.sku

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)


class Location(models.Model):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="locations")
    code = models.SlugField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name_en = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField()
    longitude = models.FloatField()
    #: ``{"mon": ["10:00", "22:00"], ...}``; missing day = closed
    opening_hours = models.JSONField(default=dict, blank=True)
    ships = models.BooleanField(default=True)  #: can ship parcels to customers
    pickup = models.BooleanField(default=False)  #: customers can collect orders here
    accepts_returns = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(default=100)  #: lower routes first on ties

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.code


class SalesChannel(models.Model):
    """Where an order comes from: web shop, app, store POS, live room, a marketplace."""

    class Kind(models.TextChoices):
        WEB = "web", "Web shop"
        APP = "app", "App (PWA)"
        POS = "pos", "Store POS"
        LIVE = "live", "Live room"
        MARKETPLACE = "marketplace", "Marketplace"

    class Routing(models.TextChoices):
        NEAREST = "nearest", "Nearest location first, then priority"
        PRIORITY = "priority", "Location priority only"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    #: units kept back at each location before this sales channel may sell them
    safety_stock = models.PositiveIntegerField(default=0)
    routing = models.CharField(max_length=16, choices=Routing.choices, default=Routing.NEAREST)
    allow_split = models.BooleanField(default=True)  #: may one order ship from many locations
    locations = models.ManyToManyField(Location, related_name="sales_channels")

    def __str__(self) -> str:
        return self.code


class ChannelPrice(models.Model):
    """A sales channel's own price for a variant (its price list), in its currency."""

    sales_channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="prices")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="+")
    amount = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sales_channel", "variant"], name="one_price_per_channel"
            )
        ]


class StaffMembership(models.Model):
    """Which stores a store-staff user may work in."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "location"], name="one_membership_per_store")
        ]


# ==== Stock truth ========================================================================


class StockLevel(models.Model):
    """Units of one variant at one location.

    free = on_hand - allocated - reserved. The check constraints are the last line of
    defence: even a buggy caller cannot commit a negative or oversold row.
    """

    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="stock")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.IntegerField(default=0)  #: physically present
    allocated = models.IntegerField(default=0)  #: promised to paid orders
    reserved = models.IntegerField(default=0)  #: held by active holds

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="one_level_per_location"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0) & Q(allocated__gte=0) & Q(reserved__gte=0),
                name="stock_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("allocated") + F("reserved")), name="stock_not_oversold"
            ),
        ]

    @property
    def free(self) -> int:
        return self.on_hand - self.allocated - self.reserved


class StockMovement(models.Model):
    """Append-only ledger: summing the deltas of a (variant, location) gives its level."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", "Received"
        ADJUST = "adjust", "Adjusted (count)"
        RESERVE = "reserve", "Reserved by a hold"
        RELEASE = "release", "Hold released"
        ALLOCATE = "allocate", "Allocated to an order"
        DEALLOCATE = "deallocate", "Allocation cancelled"
        SHIP = "ship", "Left the location"
        RESTOCK = "restock", "Returned to stock"

    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    allocated_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100, blank=True, db_index=True)  #: order/hold/...
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["variant", "location"])]


class Hold(models.Model):
    """Units set aside for a while: a checkout, a live drop, a marketplace listing."""

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", "Checkout"
        LIVE_DROP = "live_drop", "Live drop"
        CHANNEL = "channel", "Sales channel"

    token = models.CharField(max_length=32, unique=True)  #: opaque id shown to clients
    sales_channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            #: the expiry sweep and the "pinned by an expired hold?" check read only
            #: active holds; this stays small however many holds ever ended
            models.Index(
                fields=["expires_at"],
                condition=Q(status=HoldStatus.ACTIVE),
                name="hold_active_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.token


class HoldLine(models.Model):
    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()


# ==== Orders =============================================================================


class Order(models.Model):
    class FulfilmentMethod(models.TextChoices):
        SHIP = "ship", "Ship"
        SHIP_FROM_STORE = "ship_from_store", "Ship from store"
        PICKUP = "pickup", "Pick up in store"

    number = models.CharField(max_length=16, unique=True)  #: opaque, shown to customers
    sales_channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="orders")
    #: the order's id on the sales channel; re-importing the same one is a no-op
    external_ref = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    customer_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=24,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING_PAYMENT,
        db_index=True,
    )
    currency = models.CharField(max_length=3)
    subtotal_amount = models.PositiveBigIntegerField()
    shipping_amount = models.PositiveBigIntegerField(default=0)
    #: coupons, points and promotions, already subtracted from the total
    discount_amount = models.PositiveBigIntegerField(default=0)
    total_amount = models.PositiveBigIntegerField()
    fulfilment_method = models.CharField(max_length=16, choices=FulfilmentMethod.choices)
    pickup_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shipping_address = models.JSONField(default=dict, blank=True)
    ship_to_latitude = models.FloatField(null=True, blank=True)
    ship_to_longitude = models.FloatField(null=True, blank=True)
    hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sales_channel", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="one_import_per_external_ref",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def total(self) -> Money:
        return Money(self.total_amount, self.currency)

    def can_cancel(self) -> bool:
        from oms.states import CANCELLABLE

        return self.status in CANCELLABLE


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)  #: copied: the order keeps what was sold
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price_amount = models.PositiveBigIntegerField()
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_fulfilled__lte=F("quantity"))
                & Q(quantity_returned__lte=F("quantity_fulfilled")),
                name="line_quantities_consistent",
            )
        ]


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Allocation(models.Model):
    """Units of an order line promised at a location and still there."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()


class Fulfilment(models.Model):
    """One parcel or pick-up from one location."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfilments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="fulfilments")
    status = models.CharField(
        max_length=24, choices=FulfilmentStatus.choices, default=FulfilmentStatus.PENDING
    )
    carrier = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    pickup_code = models.CharField(max_length=16, blank=True)  #: shown to the customer only
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]


class FulfilmentLine(models.Model):
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()


class ReturnRequest(models.Model):
    """An RMA; any store that accepts returns can receive it and restock there."""

    rma = models.CharField(max_length=16, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(
        max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    received_at_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    #: decided at inspection: back to sellable stock, or written off
    restock = models.BooleanField(null=True)
