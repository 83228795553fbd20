"""Share and UGC analytics on Elasticsearch/OpenSearch: the event index and its aggregations.

Same answers as the ORM selectors in ``social.selectors`` (tests run both); used when
``ELASTICSEARCH_URL`` is set, so dashboards scale with the cluster, not the database.
Indexing is by event id and idempotent (the document id is the event id).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from search.backends.elastic import _make_client
from social.models import AnalyticsEvent

MAPPINGS: dict[str, Any] = {
    "properties": {
        "kind": {"type": "keyword"},
        "platform": {"type": "keyword"},
        "target_kind": {"type": "keyword"},
        "target_id": {"type": "keyword"},
        "sharer": {"type": "long"},
        "sharer_name": {"type": "keyword"},
        "amount": {"type": "long"},
        "created_at": {"type": "date"},
    }
}


def _index() -> str:
    return f"{settings.SEARCH_INDEX_PREFIX}social-events"


def _client() -> Any:
    return _make_client(settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_CLIENT)


def _ensure(client: Any) -> None:
    if not client.indices.exists(index=_index()):
        if settings.ELASTICSEARCH_CLIENT == "elasticsearch":
            client.indices.create(index=_index(), mappings=MAPPINGS)
        else:
            client.indices.create(index=_index(), body={"mappings": MAPPINGS})


def analytics_events_index(*, event_ids: Iterable[int]) -> int:
    client = _client()
    _ensure(client)
    ops: list[dict[str, Any]] = []
    for e in AnalyticsEvent.objects.filter(pk__in=list(event_ids)).select_related("sharer"):
        ops.append({"index": {"_index": _index(), "_id": str(e.pk)}})
        ops.append(
            {
                "kind": e.kind,
                "platform": e.platform,
                "target_kind": e.target_kind,
                "target_id": e.target_id,
                "sharer": e.sharer_id,
                "sharer_name": e.sharer.get_username() if e.sharer else None,
                "amount": e.amount,
                "created_at": e.created_at.isoformat(),
            }
        )
    if ops:
        if settings.ELASTICSEARCH_CLIENT == "elasticsearch":
            client.bulk(operations=ops, refresh=True)
        else:
            client.bulk(body=ops, refresh=True)
    return len(ops) // 2


def analytics_reindex(*, batch: int = 1000) -> int:
    """Index every stored event (after a cluster loss or when ES is first configured)."""
    done = 0
    last = 0
    while True:
        ids = list(
            AnalyticsEvent.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return done
        done += analytics_events_index(event_ids=ids)
        last = ids[-1]


def _search(body: dict[str, Any]) -> dict[str, Any]:
    client = _client()
    _ensure(client)
    if settings.ELASTICSEARCH_CLIENT == "elasticsearch":
        return dict(client.search(index=_index(), **body))
    return dict(client.search(index=_index(), body=body))


def _since(days: int) -> dict[str, Any]:
    start = (timezone.now() - timedelta(days=days)).isoformat()
    return {"range": {"created_at": {"gte": start}}}


def _counts() -> dict[str, Any]:
    return {
        "views": {"filter": {"term": {"kind": "view"}}},
        "shares": {"filter": {"term": {"kind": "share"}}},
        "clicks": {"filter": {"term": {"kind": "click"}}},
        "orders": {
            "filter": {"term": {"kind": "order"}},
            "aggs": {"sales": {"sum": {"field": "amount"}}},
        },
    }


def top_sharers(*, days: int, limit: int = 10) -> list[dict[str, Any]]:
    raw = _search(
        {
            "size": 0,
            "query": {"bool": {"filter": [_since(days), {"exists": {"field": "sharer"}}]}},
            "aggs": {
                "sharers": {
                    "terms": {"field": "sharer", "size": 1000},
                    "aggs": {**_counts(), "name": {"terms": {"field": "sharer_name", "size": 1}}},
                }
            },
        }
    )
    rows = [
        {
            "sharer": int(b["key"]),
            "username": (b["name"]["buckets"] or [{"key": ""}])[0]["key"],
            "clicks": int(b["clicks"]["doc_count"]),
            "orders": int(b["orders"]["doc_count"]),
            "sales": int(b["orders"]["sales"]["value"] or 0),
        }
        for b in raw["aggregations"]["sharers"]["buckets"]
    ]
    rows.sort(key=lambda r: (-r["sales"], -r["orders"], -r["clicks"], r["sharer"]))
    return rows[:limit]


def share_funnel(*, days: int, by: str) -> list[dict[str, Any]]:
    fields = ["platform"] if by == "platform" else ["target_kind", "target_id"]
    raw = _search(
        {
            "size": 0,
            "query": {
                "bool": {
                    "filter": [
                        _since(days),
                        {"terms": {"kind": ["view", "share", "click", "order"]}},
                    ]
                }
            },
            "aggs": {
                "keys": {
                    "multi_terms": {"terms": [{"field": f} for f in fields], "size": 1000},
                    "aggs": _counts(),
                }
                if len(fields) > 1
                else {"terms": {"field": fields[0], "size": 1000}, "aggs": _counts()}
            },
        }
    )
    rows = []
    for b in raw["aggregations"]["keys"]["buckets"]:
        keys = b["key"] if isinstance(b["key"], list) else [b["key"]]
        rows.append(
            {
                **dict(zip(fields, (str(k) for k in keys), strict=True)),
                "views": int(b["views"]["doc_count"]),
                "shares": int(b["shares"]["doc_count"]),
                "clicks": int(b["clicks"]["doc_count"]),
                "orders": int(b["orders"]["doc_count"]),
                "sales": int(b["orders"]["sales"]["value"] or 0),
            }
        )
    rows.sort(key=lambda r: tuple(r[f] for f in fields))
    return rows


def daily_trend(*, days: int) -> list[dict[str, Any]]:
    raw = _search(
        {
            "size": 0,
            "query": {"bool": {"filter": [_since(days)]}},
            "aggs": {
                "days": {
                    "date_histogram": {
                        "field": "created_at",
                        "calendar_interval": "day",
                        "min_doc_count": 1,
                    },
                    "aggs": {"kinds": {"terms": {"field": "kind", "size": 20}}},
                }
            },
        }
    )
    out = []
    for b in raw["aggregations"]["days"]["buckets"]:
        day = str(b.get("key_as_string", ""))[:10]
        entry: dict[str, Any] = {"day": day}
        for k in sorted(b["kinds"]["buckets"], key=lambda x: str(x["key"])):
            entry[str(k["key"])] = int(k["doc_count"])
        out.append(entry)
    return out
