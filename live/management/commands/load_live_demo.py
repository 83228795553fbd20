"""Load the live demo show (idempotent: ``make demo`` runs it on every start)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hub.kernel.errors import DomainError
from live.services.demo import live_demo_load


class Command(BaseCommand):
    help = "Create the demo host's scheduled show with five products in its line-up."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            show = live_demo_load()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        labels = ", ".join(show.lineup.values_list("label", flat=True))
        self.stdout.write(self.style.SUCCESS(f"Live demo show {show.code}: {show.title}"))
        self.stdout.write(f"  line-up {labels}; room ws://127.0.0.1:8000/ws/live/{show.code}/")
