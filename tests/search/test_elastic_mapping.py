"""An Elasticsearch index built by an older analysis is reported, and a reindex fixes it."""

from __future__ import annotations

import logging

import pytest
from opensearchpy import OpenSearch

from search.backends.elastic import ElasticBackend
from search.query import INDEX_MAPPINGS, INDEX_SETTINGS

LOGGER = "search.backends.elastic"


def test_an_index_from_another_mapping_version_asks_for_a_reindex(
    osmem_clone: object, caplog: pytest.LogCaptureFixture
) -> None:
    url = osmem_clone.url  # type: ignore[attr-defined]
    old = {k: v for k, v in INDEX_MAPPINGS.items() if k != "_meta"}
    OpenSearch(hosts=[url]).indices.create(
        index="t-products", body={"settings": INDEX_SETTINGS, "mappings": old}
    )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert ElasticBackend(url=url, index="t-products").count() == 0
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        "search index built with another mapping: run manage.py search_reindex"
    ]
    caplog.clear()
    ElasticBackend(url=url, index="t-products").reset()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert ElasticBackend(url=url, index="t-products").count() == 0
    assert [r for r in caplog.records if r.name == LOGGER] == []
