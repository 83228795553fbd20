"""Checkout endpoints: carts, addresses, pick-up stores, quotes and placing orders."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checkout import selectors, services
from checkout.models import Address, Cart
from checkout.pricing import Quote
from hub.api import CREATED, acting_user, get_or_404, run_idempotently
from oms.models import Location, Order, SalesChannel
from social.services.referral import referral_claim_for_checkout

DEFAULT_SALES_CHANNEL = "web"


def _channel(request: Request) -> SalesChannel:
    code = request.query_params.get("sales_channel") or DEFAULT_SALES_CHANNEL
    return get_or_404(SalesChannel, "sales channel", code=code)  # type: ignore[no-any-return]


def _cart(request: Request) -> Cart:
    user = request.user if isinstance(request.user, User) else None
    session_key = ""
    if user is None:
        if not request.session.session_key:
            request.session.save()
        session_key = request.session.session_key or ""
    return services.cart_get(sales_channel=_channel(request), user=user, session_key=session_key)


def _cart_body(cart: Cart) -> dict[str, Any]:
    return {
        "sales_channel": cart.sales_channel.code,
        "lines": [
            {"sku": line.variant.sku, "quantity": line.quantity}
            for line in cart.lines.select_related("variant")
        ],
    }


class CartView(APIView):
    permission_classes = [AllowAny]

    class CartLineIn(serializers.Serializer[Any]):
        sku = serializers.CharField(max_length=64)
        quantity = serializers.IntegerField(min_value=0)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(_cart_body(_cart(request)))

    @extend_schema(request=CartLineIn, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request) -> Response:
        data = self.CartLineIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_set_line(
            cart=_cart(request),
            sku=data.validated_data["sku"],
            quantity=data.validated_data["quantity"],
        )
        return Response(_cart_body(cart))


class CartMergeView(APIView):
    """Called right after sign-in with the anonymous session key the client held."""

    class CartMergeIn(serializers.Serializer[Any]):
        session_key = serializers.CharField(max_length=40)

    @extend_schema(request=CartMergeIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.CartMergeIn(data=request.data)
        data.is_valid(raise_exception=True)
        moved = services.cart_merge(
            session_key=data.validated_data["session_key"], user=acting_user(request)
        )
        return Response({"merged_lines": moved})


class AddressSerializer(serializers.ModelSerializer[Address]):
    class Meta:
        model = Address
        fields = [
            "id",
            "name",
            "phone",
            "region",
            "city",
            "line1",
            "postcode",
            "latitude",
            "longitude",
            "is_default",
        ]
        read_only_fields = ["id"]


class AddressListView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        addresses = selectors.addresses_for(acting_user(request))
        return Response(AddressSerializer(addresses, many=True).data)

    @extend_schema(request=AddressSerializer, responses={201: AddressSerializer})
    def post(self, request: Request) -> Response:
        data = AddressSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = services.address_create(user=acting_user(request), data=dict(data.validated_data))
        return Response(AddressSerializer(address).data, status=CREATED)


class PickupStoresView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        cart = _cart(request)
        stores = selectors.pickup_stores(
            sales_channel=cart.sales_channel, quantities=selectors.cart_quantities(cart)
        )
        return Response(
            [
                {"code": s.code, "name_en": s.name_en, "name_zh": s.name_zh, "address": s.address}
                for s in stores
            ]
        )


class CheckoutIn(serializers.Serializer[Any]):
    address = serializers.IntegerField(required=False)
    pickup_location = serializers.CharField(required=False, max_length=32)
    coupon = serializers.CharField(required=False, default="", allow_blank=True, max_length=32)
    points = serializers.IntegerField(required=False, default=0, min_value=0)


def _destination(user: User, data: dict[str, Any]) -> dict[str, Any]:
    address = (
        get_or_404(Address, "address", pk=data["address"], user=user)
        if data.get("address")
        else None
    )
    pickup = (
        get_or_404(Location, "pick-up store", code=data["pickup_location"])
        if data.get("pickup_location")
        else None
    )
    return {"address": address, "pickup_location": pickup}


def _order_body(order: Order, quote: Quote) -> dict[str, Any]:
    return {
        "order": order.number,
        "status": order.status,
        "total_amount": order.total_amount,
        "currency": order.currency,
        "quote": quote.as_dict(),
    }


class QuoteView(APIView):
    @extend_schema(request=CheckoutIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        data = CheckoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = _cart(request)
        quote = services.checkout_quote(
            sales_channel=cart.sales_channel,
            quantities=selectors.cart_quantities(cart),
            user=user,
            coupon_code=data.validated_data["coupon"],
            points=data.validated_data["points"],
            **_destination(user, data.validated_data),
        )
        return Response(quote.as_dict())


class CheckoutCartView(APIView):
    @extend_schema(request=CheckoutIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        data = CheckoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        referral_claim_for_checkout(user=user, cookies=request.COOKIES)  # share attribution

        def work() -> tuple[int, dict[str, Any]]:
            order, quote = services.checkout_from_cart(
                user=user,
                cart=_cart(request),
                coupon_code=data.validated_data["coupon"],
                points=data.validated_data["points"],
                **_destination(user, data.validated_data),
            )
            return CREATED, _order_body(order, quote)

        return run_idempotently(request, scope="checkout.cart", work=work)


class CheckoutHoldView(APIView):
    """Pay for a live-drop hold. Live prices are looked up server-side by the live app."""

    class CheckoutHoldIn(CheckoutIn):
        hold = serializers.CharField(max_length=32)

    @extend_schema(request=CheckoutHoldIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        data = self.CheckoutHoldIn(data=request.data)
        data.is_valid(raise_exception=True)
        referral_claim_for_checkout(user=user, cookies=request.COOKIES)  # share attribution

        def work() -> tuple[int, dict[str, Any]]:
            order, quote = services.checkout_from_hold(
                user=user,
                hold_token=data.validated_data["hold"],
                coupon_code=data.validated_data["coupon"],
                points=data.validated_data["points"],
                **_destination(user, data.validated_data),
            )
            return CREATED, _order_body(order, quote)

        return run_idempotently(request, scope="checkout.hold", work=work)
