"""The Elasticsearch / OpenSearch backend: shared DSL from ``search.query``, client by config.

``ELASTICSEARCH_CLIENT=opensearch`` (default) uses ``opensearch-py`` (OpenSearch, osmem);
``elasticsearch`` uses the official client against Elasticsearch 8/9. Both expose the
same ``indices.create/exists/delete``, ``bulk``, ``search`` and ``count`` calls.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

from search.analysis import allowed_edits, cjk_allowed_misses, query_terms
from search.documents import ProductDocument
from search.query import (
    INDEX_MAPPINGS,
    INDEX_SETTINGS,
    MAPPING_VERSION,
    PRICE_BUCKETS,
    FacetBucket,
    Hit,
    SearchQuery,
    SearchResult,
    Suggestion,
    es_search_body,
    es_suggest_body,
    suggest_stages,
    suggestions_from,
)

logger = logging.getLogger(__name__)


def _make_client(url: str, kind: str) -> Any:
    if kind == "elasticsearch":
        module = importlib.import_module("elasticsearch")
        return module.Elasticsearch(url, request_timeout=30)
    if kind == "opensearch":
        module = importlib.import_module("opensearchpy")
        return module.OpenSearch(hosts=[url], timeout=30)
    raise ValueError(f"unknown ELASTICSEARCH_CLIENT '{kind}' (opensearch or elasticsearch)")


class ElasticBackend:
    name = "elastic"

    def __init__(self, *, url: str, index: str, client: str = "opensearch") -> None:
        self.index = index
        self.kind = client
        self.client = _make_client(url, client)
        self._ready = False

    def ensure_index(self) -> None:
        if self._ready:
            return
        if not self.client.indices.exists(index=self.index):
            self._create()
        else:
            self._check_mapping_version()
        self._ready = True

    def _check_mapping_version(self) -> None:
        """Warn when the index was built by another analysis (results would differ)."""
        mappings: dict[str, Any] = dict(self.client.indices.get_mapping(index=self.index))
        index_mapping: dict[str, Any] = next(iter(mappings.values()), {})
        version = index_mapping.get("mappings", {}).get("_meta", {}).get("livehub_mapping")
        if version != MAPPING_VERSION:
            logger.warning(
                "search index built with another mapping: run manage.py search_reindex",
                extra={"index": self.index, "found": version, "expected": MAPPING_VERSION},
            )

    def _create(self) -> None:
        body = {"settings": INDEX_SETTINGS, "mappings": INDEX_MAPPINGS}
        if self.kind == "elasticsearch":
            self.client.indices.create(
                index=self.index, settings=INDEX_SETTINGS, mappings=INDEX_MAPPINGS
            )
        else:
            self.client.indices.create(index=self.index, body=body)

    def reset(self) -> None:
        if self.client.indices.exists(index=self.index):
            self.client.indices.delete(index=self.index)
        self._create()
        self._ready = True

    def _bulk(self, operations: list[dict[str, Any]]) -> None:
        if not operations:
            return
        if self.kind == "elasticsearch":
            response = self.client.bulk(operations=operations)
        else:
            response = self.client.bulk(body=operations)
        if response.get("errors"):
            failed = [
                item
                for item in response["items"]
                for action in item.values()
                if action.get("status", 200) >= 300 and action.get("status") != 404
            ]
            if failed:
                raise RuntimeError(f"bulk indexing failed: {failed[:3]}")

    def upsert(self, docs: Sequence[ProductDocument]) -> None:
        self.ensure_index()
        ops: list[dict[str, Any]] = []
        for doc in docs:
            ops.append({"index": {"_index": self.index, "_id": str(doc.id)}})
            ops.append(doc.as_dict())
        self._bulk(ops)

    def delete(self, ids: Sequence[int]) -> None:
        self.ensure_index()
        self._bulk([{"delete": {"_index": self.index, "_id": str(i)}} for i in ids])

    def refresh(self) -> None:
        self.client.indices.refresh(index=self.index)

    def count(self) -> int:
        self.ensure_index()
        return int(self.client.count(index=self.index)["count"])

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        self.ensure_index()
        if self.kind == "elasticsearch":
            result: dict[str, Any] = dict(self.client.search(index=self.index, **body))
            return result
        return dict(self.client.search(index=self.index, body=body))

    def search(self, query: SearchQuery) -> SearchResult:
        terms = query_terms(query.text)
        raw = self._search(es_search_body(query, terms))
        if _total(raw) == 0 and any(allowed_edits(w) for w in terms.latin):
            raw = self._search(es_search_body(query, terms, fuzzy=True))
        if _total(raw) == 0 and cjk_allowed_misses(len(terms.cjk_chars)):
            raw = self._search(es_search_body(query, terms, fuzzy=True, relax_cjk=True))
        hits = [
            Hit(
                id=int(h["_source"]["id"]),
                slug=h["_source"]["slug"],
                name_en=h["_source"]["name_en"],
                name_zh=h["_source"]["name_zh"],
                category=h["_source"]["category"],
                price_amount=int(h["_source"]["price_amount"]),
                currency=h["_source"]["currency"],
                in_stock=bool(h["_source"]["in_stock"]),
            )
            for h in raw["hits"]["hits"]
        ]
        aggs = raw.get("aggregations", {})
        price_counts = {b["key"]: int(b["doc_count"]) for b in aggs["price"]["buckets"]}
        stock = [
            FacetBucket(_bool_key(b), int(b["doc_count"])) for b in aggs["in_stock"]["buckets"]
        ]
        facets = {
            "category": sorted(
                (
                    FacetBucket(str(b["key"]), int(b["doc_count"]))
                    for b in aggs["category"]["buckets"]
                    if b["key"]
                ),
                key=lambda f: (-f.count, f.key),
            ),
            "price": [
                FacetBucket(key, price_counts.get(key, 0)) for key, _lo, _hi in PRICE_BUCKETS
            ],
            "in_stock": sorted((s for s in stock if s.count), key=lambda f: (-f.count, f.key)),
        }
        return SearchResult(
            total=_total(raw),
            hits=hits,
            facets=facets,
        )

    def suggest(self, prefix: str, *, size: int) -> list[Suggestion]:
        terms = query_terms(prefix)
        if terms.empty:
            return []
        rows: list[tuple[int, str, str]] = []
        for stage in suggest_stages(terms):
            raw = self._search(es_suggest_body(terms, **stage))
            rows = [
                (int(h["_source"]["id"]), h["_source"]["name_en"], h["_source"]["name_zh"])
                for h in raw["hits"]["hits"]
            ]
            if rows:
                break
        return suggestions_from(rows, typed=prefix.strip(), terms=terms, size=size)


def _total(raw: dict[str, Any]) -> int:
    total = raw["hits"]["total"]
    return int(total["value"] if isinstance(total, dict) else total)


def _bool_key(bucket: dict[str, Any]) -> str:
    if "key_as_string" in bucket:
        return str(bucket["key_as_string"])
    return "true" if bucket["key"] in (1, True, "true") else "false"
