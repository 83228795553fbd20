"""Rebuild the product search index from the catalogue, with a progress bar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from search.backends import get_backend
from search.services import search_catalogue_size, search_reindex


class Command(BaseCommand):
    help = "Rebuild the product search index (embedded or Elasticsearch/OpenSearch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        total = search_catalogue_size()
        with tqdm(
            total=total, unit="product", disable=options["no_progress"], file=self.stderr._out
        ) as bar:
            written = search_reindex(batch=options["batch"], progress=bar.update)
        self.stdout.write(
            f"indexed {written} of {total} products into the {get_backend().name} backend"
        )
