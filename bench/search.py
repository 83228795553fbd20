"""Benchmark: index 100,000 bilingual products, then time suggestions and searches.

Runs the embedded engine (SQLite FTS5 in its own file) and, when ``ELASTICSEARCH_URL``
is set (or ``--osmem`` starts a local osmem-server), the Elasticsearch-protocol backend.
The naive baseline in the same run is a ``LIKE '%text%'`` scan over the same rows.

    python bench/search.py [--quick] [--docs N] [--osmem]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

ADJ_EN = [
    "Red",
    "Blue",
    "Green",
    "White",
    "Black",
    "Silk",
    "Cotton",
    "Linen",
    "Ceramic",
    "Bamboo",
    "Steel",
    "Wooden",
    "Porcelain",
    "Leather",
    "Woollen",
    "Organic",
]
NOUN_EN = [
    "Tee",
    "Shirt",
    "Mug",
    "Teapot",
    "Kettle",
    "Scarf",
    "Bag",
    "Wallet",
    "Lamp",
    "Bowl",
    "Chopsticks",
    "Jacket",
    "Dress",
    "Sneakers",
    "Umbrella",
    "Notebook",
]
ADJ_ZH = [
    "红色",
    "蓝色",
    "绿色",
    "白色",
    "黑色",
    "真丝",
    "纯棉",
    "亚麻",
    "陶瓷",
    "竹制",
    "不锈钢",
    "木质",
    "青花瓷",
    "真皮",
    "羊毛",
    "有机",
]
NOUN_ZH = [
    "T恤",
    "衬衫",
    "马克杯",
    "茶壶",
    "水壶",
    "围巾",
    "包",
    "钱包",
    "台灯",
    "碗",
    "筷子",
    "夹克",
    "连衣裙",
    "运动鞋",
    "雨伞",
    "笔记本",
]
CATEGORIES = ["apparel", "home", "food", "beauty", "electronics", "toys", "sports", "books"]
SUGGEST_PREFIXES = [
    "re",
    "cot",
    "cera",
    "porc",
    "blue sh",
    "stee",
    "bamb",
    "红色",
    "陶瓷",
    "不锈",
    "青花",
    "纯棉t",
    "leath",
    "wool",
    "orga",
    "ceramc m",
    "纯棉 te",  # mixed scripts
    "陶瓷 mu",
    "青花瓷茶壸",  # a wrong character (壸 for 壶)
]
SEARCHES = [
    "cotton tee",
    "ceramic mug",
    "steel kettle",
    "纯棉",
    "陶瓷马克杯",
    "青花瓷茶壶",
    "leather wallet",
    "silk scarf",
    "bambo bowl",
    "真丝围巾",
    "organic",
    "lamp",
    "纯棉 tee",  # mixed scripts
    "ceramic 马克杯",
    "T恤 XL",  # a size only the variants carry
]
SIZES = ["S", "M", "L", "XL"]


def make_docs(n: int, seed: int = 7) -> list:
    from search.documents import ProductDocument

    rnd = random.Random(seed)
    docs = []
    for i in range(1, n + 1):
        a, b = rnd.randrange(len(ADJ_EN)), rnd.randrange(len(NOUN_EN))
        c = rnd.randrange(len(ADJ_EN))
        name_en = f"{ADJ_EN[a]} {ADJ_EN[c]} {NOUN_EN[b]} {i}"
        name_zh = f"{ADJ_ZH[a]}{ADJ_ZH[c]}{NOUN_ZH[b]}{i}号"
        docs.append(
            ProductDocument(
                id=i,
                slug=f"p-{i}",
                name_en=name_en,
                name_zh=name_zh,
                description_en=f"{name_en}, model {rnd.randrange(10**6)}",
                description_zh=f"{name_zh} 精选好物",
                category=CATEGORIES[i % len(CATEGORIES)],
                price_amount=rnd.randrange(500, 100000),
                currency="CNY",
                in_stock=rnd.random() < 0.7,
                created_ts=1_700_000_000 + i,
                options=" ".join(SIZES[: 1 + i % len(SIZES)]),
            )
        )
    return docs


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def run_backend(backend: object, docs: list, rounds: int) -> dict[str, float]:
    from search.query import SearchQuery

    backend.reset()  # type: ignore[attr-defined]
    t = time.perf_counter()
    for i in range(0, len(docs), 1000):
        backend.upsert(docs[i : i + 1000])  # type: ignore[attr-defined]
    backend.refresh()  # type: ignore[attr-defined]
    index_s = time.perf_counter() - t
    suggest: list[float] = []
    search: list[float] = []
    for r in range(rounds):
        for p in SUGGEST_PREFIXES:
            suggest += timed(lambda p=p: backend.suggest(p, size=8), 1)  # type: ignore[attr-defined,misc]
        for s in SEARCHES:
            q = SearchQuery(text=s, in_stock=True if r % 2 else None)
            search += timed(lambda q=q: backend.search(q), 1)  # type: ignore[attr-defined,misc]
    return {
        "index_docs_per_s": round(len(docs) / index_s),
        "suggest_p50_ms": pct(suggest, 0.5),
        "suggest_p95_ms": pct(suggest, 0.95),
        "search_p50_ms": pct(search, 0.5),
        "search_p95_ms": pct(search, 0.95),
    }


def run_naive(docs: list, rounds: int, path: str) -> dict[str, float]:
    """Baseline: a plain table and LIKE scans (what one writes without a search engine)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name_en TEXT, name_zh TEXT, body TEXT)")
    conn.executemany(
        "INSERT INTO p VALUES (?, ?, ?, ?)",
        [(d.id, d.name_en, d.name_zh, d.description_en + d.description_zh) for d in docs],
    )
    conn.commit()
    suggest: list[float] = []
    search: list[float] = []
    for _ in range(rounds):
        for p in SUGGEST_PREFIXES:
            like = f"%{p}%"
            suggest += timed(
                lambda like=like: conn.execute(
                    "SELECT id, name_en FROM p WHERE name_en LIKE ? OR name_zh LIKE ? LIMIT 8",
                    (like, like),
                ).fetchall(),
                1,
            )
        for s in SEARCHES:
            like = f"%{s}%"
            search += timed(
                lambda like=like: (
                    conn.execute(
                        "SELECT id FROM p WHERE name_en LIKE ? OR name_zh LIKE ? OR body LIKE ? "
                        "ORDER BY id LIMIT 20",
                        (like, like, like),
                    ).fetchall(),
                    conn.execute(
                        "SELECT count(*) FROM p WHERE name_en LIKE ? OR name_zh LIKE ? "
                        "OR body LIKE ?",
                        (like, like, like),
                    ).fetchone(),
                ),
                1,
            )
    return {
        "naive_suggest_p95_ms": pct(suggest, 0.95),
        "naive_search_p95_ms": pct(search, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer query rounds (< 1 minute)")
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--osmem", action="store_true", help="also run against osmem-server")
    parser.add_argument(
        "--osmem-addr", default="127.0.0.1:0", help="listen address for --osmem (port 0: any)"
    )
    args = parser.parse_args()
    import django

    django.setup()
    from search.backends.elastic import ElasticBackend
    from search.backends.embedded import EmbeddedBackend

    rounds = 3 if args.quick else 20
    docs = make_docs(args.docs)
    result: dict[str, object] = {"docs": len(docs), "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        embedded = run_backend(EmbeddedBackend(path=Path(tmp) / "bench.sqlite3"), docs, rounds)
        print("embedded", embedded)
        result.update(embedded)
        naive = run_naive(docs, rounds, str(Path(tmp) / "naive.sqlite3"))
        print("naive LIKE baseline", naive)
        result.update(naive)
    url = os.environ.get("ELASTICSEARCH_URL", "")
    server = None
    if args.osmem and not url:
        from osmem_server import OsmemServer

        server = OsmemServer.start(seed=[], addr=args.osmem_addr)
        url = server.url
    if url:
        try:
            es_docs = docs if server is None else docs[: min(len(docs), 20_000)]
            es = run_backend(
                ElasticBackend(url=url, index="livehub-bench-products"),
                es_docs,
                max(1, rounds // 3),
            )
            print("elasticsearch-protocol", es)
            result["elastic"] = {"docs": len(es_docs), **es}
        finally:
            if server is not None:
                server.close()
    result["suggest_speedup_vs_naive"] = round(
        float(result["naive_suggest_p95_ms"]) / max(float(result["suggest_p95_ms"]), 0.01),
        1,  # type: ignore[arg-type]
    )
    result["search_speedup_vs_naive"] = round(
        float(result["naive_search_p95_ms"]) / max(float(result["search_p95_ms"]), 0.01),
        1,  # type: ignore[arg-type]
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
