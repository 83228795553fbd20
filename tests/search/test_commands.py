"""The reindex command rebuilds the index from the catalogue, idempotently."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from oms.models import Product
from search.backends import get_backend

pytestmark = pytest.mark.django_db


def test_reindex_command_indexes_every_active_product(catalogue: dict[str, Product]) -> None:
    Product.objects.filter(slug="tea-set").update(is_active=False)
    out, err = StringIO(), StringIO()
    call_command("search_reindex", "--batch", "2", stdout=out, stderr=err)
    call_command("search_reindex", stdout=StringIO(), stderr=StringIO())
    assert get_backend().count() == 4
    assert f"indexed 4 of 5 products into the {get_backend().name} backend" in out.getvalue()
    assert "5/5" in err.getvalue()
