"""HTTP edge of sales-channel sync: webhook intake, per-connection health and retry."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_sync.models import Connection
from channels_sync.selectors import connection_health, connections_health
from channels_sync.services.dead_letters import dead_letters_retry
from channels_sync.services.reconcile import orders_reconcile
from channels_sync.services.webhooks import webhook_receive
from channels_sync.states import BreakerState
from hub.api import acting_user, get_or_404
from oms.api.permissions import IsMerchantAdmin


class HealthOut(serializers.Serializer):
    connection_id = serializers.IntegerField()
    sales_channel = serializers.CharField()
    platform = serializers.CharField()
    enabled = serializers.BooleanField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    lag_s = serializers.FloatField()
    last_push_lag_ms = serializers.IntegerField()
    queue_depth = serializers.IntegerField()
    order_pushes_pending = serializers.IntegerField()
    error_rate = serializers.FloatField()
    recent_error_rate = serializers.FloatField()
    throttled_calls = serializers.IntegerField()
    dead_letters = serializers.IntegerField()
    last_reconcile_at = serializers.DateTimeField(allow_null=True)
    last_reconcile_report = serializers.DictField(child=serializers.IntegerField())
    breaker_state = serializers.ChoiceField(choices=BreakerState.choices)
    breaker_failures = serializers.IntegerField()
    breaker_opened_at = serializers.DateTimeField(allow_null=True)
    breaker_retry_at = serializers.DateTimeField(allow_null=True)


class WebhookReceiveApi(APIView):
    """Marketplace webhooks: authenticated by their HMAC signature, not by a session."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()
        delivery_id = serializers.CharField()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Request, connection_id: int) -> Response:
        connection = get_or_404(Connection, "connection", pk=connection_id)
        delivery, created = webhook_receive(
            connection=connection, headers=dict(request.headers), body=request.body
        )
        body = {
            "status": "accepted" if created else "duplicate",
            "delivery_id": delivery.delivery_id,
        }
        return Response(body, status=202 if created else 200)


class ConnectionHealthListApi(APIView):
    permission_classes = [IsMerchantAdmin]

    @extend_schema(responses=HealthOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(HealthOut([asdict(h) for h in connections_health()], many=True).data)


class ConnectionRetryApi(APIView):
    """Requeue every dead letter of one connection; an open breaker probes at once."""

    permission_classes = [IsMerchantAdmin]

    class OutputSerializer(serializers.Serializer):
        requeued = serializers.IntegerField()
        health = HealthOut()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Request, connection_id: int) -> Response:
        connection = get_or_404(Connection, "connection", pk=connection_id)
        count = dead_letters_retry(connection=connection, actor_id=acting_user(request).pk)
        health = asdict(connection_health(connection))
        return Response(self.OutputSerializer({"requeued": count, "health": health}).data)


class ConnectionReconcileApi(APIView):
    """Pull orders changed since the cursor now, instead of waiting for beat."""

    permission_classes = [IsMerchantAdmin]

    @extend_schema(request=None, responses=serializers.DictField(child=serializers.IntegerField()))
    def post(self, request: Request, connection_id: int) -> Response:
        connection = get_or_404(Connection, "connection", pk=connection_id)
        return Response(orders_reconcile(connection=connection))
