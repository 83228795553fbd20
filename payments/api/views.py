"""Payment endpoints: thin edges over ``payments.services``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api import CREATED, acting_user, get_or_404, run_idempotently
from hub.kernel.errors import DomainError, NotFound, error_body
from hub.kernel.roles import user_is_merchant_admin
from oms.models import Order
from payments import services
from payments.errors import InvalidPaymentInput
from payments.models import Payment, Refund
from payments.providers import get_provider
from payments.providers.sandbox.client import SandboxProvider
from payments.simulators.demo import payer_url


class PaymentOut(serializers.ModelSerializer[Payment]):
    order = serializers.CharField(source="order.number")
    #: Demo only: where to "pay on the phone" when the gateway is a mounted simulator.
    simulator_pay_url = serializers.SerializerMethodField()

    def get_simulator_pay_url(self, payment: Payment) -> str | None:
        return payer_url(payment.provider, payment.reference)

    class Meta:
        model = Payment
        fields = [
            "reference",
            "order",
            "provider",
            "method",
            "status",
            "amount",
            "currency",
            "refunded_amount",
            "client_payload",
            "created_at",
            "paid_at",
            "simulator_pay_url",
        ]


class RefundOut(serializers.ModelSerializer[Refund]):
    class Meta:
        model = Refund
        fields = ["reference", "amount", "status", "reason", "created_at"]


def _client_ip(request: Request | HttpRequest) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or str(request.META.get("REMOTE_ADDR", ""))


class PaymentCreateView(APIView):
    class PaymentCreateIn(serializers.Serializer[Any]):
        order = serializers.CharField(max_length=16)
        provider = serializers.ChoiceField(choices=["sandbox", "wechatpay", "alipay"])
        method = serializers.CharField(max_length=16)
        openid = serializers.CharField(max_length=128, required=False, default="")
        return_url = serializers.URLField(required=False, default="")

    @extend_schema(request=PaymentCreateIn, responses={201: PaymentOut})
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        serializer = self.PaymentCreateIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = get_or_404(Order, "order", number=data["order"], customer=user)
        device_id = request.headers.get("X-Device-Id", "")[:64]
        # Outside the request's transaction, so a flagged order stays flagged for staff.
        services.payment_risk_check(order=order, device_id=device_id, client_ip=_client_ip(request))

        def work() -> tuple[int, dict[str, Any]]:
            payment = services.payment_create(
                order=order,
                provider=data["provider"],
                method=data["method"],
                actor=user,
                client_ip=_client_ip(request),
                openid=data["openid"],
                return_url=data["return_url"],
                device_id=device_id,
            )
            return CREATED, dict(PaymentOut(payment).data)

        return run_idempotently(request, scope="payments.create", work=work)


class PaymentDetailView(APIView):
    @extend_schema(responses={200: PaymentOut})
    def get(self, request: Request, reference: str) -> Response:
        user = acting_user(request)
        payment = get_or_404(Payment, "payment", reference=reference)
        if payment.order.customer_id != user.pk and not user_is_merchant_admin(user):
            raise NotFound(f"payment not found (reference={reference})")
        return Response(PaymentOut(payment).data)


class RefundCreateView(APIView):
    class RefundCreateIn(serializers.Serializer[Any]):
        amount = serializers.IntegerField(min_value=1)
        reason = serializers.CharField(max_length=200)

    @extend_schema(request=RefundCreateIn, responses={201: RefundOut})
    def post(self, request: Request, reference: str) -> Response:
        user = acting_user(request)
        if not user_is_merchant_admin(user):
            raise NotFound(f"payment not found (reference={reference})")
        serializer = self.RefundCreateIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = request.headers.get("Idempotency-Key")
        if not key:
            raise InvalidPaymentInput("a staff refund needs an Idempotency-Key header")

        def work() -> tuple[int, dict[str, Any]]:
            payment = get_or_404(Payment, "payment", reference=reference)
            refund = services.payment_refund(
                payment=payment,
                amount=data["amount"],
                reason=data["reason"],
                source_key=f"staff:{payment.reference}:{key}"[:100],
                actor=user,
            )
            return CREATED, dict(RefundOut(refund).data)

        return run_idempotently(request, scope="payments.refund", work=work)


# ---- gateway callbacks and the sandbox page (plain Django: raw bodies, no session) --------


@csrf_exempt
@require_POST
def notification_view(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        ack, _ = services.payment_handle_notification(
            provider=provider, headers=dict(request.headers), body=request.body
        )
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


@require_http_methods(["GET", "POST"])
def sandbox_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The sandbox's hosted payment page: pay, fail or cancel (no card data, ever)."""
    provider = get_provider("sandbox")
    assert isinstance(provider, SandboxProvider)
    payment = Payment.objects.filter(reference=reference, provider="sandbox").first()
    if payment is None or provider.trade(reference) is None:
        return HttpResponse(status=404)
    result = None
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        if outcome not in {"succeeded", "failed", "closed"}:
            return HttpResponse("unknown outcome", status=400)
        headers, body = provider.settle(reference=reference, outcome=outcome)
        ack, _ = services.payment_handle_notification(
            provider="sandbox", headers=headers, body=body
        )
        payment.refresh_from_db()
        result = ack.status
    return render(
        request,
        "payments/sandbox_page.html",
        {"payment": payment, "result": result},
        status=200,
    )
