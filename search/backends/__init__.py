"""The search backends behind one interface, chosen by ``settings.ELASTICSEARCH_URL``."""

from __future__ import annotations

import threading

from django.conf import settings

from search.backends.base import SearchBackend

_lock = threading.Lock()
_cache: dict[tuple[str, str], SearchBackend] = {}


def get_backend() -> SearchBackend:
    """The configured backend: Elasticsearch/OpenSearch when a URL is set, else embedded."""
    url: str = settings.ELASTICSEARCH_URL
    if url:
        key = ("elastic", f"{url}|{settings.SEARCH_INDEX_PREFIX}|{settings.ELASTICSEARCH_CLIENT}")
    else:
        key = ("embedded", str(settings.SEARCH_EMBEDDED_PATH))
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            if url:
                from search.backends.elastic import ElasticBackend

                backend = ElasticBackend(
                    url=url,
                    index=f"{settings.SEARCH_INDEX_PREFIX}products",
                    client=settings.ELASTICSEARCH_CLIENT,
                )
            else:
                from search.backends.embedded import EmbeddedBackend

                backend = EmbeddedBackend(path=settings.SEARCH_EMBEDDED_PATH)
            _cache[key] = backend
        return backend
