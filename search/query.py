"""One query model and one results contract for every backend.

The Elasticsearch/OpenSearch request bodies are built here too, so the official
``elasticsearch`` client and ``opensearch-py`` send the very same DSL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hub.kernel.errors import DomainError
from search.documents import is_cjk

Sort = Literal["relevance", "price_asc", "price_desc", "newest"]
SORTS: tuple[str, ...] = ("relevance", "price_asc", "price_desc", "newest")
MAX_QUERY_CHARS = 100
MAX_PAGE_SIZE = 50
MAX_SUGGEST = 10
#: Exact below 4 characters, 1 edit below 7, then 2 (the embedded engine matches this).
FUZZINESS = "AUTO:4,7"

#: Price facet buckets in minor units: [from, to). ``None`` is open-ended.
PRICE_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("0-50", None, 5000),
    ("50-100", 5000, 10000),
    ("100-200", 10000, 20000),
    ("200-500", 20000, 50000),
    ("500+", 50000, None),
)


class InvalidSearch(DomainError):
    code = "invalid_search"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    category: str | None = None
    price_min: int | None = None  #: inclusive, minor units
    price_max: int | None = None  #: exclusive, minor units
    in_stock: bool | None = None
    sort: Sort = "relevance"
    page: int = 1
    size: int = 20

    def __post_init__(self) -> None:
        if len(self.text) > MAX_QUERY_CHARS:
            raise InvalidSearch(f"query is longer than {MAX_QUERY_CHARS} characters")
        if self.sort not in SORTS:
            raise InvalidSearch(f"unknown sort '{self.sort}'", allowed=list(SORTS))
        if self.page < 1 or not 1 <= self.size <= MAX_PAGE_SIZE:
            raise InvalidSearch(f"page must be >= 1 and size between 1 and {MAX_PAGE_SIZE}")
        if self.price_min is not None and self.price_min < 0:
            raise InvalidSearch("price_min must not be negative")
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_max <= self.price_min
        ):
            raise InvalidSearch("price_max must be greater than price_min")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    slug: str
    name_en: str
    name_zh: str
    category: str
    price_amount: int
    currency: str
    in_stock: bool


@dataclass(frozen=True, slots=True)
class FacetBucket:
    key: str
    count: int


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]] = field(default_factory=dict)
    corrected: str | None = None  #: the query actually run when a typo was corrected


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    text: str  #: the product name in the language that matched
    lang: Literal["en", "zh"]


def price_bucket_key(amount: int) -> str:
    for key, lo, hi in PRICE_BUCKETS:
        if (lo is None or amount >= lo) and (hi is None or amount < hi):
            return key
    raise AssertionError("buckets cover every amount")


# --- Elasticsearch / OpenSearch DSL ----------------------------------------------------

INDEX_SETTINGS: dict[str, Any] = {
    "analysis": {
        "tokenizer": {"cjk_gram": {"type": "ngram", "min_gram": 1, "max_gram": 2}},
        "analyzer": {
            "cjk_gram": {"type": "custom", "tokenizer": "cjk_gram", "filter": ["lowercase"]},
        },
    }
}

INDEX_MAPPINGS: dict[str, Any] = {
    "properties": {
        "id": {"type": "long"},
        "slug": {"type": "keyword"},
        "name_en": {
            "type": "text",
            "analyzer": "standard",
            "fields": {"suggest": {"type": "search_as_you_type"}},
        },
        "name_zh": {
            "type": "text",
            "analyzer": "cjk",
            "fields": {"gram": {"type": "text", "analyzer": "cjk_gram"}},
        },
        "description_en": {"type": "text", "analyzer": "standard"},
        "description_zh": {"type": "text", "analyzer": "cjk"},
        "category": {"type": "keyword"},
        "price_amount": {"type": "long"},
        "currency": {"type": "keyword"},
        "in_stock": {"type": "boolean"},
        "created_ts": {"type": "long"},
    }
}

_TEXT_FIELDS = ["name_en^3", "name_zh^3", "description_en", "description_zh"]


def es_filters(q: SearchQuery, *, skip: str | None = None) -> list[dict[str, Any]]:
    """Filter clauses; ``skip`` leaves one out so its own facet still shows alternatives."""
    filters: list[dict[str, Any]] = []
    if q.category and skip != "category":
        filters.append({"term": {"category": q.category}})
    if (q.price_min is not None or q.price_max is not None) and skip != "price":
        bounds: dict[str, int] = {}
        if q.price_min is not None:
            bounds["gte"] = q.price_min
        if q.price_max is not None:
            bounds["lt"] = q.price_max
        filters.append({"range": {"price_amount": bounds}})
    if q.in_stock is not None and skip != "in_stock":
        filters.append({"term": {"in_stock": q.in_stock}})
    return filters


def es_text_query(text: str) -> dict[str, Any]:
    if not text.strip():
        return {"match_all": {}}
    return {
        "bool": {
            "should": [
                {
                    "multi_match": {
                        "query": text,
                        "fields": _TEXT_FIELDS,
                        "fuzziness": FUZZINESS,
                        "minimum_should_match": "100%",
                    }
                },
                *_gram_clause(text),
            ],
            "minimum_should_match": 1,
        }
    }


def _gram_clause(text: str) -> list[dict[str, Any]]:
    """Every CJK character of ``text`` must occur in the Chinese name (typed fragments).

    ``minimum_should_match: 100%`` rather than ``operator: and``: same meaning in
    Elasticsearch and OpenSearch, and osmem honours only the former.
    """
    cjk = "".join(ch for ch in text if is_cjk(ch))
    if not cjk:
        return []
    return [{"match": {"name_zh.gram": {"query": cjk, "minimum_should_match": "100%"}}}]


def es_search_body(q: SearchQuery) -> dict[str, Any]:
    """The search request: text + filters, facets as aggregations, sort, paging."""
    sort: list[Any]
    if q.sort == "price_asc":
        sort = [{"price_amount": "asc"}, {"id": "asc"}]
    elif q.sort == "price_desc":
        sort = [{"price_amount": "desc"}, {"id": "asc"}]
    elif q.sort == "newest":
        sort = [{"created_ts": "desc"}, {"id": "desc"}]
    else:
        sort = ["_score", {"id": "asc"}]
    ranges = []
    for key, lo, hi in PRICE_BUCKETS:
        r: dict[str, Any] = {"key": key}
        if lo is not None:
            r["from"] = lo
        if hi is not None:
            r["to"] = hi
        ranges.append(r)
    return {
        "query": {"bool": {"must": [es_text_query(q.text)], "filter": es_filters(q)}},
        "sort": sort,
        "from": q.offset,
        "size": q.size,
        "track_total_hits": True,
        "aggs": {
            "category": {"terms": {"field": "category", "size": 50}},
            "price": {"range": {"field": "price_amount", "ranges": ranges}},
            "in_stock": {"terms": {"field": "in_stock"}},
        },
    }


def es_suggest_body(prefix: str, size: int) -> dict[str, Any]:
    """As-you-type: English word prefixes (typo tolerant) or Chinese character grams."""
    return {
        "query": {
            "bool": {
                "should": [
                    {
                        "multi_match": {
                            "query": prefix,
                            "type": "bool_prefix",
                            "fields": [
                                "name_en.suggest",
                                "name_en.suggest._2gram",
                                "name_en.suggest._3gram",
                            ],
                            "fuzziness": FUZZINESS,
                        }
                    },
                    *_gram_clause(prefix),
                ],
                "minimum_should_match": 1,
            }
        },
        "size": size,
        "_source": ["id", "name_en", "name_zh"],
    }
