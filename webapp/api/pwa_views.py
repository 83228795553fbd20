"""PWA-only JSON endpoints: web push consent, show reminders, payment choices and the
WeChat Pay QR, the member centre. Thin edges over ``webapp.push.services`` and selectors."""

from __future__ import annotations

import io
from typing import Any

import qrcode
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api import CREATED, acting_user, get_or_404
from hub.kernel.errors import NotFound
from live.models import Show
from payments.models import Payment
from webapp.models import ShowReminder
from webapp.push import services
from webapp.push.vapid import application_server_key
from webapp.selectors import member_centre, payment_methods, variants_detail


class PushKeyView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"public_key": application_server_key()})


class PushSubscriptionView(APIView):
    """POST a ``PushSubscription.toJSON()`` (after the shopper pressed "notify me")."""

    permission_classes = [IsAuthenticated]

    class KeysIn(serializers.Serializer[Any]):
        p256dh = serializers.CharField(max_length=200)
        auth = serializers.CharField(max_length=64)

    class SubscriptionIn(serializers.Serializer[Any]):
        endpoint = serializers.URLField(max_length=1000)
        keys = serializers.DictField(child=serializers.CharField(max_length=200))
        locale = serializers.ChoiceField(choices=["zh-CN", "en"], default="zh-CN")

    class EndpointIn(serializers.Serializer[Any]):
        endpoint = serializers.URLField(max_length=1000)

    @extend_schema(request=SubscriptionIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.SubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        keys = self.KeysIn(data=data.validated_data["keys"])
        keys.is_valid(raise_exception=True)
        subscription = services.push_subscribe(
            user=acting_user(request),
            endpoint=data.validated_data["endpoint"],
            p256dh=keys.validated_data["p256dh"],
            auth=keys.validated_data["auth"],
            locale=data.validated_data["locale"],
        )
        return Response({"id": subscription.pk}, status=CREATED)

    @extend_schema(request=EndpointIn, responses={204: None})
    def delete(self, request: Request) -> Response:
        data = self.EndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.push_unsubscribe(
            user=acting_user(request), endpoint=data.validated_data["endpoint"]
        )
        return Response(status=204)


class ReminderView(APIView):
    permission_classes = [IsAuthenticated]

    class ReminderIn(serializers.Serializer[Any]):
        show = serializers.CharField(max_length=24)
        on = serializers.BooleanField(default=True)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        codes = ShowReminder.objects.filter(
            user=acting_user(request), notified_at__isnull=True
        ).values_list("show__code", flat=True)
        return Response({"shows": sorted(codes)})

    @extend_schema(request=ReminderIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.ReminderIn(data=request.data)
        data.is_valid(raise_exception=True)
        show = get_or_404(Show, "show", code=data.validated_data["show"])
        on = services.show_reminder_set(
            user=acting_user(request), show=show, on=data.validated_data["on"]
        )
        return Response({"show": show.code, "on": on})


class PaymentMethodsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"methods": payment_methods()})


class PaymentQrView(APIView):
    """The WeChat Pay Native ``code_url`` as a QR image, for the payment's own customer."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request: Request, reference: str) -> HttpResponse:
        payment = get_or_404(Payment, "payment", reference=reference)
        code_url = (payment.client_payload or {}).get("code_url")
        if payment.order.customer_id != acting_user(request).pk or not code_url:
            raise NotFound(f"payment not found (reference={reference})")
        buffer = io.BytesIO()
        qrcode.make(str(code_url), box_size=8, border=2).save(buffer, format="PNG")
        response = HttpResponse(buffer.getvalue(), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response


class MemberCentreView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(member_centre(user=acting_user(request)))


class VariantsView(APIView):
    """``?sku=A&sku=B``: the catalogue facts the cart page shows for its lines."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        skus = [s for s in request.query_params.getlist("sku") if s][:100]
        return Response({"variants": variants_detail(skus=skus)})
