from __future__ import annotations

from typing import Any

from rest_framework import serializers

from live.models import LineupItem, Show


class LineupItemOut(serializers.ModelSerializer[LineupItem]):
    product: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = LineupItem
        fields = ["label", "product", "position", "live_price_amount", "quota", "per_buyer_limit"]


class ShowOut(serializers.ModelSerializer[Show]):
    host = serializers.CharField(source="host.username", read_only=True)
    lineup = LineupItemOut(many=True, read_only=True)
    ws_path = serializers.SerializerMethodField()

    class Meta:
        model = Show
        fields = [
            "code",
            "title",
            "host",
            "status",
            "scheduled_at",
            "started_at",
            "ended_at",
            "like_count",
            "peak_viewers",
            "lineup",
            "ws_path",
        ]

    def get_ws_path(self, show: Show) -> str:
        return f"/ws/live/{show.code}/"


class ShowIn(serializers.Serializer[None]):
    title = serializers.CharField(max_length=200)
    scheduled_at = serializers.DateTimeField()
    sales_channel = serializers.SlugField(default="live")


class LineupItemIn(serializers.Serializer[None]):
    product = serializers.SlugField()
    label = serializers.CharField(max_length=16)  # type: ignore[assignment]
    live_price_amount = serializers.IntegerField(min_value=0)
    quota = serializers.IntegerField(min_value=1)
    per_buyer_limit = serializers.IntegerField(min_value=1, default=1)


class ModeratorIn(serializers.Serializer[None]):
    username = serializers.CharField(max_length=150)


class LiveOrderIn(serializers.Serializer[None]):
    hold = serializers.CharField(max_length=32)
    fulfilment_method = serializers.ChoiceField(choices=["ship", "ship_from_store", "pickup"])
    shipping_address = serializers.DictField(required=False)
    pickup_location = serializers.SlugField(required=False)
