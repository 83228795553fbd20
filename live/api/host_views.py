"""The host console's reads: a host's own shows and one show's room settings.

Thin edges over ``live.selectors``: a host sees only the shows they host (a superuser sees
all); everyone else gets 403. Writes go through the existing show services and the room
WebSocket (``host.*`` / ``mod.*``), never through these views.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api import acting_user, get_or_404
from hub.kernel.roles import Role, user_has_role
from live.api.serializers import LineupItemOut, ShowOut
from live.errors import NotAllowed
from live.models import Show
from live.selectors import can_host, room_settings

#: How many of a host's shows the console lists (newest scheduled first).
HOST_SHOWS_LIMIT = 100


class HostLineupItemOut(LineupItemOut):
    """A line-up item with its product's names, for the console's table."""

    product_name_en = serializers.CharField(source="product.name_en", read_only=True)
    product_name_zh = serializers.CharField(source="product.name_zh", read_only=True)

    class Meta(LineupItemOut.Meta):
        fields = [*LineupItemOut.Meta.fields, "product_name_en", "product_name_zh"]


class HostShowOut(ShowOut):
    """A show as its host sees it: the public fields plus the room's moderation settings."""

    lineup = HostLineupItemOut(many=True, read_only=True)
    pinned = serializers.CharField(source="pinned_item.label", default=None, read_only=True)
    slow_mode_seconds = serializers.IntegerField(read_only=True)
    blocked_words = serializers.ListField(child=serializers.CharField(), read_only=True)
    sales_channel = serializers.CharField(source="sales_channel.code", read_only=True)
    currency = serializers.CharField(source="sales_channel.currency", read_only=True)

    class Meta(ShowOut.Meta):
        fields = [
            *ShowOut.Meta.fields,
            "pinned",
            "slow_mode_seconds",
            "blocked_words",
            "sales_channel",
            "currency",
        ]


class HostShowList(APIView):
    """``GET``: the signed-in host's shows; 403 for anyone who is not a host."""

    @extend_schema(responses=HostShowOut(many=True))
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        if not user_has_role(user, Role.HOST):
            raise NotAllowed(_("only hosts have a host console"))
        rows = Show.objects.select_related("host", "sales_channel", "pinned_item").prefetch_related(
            "lineup__product"
        )
        if not user.is_superuser:
            rows = rows.filter(host=user)
        return Response(HostShowOut(rows[:HOST_SHOWS_LIMIT], many=True).data)


class HostShowDetail(APIView):
    """``GET``: one show for its host, with mutes and bans currently in force."""

    @extend_schema(responses=HostShowOut)
    def get(self, request: Request, code: str) -> Response:
        show = get_or_404(Show, "show", code=code)
        if not can_host(acting_user(request), show):
            raise NotAllowed(_("only the show's host opens its console"))
        settings = room_settings(show)
        body: dict[str, Any] = dict(HostShowOut(show).data)
        body["muted"] = sorted(settings.muted_until)
        body["banned"] = sorted(settings.banned)
        return Response(body)
