"""Start the Shopify, WooCommerce and TOP simulators for the demo (``hub run`` does)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from channels_sync.simulators.runner import run_simulators


class Command(BaseCommand):
    help = "Run local marketplace simulators; a Shopify buyer orders every few seconds."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--webhook-base", default="http://127.0.0.1:8000")
        parser.add_argument("--order-every", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        run_simulators(
            host=options["host"],
            webhook_base=options["webhook_base"],
            order_every_s=options["order_every"],
            log=lambda line: self.stdout.write(line),
        )
