"""OMS API views: parse input, call one service or selector, shape the output."""

from __future__ import annotations

import io
from typing import Any

import qrcode
from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api import CREATED, acting_user, get_or_404, run_idempotently
from hub.kernel.audit import audit_verify_chain
from hub.kernel.errors import PermissionDenied
from hub.kernel.roles import Role, user_has_role, user_is_merchant_admin
from oms import selectors
from oms.access import require_location_access
from oms.api import serializers as s
from oms.api.permissions import IsMerchantAdmin, IsStoreStaffOrAdmin
from oms.models import (
    Fulfilment,
    Hold,
    Location,
    Order,
    Product,
    ProductVariant,
    ReturnRequest,
    SalesChannel,
)
from oms.routing import ShipTo
from oms.services import fulfilment as fulfilment_services
from oms.services.holds import hold_create, hold_release
from oms.services.orders import (
    OrderLineInput,
    order_cancel,
    order_create,
    order_mark_paid,
    resolve_lines,
)
from oms.services.returns import return_inspect, return_receive, return_request
from oms.services.stock import stock_adjust, stock_receive


def _valid(serializer_class: type[s.serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _ship_to(data: dict[str, Any]) -> ShipTo | None:
    point = data.get("ship_to")
    return ShipTo(point["latitude"], point["longitude"]) if point else None


def _location(code: str | None) -> Location | None:
    return get_or_404(Location, "location", code=code) if code else None


def _is_staff(request: Request) -> bool:
    return user_has_role(request.user, Role.STORE_STAFF) or user_is_merchant_admin(request.user)


# ---- catalog ----------------------------------------------------------------------------


@extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("category", str)])
class ProductList(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.ProductOut

    def get_queryset(self) -> Any:
        products = Product.objects.filter(is_active=True).prefetch_related("variants")
        query = self.request.query_params.get("q", "").strip()
        if query:
            products = products.filter(
                Q(name_en__icontains=query)
                | Q(name_zh__icontains=query)
                | Q(variants__sku__iexact=query)
            ).distinct()
        category = self.request.query_params.get("category")
        if category:
            products = products.filter(category=category)
        return products


class ProductDetail(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.ProductOut
    queryset = Product.objects.filter(is_active=True).prefetch_related("variants")
    lookup_field = "slug"


class LocationList(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.LocationOut
    queryset = Location.objects.all()
    pagination_class = None


class Availability(APIView):
    """Available-to-promise per SKU on one sales channel."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("sku", str, many=True)], responses=dict[str, int])
    def get(self, request: Request, code: str) -> Response:
        sales_channel = get_or_404(SalesChannel, "sales channel", code=code)
        skus = request.query_params.getlist("sku")
        variants = selectors.variants_by_sku(skus)
        atp = selectors.available_to_promise(
            sales_channel=sales_channel, variant_ids=[v.pk for v in variants.values()]
        )
        unknown = sorted(set(skus) - set(variants))
        return Response(
            {
                "sales_channel": code,
                "available": {sku: atp[v.pk] for sku, v in variants.items()},
                "unknown": unknown,
            }
        )


# ---- stock ------------------------------------------------------------------------------


class StockLevelList(generics.ListAPIView):
    permission_classes = [IsStoreStaffOrAdmin]
    serializer_class = s.StockLevelOut

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return selectors.stock_levels_visible(
            user=self.request.user, sku=params.get("sku"), location=params.get("location")
        )


class StockMovementList(generics.ListAPIView):
    permission_classes = [IsStoreStaffOrAdmin]
    serializer_class = s.StockMovementOut

    def get_queryset(self) -> Any:
        return selectors.stock_movements_visible(
            user=self.request.user, sku=self.request.query_params.get("sku")
        )


def _variant_and_location(
    request: Request, data: dict[str, Any]
) -> tuple[ProductVariant, Location]:
    """The SKU and location a stock request names, after checking the caller works there."""
    variant = get_or_404(ProductVariant, "SKU", sku=data["sku"])
    location = get_or_404(Location, "location", code=data["location"])
    require_location_access(user=request.user, location=location)
    return variant, location


class StockReceive(APIView):
    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(request=s.StockReceiveIn, responses=s.StockLevelOut)
    def post(self, request: Request) -> Response:
        data = _valid(s.StockReceiveIn, request)
        variant, location = _variant_and_location(request, data)
        level = stock_receive(
            variant=variant,
            location=location,
            quantity=data["quantity"],
            reason=data["reason"],
            reference=data["reference"],
            actor=acting_user(request),
        )
        return Response(s.StockLevelOut(level).data, status=CREATED)


class StockAdjust(APIView):
    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(request=s.StockAdjustIn, responses=s.StockLevelOut)
    def post(self, request: Request) -> Response:
        data = _valid(s.StockAdjustIn, request)
        variant, location = _variant_and_location(request, data)
        level = stock_adjust(
            variant=variant,
            location=location,
            delta=data["delta"],
            reason=data["reason"],
            actor=acting_user(request),
        )
        return Response(s.StockLevelOut(level).data)


# ---- holds ------------------------------------------------------------------------------


class HoldCreate(APIView):
    @extend_schema(request=s.HoldIn, responses={201: s.HoldOut})
    def post(self, request: Request) -> Response:
        data = _valid(s.HoldIn, request)

        def work() -> tuple[int, dict[str, Any]]:
            hold = hold_create(
                sales_channel=get_or_404(SalesChannel, "sales channel", code=data["sales_channel"]),
                quantities=resolve_lines([OrderLineInput(**line) for line in data["lines"]]),
                owner=acting_user(request),
                ttl_seconds=data["ttl_seconds"],
                method=data["fulfilment_method"],
                pickup_location=_location(data.get("pickup_location")),
                ship_to=_ship_to(data),
                actor=acting_user(request),
            )
            return CREATED, s.HoldOut(hold).data

        return run_idempotently(request, scope="holds.create", work=work)


class HoldDetail(APIView):
    @extend_schema(responses=s.HoldOut)
    def get(self, request: Request, token: str) -> Response:
        return Response(s.HoldOut(self._own_hold(request, token)).data)

    @extend_schema(responses=s.HoldOut)
    def delete(self, request: Request, token: str) -> Response:
        hold = hold_release(hold=self._own_hold(request, token), actor=acting_user(request))
        return Response(s.HoldOut(hold).data)

    def _own_hold(self, request: Request, token: str) -> Hold:
        hold: Hold = get_or_404(Hold, "hold", token=token)
        if hold.owner_id != request.user.pk and not _is_staff(request):
            raise PermissionDenied("this hold belongs to someone else")
        return hold


# ---- orders -----------------------------------------------------------------------------


@extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("sales_channel", str)])
class OrderListCreate(generics.ListAPIView):
    """The order inbox (GET) and order creation for every sales channel (POST)."""

    serializer_class = s.OrderOut

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return selectors.order_inbox(
            user=self.request.user, status=params.get("status"), channel=params.get("sales_channel")
        )

    @extend_schema(request=s.OrderIn, responses={201: s.OrderOut})
    def post(self, request: Request) -> Response:
        data = _valid(s.OrderIn, request)
        imported = bool(data["paid"] or data.get("external_ref"))
        if imported and not _is_staff(request):
            raise PermissionDenied("only staff may import paid or external orders")
        # Staff importing a marketplace or till order act for a customer, not as one.
        customer = None if imported else acting_user(request)

        def work() -> tuple[int, dict[str, Any]]:
            hold_token = data.get("hold")
            order = order_create(
                sales_channel=get_or_404(SalesChannel, "sales channel", code=data["sales_channel"]),
                lines=[OrderLineInput(**line) for line in data["lines"]],
                fulfilment_method=data["fulfilment_method"],
                customer=customer,
                customer_email=data["customer_email"] or getattr(request.user, "email", ""),
                pickup_location=_location(data.get("pickup_location")),
                shipping_address=data.get("shipping_address"),
                ship_to=_ship_to(data),
                shipping_amount=data["shipping_amount"],
                external_ref=data.get("external_ref"),
                hold=get_or_404(Hold, "hold", token=hold_token) if hold_token else None,
                paid=data["paid"],
                payment_reference=data["payment_reference"],
                actor=acting_user(request),
            )
            return CREATED, s.OrderOut(order).data

        return run_idempotently(request, scope="orders.create", work=work)


def _visible_order(request: Request, number: str) -> Order:
    order: Order = get_or_404(Order, "order", number=number)
    if not selectors.order_inbox(user=request.user).filter(pk=order.pk).exists():
        raise PermissionDenied("you cannot see this order")
    return order


class OrderDetail(APIView):
    @extend_schema(responses=s.OrderOut)
    def get(self, request: Request, number: str) -> Response:
        return Response(s.OrderOut(_visible_order(request, number)).data)


class OrderMarkPaid(APIView):
    """Record a payment taken outside the payment providers (till, bank transfer)."""

    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(request=s.PaidIn, responses=s.OrderOut)
    def post(self, request: Request, number: str) -> Response:
        data = _valid(s.PaidIn, request)
        order = order_mark_paid(
            order=_visible_order(request, number),
            payment_reference=data["payment_reference"],
            actor=acting_user(request),
        )
        return Response(s.OrderOut(order).data)


class OrderCancel(APIView):
    @extend_schema(request=s.ReasonIn, responses=s.OrderOut)
    def post(self, request: Request, number: str) -> Response:
        data = _valid(s.ReasonIn, request)
        order = _visible_order(request, number)
        if not _is_staff(request) and order.status != "pending_payment":
            raise PermissionDenied("a paid order is cancelled by the store; contact support")
        order = order_cancel(order=order, actor=acting_user(request), reason=data["reason"])
        return Response(s.OrderOut(order).data)


# ---- fulfilment -------------------------------------------------------------------------


class PickList(APIView):
    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(responses=s.PickListRowOut(many=True))
    def get(self, request: Request, code: str) -> Response:
        location = get_or_404(Location, "location", code=code)
        require_location_access(user=request.user, location=location)
        rows = selectors.pick_list(location=location)
        return Response(s.PickListRowOut(rows, many=True).data)


class FulfilmentStep(APIView):
    """POST /api/fulfilments/<id>/<step>/: pick, pack, ship, deliver, ready, handover."""

    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(request=s.ShipIn, responses=s.OrderOut)
    def post(self, request: Request, pk: int, step: str) -> Response:
        fulfilment: Fulfilment = get_or_404(Fulfilment, "fulfilment", pk=pk)
        actor = acting_user(request)
        if step == "pick":
            fulfilment_services.fulfilment_start_picking(fulfilment=fulfilment, actor=actor)
        elif step == "pack":
            fulfilment_services.fulfilment_pack(fulfilment=fulfilment, actor=actor)
        elif step == "ship":
            data = _valid(s.ShipIn, request)
            quantities = data.get("quantities") or None
            fulfilment_services.fulfilment_ship(
                fulfilment=fulfilment,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                quantities=quantities,
                actor=actor,
            )
        elif step == "deliver":
            fulfilment_services.fulfilment_mark_delivered(fulfilment=fulfilment, actor=actor)
        elif step == "ready":
            fulfilment_services.fulfilment_ready_for_pickup(fulfilment=fulfilment, actor=actor)
        elif step == "handover":
            data = _valid(s.HandoverIn, request)
            fulfilment_services.fulfilment_handover(
                fulfilment=fulfilment, pickup_code=data["pickup_code"], actor=actor
            )
        else:
            return Response(
                {
                    "error": {
                        "code": "unknown_step",
                        "message": f"unknown step {step!r}",
                        "details": {},
                    }
                },
                status=status.HTTP_404_NOT_FOUND,
            )
        order = Order.objects.get(pk=fulfilment.order_id)
        return Response(s.OrderOut(order).data)


class PickupQr(APIView):
    """The pick-up code as a QR PNG, for the customer's phone or the store's scanner."""

    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request: Request, pk: int) -> HttpResponse:
        fulfilment: Fulfilment = get_or_404(Fulfilment, "fulfilment", pk=pk)
        _visible_order(request, fulfilment.order.number)
        if not fulfilment.pickup_code:
            return Response(
                {
                    "error": {
                        "code": "not_ready",
                        "message": "not ready for pickup yet",
                        "details": {},
                    }
                },
                status=status.HTTP_409_CONFLICT,
            )
        image = qrcode.make(f"livehub:pickup:{fulfilment.order.number}:{fulfilment.pickup_code}")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return HttpResponse(buffer.getvalue(), content_type="image/png")


# ---- returns ----------------------------------------------------------------------------


class ReturnCreate(APIView):
    @extend_schema(request=s.ReturnIn, responses={201: s.ReturnOut})
    def post(self, request: Request) -> Response:
        data = _valid(s.ReturnIn, request)
        order = _visible_order(request, data["order"])
        quantities: dict[int, int] = {}
        for line in data["lines"]:
            quantities[line["order_line"]] = (
                quantities.get(line["order_line"], 0) + line["quantity"]
            )
        rma = return_request(
            order=order, quantities=quantities, reason=data["reason"], actor=acting_user(request)
        )
        return Response(s.ReturnOut(selectors.return_for_output(pk=rma.pk)).data, status=CREATED)


class ReturnReceive(APIView):
    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(request=s.ReturnReceiveIn, responses=s.ReturnOut)
    def post(self, request: Request, rma: str) -> Response:
        data = _valid(s.ReturnReceiveIn, request)
        found: ReturnRequest = get_or_404(ReturnRequest, "return", rma=rma)
        location = get_or_404(Location, "location", code=data["location"])
        # Staff receive parcels only at their own stores (admins anywhere), as for pick/pack.
        require_location_access(user=request.user, location=location)
        received = return_receive(rma=found, location=location, actor=acting_user(request))
        return Response(s.ReturnOut(selectors.return_for_output(pk=received.pk)).data)


class ReturnInspect(APIView):
    permission_classes = [IsStoreStaffOrAdmin]

    @extend_schema(request=s.ReturnInspectIn, responses=s.ReturnOut)
    def post(self, request: Request, rma: str) -> Response:
        data = _valid(s.ReturnInspectIn, request)
        found = return_inspect(
            rma=get_or_404(ReturnRequest, "return", rma=rma),
            restock={line["return_line"]: line["restock"] for line in data["lines"]},
            actor=acting_user(request),
        )
        return Response(s.ReturnOut(selectors.return_for_output(pk=found.pk)).data)


# ---- audit ------------------------------------------------------------------------------


class AuditVerify(APIView):
    permission_classes = [IsMerchantAdmin]

    @extend_schema(responses=dict[str, Any])
    def get(self, request: Request) -> Response:
        report = audit_verify_chain()
        return Response(
            {
                "intact": report.intact,
                "checked": report.checked,
                "chains": report.chains,
                "breaks": [
                    {"chain": b.chain, "seq": b.seq, "reason": b.reason} for b in report.breaks[:50]
                ],
            }
        )
