"""Connect the demo marketplaces (idempotent: ``make demo`` runs it on every start)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_sync.services.demo import sync_demo_load
from oms.errors import InvalidInput


class Command(BaseCommand):
    help = "Create the WooCommerce/Taobao sales channels, simulator connections and listings."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = sync_demo_load()
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Sync demo loaded: {summary.connections} connections, {summary.listings} listings."
            )
        )
