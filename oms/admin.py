"""Back office. Stock and orders are read-only here: they change only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from oms import models
from oms.services.catalog import product_changed


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VariantInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.ProductVariant
    extra = 0


@admin.register(models.Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["slug", "name_en", "name_zh", "category", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["slug", "name_en", "name_zh", "variants__sku"]
    inlines = [VariantInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        product_changed(product=form.instance)  # after the variants are saved too


@admin.register(models.Location)
class LocationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "code",
        "kind",
        "name_en",
        "city",
        "ships",
        "pickup",
        "accepts_returns",
        "priority",
    ]


@admin.register(models.SalesChannel)
class SalesChannelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "kind", "currency", "safety_stock", "routing", "allow_split"]


admin.site.register(models.Merchant)
admin.site.register(models.StaffMembership)
admin.site.register(models.ChannelPrice)


@admin.register(models.StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["variant", "location", "on_hand", "allocated", "reserved"]
    list_filter = ["location"]
    search_fields = ["variant__sku"]


@admin.register(models.StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "variant",
        "location",
        "kind",
        "on_hand_delta",
        "allocated_delta",
        "reserved_delta",
        "reference",
        "created_at",
    ]
    list_filter = ["kind", "location"]
    search_fields = ["variant__sku", "reference"]


@admin.register(models.Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["token", "sales_channel", "kind", "status", "expires_at"]
    list_filter = ["status", "kind"]


class OrderLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = models.OrderLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "sku",
        "product_name",
        "quantity",
        "unit_price_amount",
        "quantity_fulfilled",
        "quantity_returned",
    ]
    exclude = ["variant"]


@admin.register(models.Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "sales_channel",
        "status",
        "total_amount",
        "currency",
        "fulfilment_method",
        "created_at",
    ]
    list_filter = ["status", "sales_channel", "fulfilment_method"]
    search_fields = ["number", "external_ref", "customer_email"]
    inlines = [OrderLineInline]


@admin.register(models.ReturnRequest)
class ReturnAdmin(ReadOnlyAdmin):
    list_display = ["rma", "order", "status", "received_at_location", "created_at"]
