from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hub.kernel.models import AuditEvent, OutboxMessage


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "chain",
        "seq",
        "kind",
        "aggregate_type",
        "aggregate_id",
        "actor_id",
        "created_at",
    ]
    list_filter = ["aggregate_type", "kind", "chain"]
    search_fields = ["aggregate_id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxAdmin(AuditEventAdmin):
    list_display = ["id", "topic", "created_at", "dispatched_at", "attempts"]
    list_filter = ["topic"]
    search_fields = ["topic"]
