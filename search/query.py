"""One query model and one results contract for every backend.

The Elasticsearch/OpenSearch request bodies are built here too, so the official
``elasticsearch`` client and ``opensearch-py`` send the very same DSL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hub.kernel.errors import DomainError
from search.analysis import QueryTerms, allowed_edits, cjk_allowed_misses

Sort = Literal["relevance", "price_asc", "price_desc", "newest"]
SORTS: tuple[str, ...] = ("relevance", "price_asc", "price_desc", "newest")
MAX_QUERY_CHARS = 100
MAX_PAGE_SIZE = 50
MAX_SUGGEST = 10
#: Matches read per suggestion request (in id order) before ordering them for display.
SUGGEST_CANDIDATES = 200
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


def suggestion_order(rows: list[tuple[int, str, str]], typed: str) -> list[tuple[int, str, str]]:
    """Order (id, name_en, name_zh) candidates for display, the same on every backend:
    names that start with what was typed first, shorter names next, then id."""
    lowered = typed.lower()

    def key(row: tuple[int, str, str]) -> tuple[bool, int, int]:
        starts = row[1].lower().startswith(lowered) or row[2].startswith(typed)
        return (not starts, min(len(row[1]), len(row[2])), row[0])

    return sorted(rows, key=key)


def suggestions_from(
    rows: list[tuple[int, str, str]], *, typed: str, terms: QueryTerms, size: int
) -> list[Suggestion]:
    """Distinct names in the language typed (Chinese when any CJK was typed)."""
    lang: Literal["en", "zh"] = "zh" if terms.cjk else "en"
    seen: set[str] = set()
    out: list[Suggestion] = []
    for doc_id, name_en, name_zh in suggestion_order(rows, typed):
        text = name_zh if lang == "zh" else name_en
        if text in seen:
            continue
        seen.add(text)
        out.append(Suggestion(id=doc_id, text=text, lang=lang))
        if len(out) == size:
            break
    return out


def price_bucket_key(amount: int) -> str:
    for key, lo, hi in PRICE_BUCKETS:
        if (lo is None or amount >= lo) and (hi is None or amount < hi):
            return key
    raise AssertionError("buckets cover every amount")


# --- Elasticsearch / OpenSearch DSL ----------------------------------------------------
#
# The index mirrors the embedded engine's analysis (``search.analysis``): every text field
# is analysed into Latin words plus CJK bigrams (``lh_text``), and a ``.uni`` sub-field keeps
# single CJK characters (``lh_uni``). Queries are built term by term from the shared
# ``query_terms``: each term must occur in some field (cross-field AND), which is what makes
# mixed queries such as "iPhone 手机壳" or "蓝牙 earbuds" work. Built-in ``cjk`` analysis
# drops English stop words ("t" of "T恤") and ``multi_match`` needs every word in one field,
# so both were replaced. osmem indexes ``cjk_bigram``'s ``output_unigrams`` without the
# unigrams, hence the sub-field.

INDEX_SETTINGS: dict[str, Any] = {
    "analysis": {
        "analyzer": {
            "lh_text": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "asciifolding", "cjk_bigram"],
            },
            "lh_uni": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "asciifolding"],
            },
        },
    }
}

_TEXT: dict[str, Any] = {
    "type": "text",
    "analyzer": "lh_text",
    "fields": {"uni": {"type": "text", "analyzer": "lh_uni"}},
}

#: Bumped when analysis or fields change: an index built under another version answers
#: differently and must be rebuilt (``manage.py search_reindex``).
MAPPING_VERSION = 2

INDEX_MAPPINGS: dict[str, Any] = {
    "_meta": {"livehub_mapping": MAPPING_VERSION},
    "properties": {
        "id": {"type": "long"},
        "slug": {"type": "keyword", "fields": {"words": _TEXT}},
        "name_en": _TEXT,
        "name_zh": _TEXT,
        "description_en": _TEXT,
        "description_zh": _TEXT,
        "options": _TEXT,
        "category": {"type": "keyword", "fields": {"words": _TEXT}},
        "price_amount": {"type": "long"},
        "currency": {"type": "keyword"},
        "in_stock": {"type": "boolean"},
        "created_ts": {"type": "long"},
    },
}

#: (field, boost): names weigh 3x descriptions (the embedded engine's BM25 weights them 10:1).
NAME_FIELDS: tuple[tuple[str, float], ...] = (("name_en", 3), ("name_zh", 3), ("slug.words", 3))
BODY_FIELDS: tuple[tuple[str, float], ...] = (
    ("description_en", 1),
    ("description_zh", 1),
    ("category.words", 1),
    ("options", 1),
)
ALL_FIELDS = NAME_FIELDS + BODY_FIELDS


def _any_field(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _cjk_clause(term: str, fields: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    """A bigram is a token of the field itself; a single character one of its ``.uni``."""
    suffix = ".uni" if len(term) == 1 else ""
    return _any_field([{"term": {f + suffix: {"value": term, "boost": b}}} for f, b in fields])


def _latin_clause(
    word: str, fields: tuple[tuple[str, float], ...], *, fuzzy: bool
) -> dict[str, Any]:
    if fuzzy and allowed_edits(word):
        return {
            "multi_match": {
                "query": word,
                "fields": [f"{f}^{b:g}" for f, b in fields],
                "fuzziness": FUZZINESS,
            }
        }
    return _any_field([{"term": {f: {"value": word, "boost": b}}} for f, b in fields])


def _prefix_clause(word: str, fields: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    return _any_field([{"prefix": {f: {"value": word}}} for f, _b in fields])


def _relaxed_cjk_clause(chars: list[str], fields: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    """All but ``cjk_allowed_misses`` of the typed characters occur (typo tolerance)."""
    need = len(chars) - cjk_allowed_misses(len(chars))
    return {
        "bool": {"should": [_cjk_clause(ch, fields) for ch in chars], "minimum_should_match": need}
    }


def es_term_clauses(
    terms: QueryTerms,
    *,
    fields: tuple[tuple[str, float], ...] = ALL_FIELDS,
    fuzzy: bool = False,
    prefix_last: bool = False,
    fuzzy_last: bool = False,
    relax_cjk: bool = False,
) -> list[dict[str, Any]]:
    """One clause per query term; all must match (each in any of ``fields``).

    ``fuzzy`` allows ``AUTO:4,7`` edits on Latin words, ``prefix_last`` completes the word
    being typed (``fuzzy_last`` instead matches it whole with edits: a typo in it),
    ``relax_cjk`` lets a few Chinese characters be wrong.
    """
    clauses: list[dict[str, Any]] = []
    if relax_cjk and terms.cjk_chars:
        clauses.append(_relaxed_cjk_clause(terms.cjk_chars, fields))
    else:
        clauses.extend(_cjk_clause(t, fields) for t in terms.cjk)
    last = len(terms.latin) - 1
    for i, word in enumerate(terms.latin):
        if i == last and terms.last_is_latin and prefix_last and not fuzzy_last:
            clauses.append(_prefix_clause(word, fields))
        else:
            clauses.append(_latin_clause(word, fields, fuzzy=fuzzy or (i == last and fuzzy_last)))
    return clauses


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


def es_search_body(
    q: SearchQuery, terms: QueryTerms, *, fuzzy: bool = False, relax_cjk: bool = False
) -> dict[str, Any]:
    """The search request: term clauses + filters, facets as aggregations, sort, paging.

    The backend runs it exact first, with ``fuzzy`` only when that finds nothing (the
    way the embedded engine corrects only words the index does not know), then with
    ``relax_cjk`` (a few wrong Chinese characters) when that finds nothing either.
    """
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
    must = es_term_clauses(terms, fuzzy=fuzzy, relax_cjk=relax_cjk) or [{"match_all": {}}]
    return {
        "query": {"bool": {"must": must, "filter": es_filters(q)}},
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


def es_suggest_body(terms: QueryTerms, **stage: bool) -> dict[str, Any]:
    """As-you-type candidates on the names: earlier words whole, the last one a prefix.

    ``stage`` is passed to ``es_term_clauses`` (the backend widens step by step when a
    stricter step finds nothing). Candidates come in id order, like the embedded engine's,
    and are ordered for display by ``suggestion_order``.
    """
    return {
        "query": {
            "bool": {"must": es_term_clauses(terms, fields=NAME_FIELDS, prefix_last=True, **stage)}
        },
        "sort": [{"id": "asc"}],
        "size": SUGGEST_CANDIDATES,
        "_source": ["id", "name_en", "name_zh"],
    }


def suggest_stages(terms: QueryTerms) -> list[dict[str, bool]]:
    """The widening steps of a suggestion, shared by both backends, each tried only when
    the one before found nothing and only when it can change the answer: exact; earlier
    words with typos; the word being typed with a typo; Chinese characters with typos."""
    stages: list[dict[str, bool]] = [{}]
    typing = terms.last_is_latin and bool(terms.latin)
    earlier = terms.latin[:-1] if typing else terms.latin
    if any(allowed_edits(w) for w in earlier):
        stages.append({"fuzzy": True})
    if typing and allowed_edits(terms.latin[-1]):
        stages.append({"fuzzy": True, "fuzzy_last": True})
    if cjk_allowed_misses(len(terms.cjk_chars)):
        stages.append({"fuzzy": True, "relax_cjk": True})
    return stages
