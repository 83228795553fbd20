"""Index the demo catalogue for search and create the demo shopper's share link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from social.services.demo import DEMO_SHARER, social_demo_load


class Command(BaseCommand):
    help = "Index the demo catalogue for search and create a demo share link (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = social_demo_load()
        self.stdout.write(self.style.SUCCESS(f"Search index: {summary.indexed} products."))
        if summary.link is not None:
            self.stdout.write(
                f"  share link of '{DEMO_SHARER}': /s/{summary.link.code} "
                f"(open it in another browser, sign in, buy; then GET /api/social/statement)"
            )
