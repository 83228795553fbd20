"""REST for shows (schedule, line-up, moderators, dashboard) and live checkout.

The room itself is the WebSocket; these are thin: parse, one service, shape.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api import CREATED, acting_user, get_or_404, run_idempotently
from live.api.serializers import LineupItemIn, LiveOrderIn, ModeratorIn, ShowIn, ShowOut
from live.errors import NotAllowed
from live.models import DropClaim, Show
from live.selectors import can_host, show_dashboard
from live.services import checkout, shows
from oms.models import Location, Product, SalesChannel


class ShowListCreate(APIView):
    def get_permissions(self) -> Any:
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(responses=ShowOut(many=True))
    def get(self, request: Request) -> Response:
        rows = Show.objects.select_related("host").prefetch_related("lineup__product")[:100]
        return Response(ShowOut(rows, many=True).data)

    @extend_schema(request=ShowIn, responses=ShowOut)
    def post(self, request: Request) -> Response:
        data = ShowIn(data=request.data)
        data.is_valid(raise_exception=True)
        channel = get_or_404(
            SalesChannel, "sales channel", code=data.validated_data["sales_channel"]
        )
        show = shows.show_create(
            host=acting_user(request),
            title=data.validated_data["title"],
            scheduled_at=data.validated_data["scheduled_at"],
            sales_channel=channel,
        )
        return Response(ShowOut(show).data, status=CREATED)


class ShowDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ShowOut)
    def get(self, request: Request, code: str) -> Response:
        return Response(ShowOut(get_or_404(Show, "show", code=code)).data)


class LineupAdd(APIView):
    @extend_schema(request=LineupItemIn, responses=ShowOut)
    def post(self, request: Request, code: str) -> Response:
        show = get_or_404(Show, "show", code=code)
        data = LineupItemIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        shows.lineup_add(
            show=show,
            actor=acting_user(request),
            product=get_or_404(Product, "product", slug=v["product"]),
            label=v["label"],
            live_price_amount=v["live_price_amount"],
            quota=v["quota"],
            per_buyer_limit=v["per_buyer_limit"],
        )
        return Response(ShowOut(show).data, status=CREATED)


class ModeratorAdd(APIView):
    @extend_schema(request=ModeratorIn, responses=None)
    def post(self, request: Request, code: str) -> Response:
        show = get_or_404(Show, "show", code=code)
        data = ModeratorIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_or_404(User, "user", username=data.validated_data["username"])
        shows.moderator_add(show=show, actor=acting_user(request), user=user)
        return Response({"show": show.code, "moderator": user.username}, status=CREATED)


class Dashboard(APIView):
    @extend_schema(responses=None)
    def get(self, request: Request, code: str) -> Response:
        show = get_or_404(Show, "show", code=code)
        if not can_host(acting_user(request), show):
            raise NotAllowed(_("only the show's host sees its dashboard"))
        viewers = int(cache.get(f"live:viewers:{show.code}") or 0)
        return Response(show_dashboard(show, viewers_now=viewers))


class LiveOrderCreate(APIView):
    """Turn the buyer's live hold into an order at the live price (pending payment)."""

    @extend_schema(request=LiveOrderIn, responses=None)
    def post(self, request: Request) -> Response:
        data = LiveOrderIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        buyer = acting_user(request)

        def work() -> tuple[int, dict[str, Any]]:
            claim = get_or_404(DropClaim, "live hold", hold__token=v["hold"], buyer=buyer)
            pickup = (
                get_or_404(Location, "location", code=v["pickup_location"])
                if v.get("pickup_location")
                else None
            )
            order = checkout.live_order_create(
                claim=claim,
                buyer=buyer,
                fulfilment_method=v["fulfilment_method"],
                shipping_address=v.get("shipping_address"),
                pickup_location=pickup,
            )
            return CREATED, {
                "order": order.number,
                "status": order.status,
                "total_amount": order.total_amount,
                "currency": order.currency,
            }

        return run_idempotently(request, scope="live.order", work=work)
