"""The product document both backends index: one flat record per active product.

Built from oms reads only; price is the cheapest variant's list price and ``in_stock``
says whether any location can still promise a unit of any variant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from oms.models import Location, Product, ProductVariant
from oms.selectors import free_units_by_location


@dataclass(frozen=True, slots=True)
class ProductDocument:
    id: int
    slug: str
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    category: str
    price_amount: int
    currency: str
    in_stock: bool
    created_ts: int  #: seconds since the epoch, for "newest" sorting
    #: variant option values (sizes, colours ...), so "T恤 XL" finds tees sold in XL
    options: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def is_cjk(char: str) -> bool:
    return bool(_CJK.match(char))


def variant_options(variants: Iterable[ProductVariant]) -> str:
    """The distinct option values of a product's variants ("M L XL red"), in first-seen order."""
    values: dict[str, None] = {}
    for v in variants:
        for value in (v.attributes or {}).values():
            if isinstance(value, str | int) and str(value).strip():
                values.setdefault(str(value).strip(), None)
    return " ".join(values)


def product_documents(product_ids: Iterable[int]) -> tuple[list[ProductDocument], list[int]]:
    """Documents for the given products, and the ids that must leave the index."""
    wanted = sorted(set(product_ids))
    products = list(Product.objects.filter(pk__in=wanted, is_active=True).order_by("pk"))
    found = {p.pk for p in products}
    variants: dict[int, list[ProductVariant]] = {}
    for v in ProductVariant.objects.filter(product_id__in=found).order_by("pk"):
        variants.setdefault(v.product_id, []).append(v)
    location_ids = list(Location.objects.values_list("pk", flat=True))
    free = free_units_by_location(
        variant_ids=[v.pk for vs in variants.values() for v in vs], location_ids=location_ids
    )
    stocked = {variant_id for (variant_id, _loc), units in free.items() if units > 0}
    docs: list[ProductDocument] = []
    gone = [pk for pk in wanted if pk not in found]
    for p in products:
        vs = variants.get(p.pk, [])
        if not vs:
            gone.append(p.pk)
            continue
        cheapest = min(vs, key=lambda v: v.price_amount)
        docs.append(
            ProductDocument(
                id=p.pk,
                slug=p.slug,
                name_en=p.name_en,
                name_zh=p.name_zh,
                description_en=p.description_en,
                description_zh=p.description_zh,
                category=p.category,
                price_amount=cheapest.price_amount,
                currency=cheapest.currency,
                in_stock=any(v.pk in stocked for v in vs),
                created_ts=int(p.created_at.timestamp()),
                options=variant_options(vs),
            )
        )
    return docs, sorted(gone)


def all_product_id_batches(batch: int = 500) -> Iterator[list[int]]:
    """Every product id (active or not), in batches, for a full reindex."""
    last = 0
    while True:
        ids = list(
            Product.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]
