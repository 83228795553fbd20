"""Input and output shapes of the OMS API."""

from __future__ import annotations

from rest_framework import serializers

from oms.models import (
    Fulfilment,
    Hold,
    Location,
    Order,
    OrderLine,
    Product,
    ProductVariant,
    ReturnLine,
    ReturnRequest,
    StockLevel,
    StockMovement,
)

MAX_LINES = 100


# ---- inputs -----------------------------------------------------------------------------


class LineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class ShipToIn(serializers.Serializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


class HoldIn(serializers.Serializer):
    sales_channel = serializers.SlugField()
    lines = LineIn(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    ttl_seconds = serializers.IntegerField(min_value=1, max_value=24 * 3600, default=900)
    fulfilment_method = serializers.ChoiceField(
        choices=Order.FulfilmentMethod.choices, default="ship"
    )
    pickup_location = serializers.SlugField(required=False)
    ship_to = ShipToIn(required=False)


class OrderIn(serializers.Serializer):
    sales_channel = serializers.SlugField()
    lines = LineIn(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    fulfilment_method = serializers.ChoiceField(choices=Order.FulfilmentMethod.choices)
    pickup_location = serializers.SlugField(required=False)
    shipping_address = serializers.DictField(required=False)
    ship_to = ShipToIn(required=False)
    shipping_amount = serializers.IntegerField(min_value=0, default=0)
    customer_email = serializers.EmailField(required=False, default="")
    hold = serializers.CharField(required=False, max_length=32)
    external_ref = serializers.CharField(required=False, max_length=100)
    paid = serializers.BooleanField(default=False)
    payment_reference = serializers.CharField(required=False, default="", max_length=100)


class StockReceiveIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.SlugField()
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    reason = serializers.CharField(required=False, default="", max_length=200)
    reference = serializers.CharField(required=False, default="", max_length=100)


class StockAdjustIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.SlugField()
    delta = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000)
    reason = serializers.CharField(max_length=200)


class ShipIn(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)
    #: order line id -> units, to ship part of the parcel
    quantities = serializers.DictField(child=serializers.IntegerField(min_value=0), required=False)

    def validate_quantities(self, value: dict[str, int]) -> dict[int, int]:
        if not all(str(key).isdigit() for key in value):
            raise serializers.ValidationError("keys must be order line ids")
        return {int(key): units for key, units in value.items()}


class HandoverIn(serializers.Serializer):
    pickup_code = serializers.CharField(max_length=16)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", max_length=200)


class PaidIn(serializers.Serializer):
    payment_reference = serializers.CharField(max_length=100)


class ReturnLineIn(serializers.Serializer):
    order_line = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)


class ReturnIn(serializers.Serializer):
    order = serializers.CharField(max_length=16)
    lines = ReturnLineIn(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    reason = serializers.CharField(required=False, default="", max_length=200)


class ReturnReceiveIn(serializers.Serializer):
    location = serializers.SlugField()


class InspectLineIn(serializers.Serializer):
    return_line = serializers.IntegerField()
    restock = serializers.BooleanField()


class ReturnInspectIn(serializers.Serializer):
    lines = InspectLineIn(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]


# ---- outputs ----------------------------------------------------------------------------


class VariantOut(serializers.ModelSerializer):
    class Meta:
        model = ProductVariant
        fields = ["sku", "barcode", "attributes", "price_amount", "currency"]


class ProductOut(serializers.ModelSerializer):
    variants = VariantOut(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name_en",
            "name_zh",
            "description_en",
            "description_zh",
            "category",
            "image",
            "variants",
        ]


class LocationOut(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = [
            "code",
            "kind",
            "name_en",
            "name_zh",
            "address",
            "city",
            "latitude",
            "longitude",
            "opening_hours",
            "ships",
            "pickup",
            "accepts_returns",
            "priority",
        ]


class StockLevelOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    free = serializers.IntegerField()

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "allocated", "reserved", "free"]


class StockMovementOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "sku",
            "location",
            "kind",
            "on_hand_delta",
            "allocated_delta",
            "reserved_delta",
            "reason",
            "reference",
            "created_at",
        ]


class HoldOut(serializers.ModelSerializer):
    sales_channel = serializers.CharField(source="sales_channel.code")
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Hold
        fields = ["token", "sales_channel", "kind", "status", "expires_at", "lines"]

    def get_lines(self, hold: Hold) -> list[dict[str, object]]:
        return [
            {"sku": line.variant.sku, "location": line.location.code, "quantity": line.quantity}
            for line in hold.lines.select_related("variant", "location")
        ]


class OrderLineOut(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = [
            "id",
            "sku",
            "product_name",
            "quantity",
            "unit_price_amount",
            "quantity_fulfilled",
            "quantity_returned",
        ]


class FulfilmentOut(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Fulfilment
        fields = ["id", "location", "status", "carrier", "tracking_number", "lines"]

    def get_lines(self, fulfilment: Fulfilment) -> list[dict[str, object]]:
        return [
            {"order_line": line.order_line_id, "quantity": line.quantity}
            for line in fulfilment.lines.all()
        ]


class OrderOut(serializers.ModelSerializer):
    sales_channel = serializers.CharField(source="sales_channel.code")
    pickup_location = serializers.CharField(source="pickup_location.code", default=None)
    hold = serializers.CharField(source="hold.token", default=None)
    lines = OrderLineOut(many=True, read_only=True)
    fulfilments = FulfilmentOut(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "sales_channel",
            "external_ref",
            "status",
            "currency",
            "subtotal_amount",
            "shipping_amount",
            "discount_amount",
            "total_amount",
            "fulfilment_method",
            "pickup_location",
            "shipping_address",
            "hold",
            "payment_reference",
            "created_at",
            "lines",
            "fulfilments",
        ]


class ReturnLineOut(serializers.ModelSerializer):
    order_line = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    #: the product name as sold (copied onto the order line)
    name = serializers.CharField(source="order_line.product_name")

    class Meta:
        model = ReturnLine
        fields = ["id", "order_line", "sku", "name", "quantity", "restock"]


class ReturnOut(serializers.ModelSerializer):
    """An RMA; read it through ``selectors.returns_with_lines`` (two queries in all)."""

    order = serializers.CharField(source="order.number")
    received_at_location = serializers.CharField(source="received_at_location.code", default=None)
    lines = ReturnLineOut(many=True, read_only=True)

    class Meta:
        model = ReturnRequest
        fields = ["rma", "order", "status", "received_at_location", "reason", "lines"]


class PickListRowOut(serializers.Serializer):
    sku = serializers.CharField()
    product_name = serializers.CharField()
    quantity = serializers.IntegerField()
    orders = serializers.ListField(child=serializers.CharField())
