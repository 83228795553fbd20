"""Member endpoints: sign-in (code, password, WeChat) and the member's own summary."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.contrib.auth.models import User
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checkout.services import cart_merge
from hub.api import acting_user, get_or_404
from hub.kernel.errors import PermissionDenied
from hub.kernel.ids import opaque_token
from hub.kernel.roles import user_is_merchant_admin
from members import signin
from members.errors import SignInFailed
from members.models import BlocklistEntry, PointsEntry, RiskAssessment
from members.risk import InvalidRiskInput, blocklist_add, risk_decide
from members.selectors import blocklist_entries, risk_reviews
from members.services import member_tier, points_balance
from oms.models import Order


def _client_ip(request: Request) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _signed_in(request: Request, user: User) -> Response:
    """Log the user in and fold the anonymous session's cart into theirs."""
    anonymous_session = request.session.session_key or ""
    django_request: HttpRequest = request._request
    login(django_request, user, backend="django.contrib.auth.backends.ModelBackend")
    merged = cart_merge(session_key=anonymous_session, user=user) if anonymous_session else 0
    return Response({"user": user.username, "merged_cart_lines": merged})


class OtpRequestView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class OtpRequestIn(serializers.Serializer[Any]):
        phone = serializers.CharField(max_length=20)

    @extend_schema(request=OtpRequestIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.OtpRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        signin.otp_request(phone=data.validated_data["phone"], client_ip=_client_ip(request))
        return Response({"sent": True}, status=202)


class OtpVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class OtpVerifyIn(serializers.Serializer[Any]):
        phone = serializers.CharField(max_length=20)
        code = serializers.CharField(max_length=6)

    @extend_schema(request=OtpVerifyIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.OtpVerifyIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = signin.otp_verify(**data.validated_data)
        return _signed_in(request, user)


class PasswordSignInView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class PasswordSignInIn(serializers.Serializer[Any]):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256)

    @extend_schema(request=PasswordSignInIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.PasswordSignInIn(data=request.data)
        data.is_valid(raise_exception=True)
        return _signed_in(request, signin.password_sign_in(**data.validated_data))


class WeChatAuthorizeView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        state = opaque_token(12)
        request.session["wechat_oauth_state"] = state
        return Response({"authorize_url": signin.wechat_authorize_url(state=state)})


class WeChatCallbackView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        expected = request.session.pop("wechat_oauth_state", None)
        if not expected or request.query_params.get("state") != expected:
            raise SignInFailed("WeChat sign-in state does not match; start again")
        return _signed_in(request, signin.wechat_sign_in(code=request.query_params.get("code", "")))


class MeView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        tier = member_tier(user)
        ledger = PointsEntry.objects.filter(user=user).order_by("-id")[:50]
        return Response(
            {
                "user": user.username,
                "tier": tier.code if tier else None,
                "points": points_balance(user),
                "ledger": [
                    {
                        "kind": e.kind,
                        "delta": e.delta,
                        "order": e.order_number,
                        "expires_at": e.expires_at,
                        "created_at": e.created_at,
                    }
                    for e in ledger
                ],
            }
        )


class RiskDecideView(APIView):
    """Staff read why an order was flagged and approve or reject it."""

    class RiskDecisionIn(serializers.Serializer[Any]):
        approve = serializers.BooleanField()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, number: str) -> Response:
        _staff(request)
        assessment = get_or_404(RiskAssessment, "risk review", order__number=number)
        return Response(
            {"order": number, "status": assessment.status, "reasons": assessment.reasons}
        )

    @extend_schema(request=RiskDecisionIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, number: str) -> Response:
        user = _staff(request)
        data = self.RiskDecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = get_or_404(Order, "order", number=number)
        assessment = risk_decide(order=order, approve=data.validated_data["approve"], actor=user)
        return Response(
            {"order": number, "status": assessment.status, "reasons": assessment.reasons}
        )


def _review(assessment: RiskAssessment) -> dict[str, Any]:
    order = assessment.order
    return {
        "order": order.number,
        "status": assessment.status,
        "reasons": assessment.reasons,
        "order_status": order.status,
        "total_amount": order.total_amount,
        "currency": order.currency,
        "customer": order.customer.username if order.customer else None,
        "device_id": assessment.device_id,
        "client_ip": assessment.client_ip,
        "decided_by": assessment.decided_by.username if assessment.decided_by else None,
        "created_at": assessment.created_at,
    }


class RiskReviewListView(APIView):
    """Staff: the orders waiting for a risk decision (or decided ones), with the reasons."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _staff(request)
        status = request.query_params.get("status", RiskAssessment.Status.FLAGGED)
        if status not in RiskAssessment.Status.values:
            raise InvalidRiskInput(
                f"status must be one of {', '.join(RiskAssessment.Status.values)}"
            )
        reviews = risk_reviews(status=status)[:200]
        return Response({"status": status, "results": [_review(a) for a in reviews]})


class BlocklistView(APIView):
    """Staff: list and add blocklist entries (user, phone, device, IP, address)."""

    class BlocklistIn(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=BlocklistEntry.Kind.values)
        value = serializers.CharField(max_length=400)
        reason = serializers.CharField(max_length=200, required=False, default="")

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _staff(request)
        kind = request.query_params.get("kind", "")
        entries = blocklist_entries(kind=kind)[:500]
        return Response(
            {
                "results": [
                    {
                        "kind": e.kind,
                        "value": e.value,
                        "reason": e.reason,
                        "created_at": e.created_at,
                    }
                    for e in entries
                ]
            }
        )

    @extend_schema(request=BlocklistIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        user = _staff(request)
        data = self.BlocklistIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = blocklist_add(actor=user, **data.validated_data)
        return Response({"kind": entry.kind, "value": entry.value, "reason": entry.reason}, 201)


def _staff(request: Request) -> User:
    user = acting_user(request)
    if not user_is_merchant_admin(user):
        raise PermissionDenied("only merchant admins review risky orders")
    return user
