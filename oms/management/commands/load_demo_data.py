"""Load the demo data set (idempotent: ``make demo`` runs it on every start)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oms.errors import InvalidInput
from oms.services.demo_data import DEMO_LOGINS, demo_data_load


class Command(BaseCommand):
    help = "Create or complete the demo merchant, catalog, stock, sales channels and logins."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--products", type=int, default=220, help="catalog size (default 220)")
        parser.add_argument("--seed", type=int, default=7, help="random seed of the catalog")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = demo_data_load(products=options["products"], seed=options["seed"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(
            f"  locations {summary.locations}, sales channels {summary.sales_channels}, "
            f"users {summary.users}"
        )
        self.stdout.write(
            f"  products {summary.products} (+{summary.products_created}), "
            f"variants {summary.variants} (+{summary.variants_created}), "
            f"images generated {summary.images_generated}"
        )
        self.stdout.write(
            f"  stock rows {summary.stock_levels}, units on hand {summary.units_on_hand}, "
            f"receipts this run {summary.stock_receipts}"
        )
        self.stdout.write("Demo logins (password = username):")
        for username, role in DEMO_LOGINS:
            self.stdout.write(f"  {username:<8} {role.value}")
