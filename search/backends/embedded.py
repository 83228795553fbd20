"""The embedded engine: SQLite FTS5 in its own file, whatever the main database is.

Documents live in ``docs``; ``fts`` indexes pre-analysed terms (see ``search.analysis``)
with a BM25 rank weighting names over descriptions; ``vocab`` holds every Latin word so
a misspelt word can be corrected to the nearest indexed one (``fuzziness: AUTO``).
One connection per thread; WAL lets the web process read while the worker writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from search.analysis import (
    QueryTerms,
    allowed_edits,
    cjk_allowed_misses,
    edit_distance,
    index_terms,
    latin_words,
    query_terms,
)
from search.documents import ProductDocument
from search.query import (
    PRICE_BUCKETS,
    SUGGEST_CANDIDATES,
    FacetBucket,
    Hit,
    SearchQuery,
    SearchResult,
    Suggestion,
    suggest_stages,
    suggestions_from,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    name_en TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    category TEXT NOT NULL,
    price_amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    in_stock INTEGER NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_category ON docs(category);
CREATE INDEX IF NOT EXISTS docs_price ON docs(price_amount);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    names, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TABLE IF NOT EXISTS vocab (term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS vocab_tri USING fts5(term, tokenize = 'trigram');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_terms USING fts5vocab(fts, row);
"""

_PRICE_CASE = (
    "CASE "
    + " ".join(
        "WHEN "
        + " AND ".join(
            ([f"price_amount >= {lo}"] if lo is not None else [])
            + ([f"price_amount < {hi}"] if hi is not None else [])
        )
        + f" THEN '{key}'"
        for key, lo, hi in PRICE_BUCKETS
    )
    + " END"
)

_SORT_SQL = {
    "price_asc": "d.price_amount ASC, d.id ASC",
    "price_desc": "d.price_amount DESC, d.id ASC",
    "newest": "d.created_ts DESC, d.id DESC",
}


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, *, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._ready = False

    # --- connections --------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # The index is read-mostly and hot: keep pages in memory instead of re-reading
            # them through the default 2 MB page cache on every broad query.
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA mmap_size=268435456")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
        if not self._ready:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT INTO fts(fts, rank) VALUES('rank', 'bm25(10.0, 1.0)')")
            self._ready = True
        return conn

    def ensure_index(self) -> None:
        self._conn()

    def reset(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("docs", "fts", "vocab", "vocab_tri"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # --- writes -------------------------------------------------------------------------

    def upsert(self, docs: Sequence[ProductDocument]) -> None:
        if not docs:
            return
        conn = self._conn()
        ids = [d.id for d in docs]
        words: set[str] = set()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._delete_rows(conn, ids)
            conn.executemany(
                "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.id,
                        d.slug,
                        d.name_en,
                        d.name_zh,
                        d.category,
                        d.price_amount,
                        d.currency,
                        int(d.in_stock),
                        d.created_ts,
                    )
                    for d in docs
                ],
            )
            conn.executemany(
                "INSERT INTO fts(rowid, names, body) VALUES (?, ?, ?)",
                [
                    (
                        d.id,
                        index_terms(f"{d.name_en} {d.name_zh} {d.slug}"),
                        index_terms(
                            f"{d.description_en} {d.description_zh} {d.category} {d.options}"
                        ),
                    )
                    for d in docs
                ],
            )
            for d in docs:
                words.update(
                    latin_words(
                        f"{d.name_en} {d.name_zh} {d.description_en} {d.description_zh} "
                        f"{d.category} {d.options}"
                    )
                )
            fresh = [
                (w,)
                for w in sorted(words)
                if len(w) >= 3
                and conn.execute("INSERT OR IGNORE INTO vocab VALUES (?)", (w,)).rowcount
            ]
            conn.executemany("INSERT INTO vocab_tri(term) VALUES (?)", fresh)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _delete_rows(self, conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        marks = ",".join("?" * len(ids))
        conn.execute(f"DELETE FROM docs WHERE id IN ({marks})", ids)
        conn.execute(f"DELETE FROM fts WHERE rowid IN ({marks})", ids)

    def delete(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._delete_rows(conn, list(ids))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def refresh(self) -> None:
        """Writes are visible on commit."""

    def count(self) -> int:
        row = self._conn().execute("SELECT count(*) FROM docs").fetchone()
        return int(row[0])

    # --- typo correction ----------------------------------------------------------------

    def _known(self, conn: sqlite3.Connection, word: str) -> bool:
        row = conn.execute("SELECT 1 FROM fts_terms WHERE term = ?", (word,)).fetchone()
        return row is not None

    def _correct(self, conn: sqlite3.Connection, word: str) -> str | None:
        """The closest indexed word within the allowed edits, or None."""
        limit = allowed_edits(word)
        if limit == 0:
            return None
        candidates: set[str] = set()
        grams = {word[i : i + 3] for i in range(len(word) - 2)}
        if grams:
            match = " OR ".join(_quote(g) for g in sorted(grams))
            candidates.update(
                r[0]
                for r in conn.execute(
                    "SELECT term FROM vocab_tri WHERE vocab_tri MATCH ? LIMIT 400", (match,)
                )
            )
        lo, hi = len(word) - limit, len(word) + limit
        candidates.update(
            r[0]
            for r in conn.execute(
                "SELECT term FROM vocab WHERE term >= ? AND term < ? "
                "AND length(term) BETWEEN ? AND ? LIMIT 2000",
                (word[0], chr(ord(word[0]) + 1), lo, hi),
            )
        )
        best: tuple[int, str] | None = None
        for cand in candidates:
            d = edit_distance(word, cand, limit)
            if d <= limit and (best is None or (d, cand) < best):
                best = (d, cand)
        return best[1] if best else None

    def _resolve(
        self, conn: sqlite3.Connection, terms: QueryTerms, *, prefix_last: bool
    ) -> tuple[list[str], bool]:
        """Latin words after typo correction (the last kept as typed when prefix-matched)."""
        out: list[str] = []
        changed = False
        for i, word in enumerate(terms.latin):
            is_prefix = prefix_last and terms.last_is_latin and i == len(terms.latin) - 1
            if is_prefix or self._known(conn, word):
                out.append(word)
                continue
            fixed = self._correct(conn, word)
            if fixed is not None:
                out.append(fixed)
                changed = True
            else:
                out.append(word)
        return out, changed

    @staticmethod
    def _match_expr(latin: list[str], cjk: list[str], *, prefix_last: bool) -> str:
        parts = [_quote(t) for t in cjk]
        for i, word in enumerate(latin):
            star = "*" if prefix_last and i == len(latin) - 1 else ""
            parts.append(_quote(word) + star)
        return " AND ".join(parts)

    # --- reads --------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        conn = self._conn()
        terms = query_terms(query.text)
        latin, changed = self._resolve(conn, terms, prefix_last=False)
        result = self._search(conn, query, self._match_expr(latin, terms.cjk, prefix_last=False))
        if result.total == 0 and cjk_allowed_misses(len(terms.cjk_chars)):
            # Nothing found: let a few Chinese characters be wrong (蓝芽耳机 -> 蓝牙耳机).
            relaxed = " AND ".join(
                [_relaxed_cjk_expr(terms.cjk_chars), *(_quote(w) for w in latin)]
            )
            result = self._search(conn, query, relaxed)
        if changed:
            result.corrected = _corrected_text(query.text, terms.latin, latin)
        return result

    def _search(self, conn: sqlite3.Connection, query: SearchQuery, match: str) -> SearchResult:
        where: list[str] = []
        params: list[Any] = []
        if match:
            where.append("d.id IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
            params.append(match)
        if query.category:
            where.append("d.category = ?")
            params.append(query.category)
        if query.price_min is not None:
            where.append("d.price_amount >= ?")
            params.append(query.price_min)
        if query.price_max is not None:
            where.append("d.price_amount < ?")
            params.append(query.price_max)
        if query.in_stock is not None:
            where.append("d.in_stock = ?")
            params.append(int(query.in_stock))
        where_sql = (" WHERE " + " AND ".join(where)) if where else ""
        cols = (
            "d.id, d.slug, d.name_en, d.name_zh, d.category, d.price_amount, d.currency, d.in_stock"
        )
        if match and query.sort == "relevance":
            filters = where[1:]
            sql = (
                f"SELECT {cols} FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ?"
                + "".join(f" AND {f}" for f in filters)
                + " ORDER BY fts.rank, d.id LIMIT ? OFFSET ?"
            )
        else:
            order = _SORT_SQL.get(query.sort, "d.id ASC")
            sql = f"SELECT {cols} FROM docs d{where_sql} ORDER BY {order} LIMIT ? OFFSET ?"
        rows = conn.execute(sql, [*params, query.size, query.offset]).fetchall()
        hits = [
            Hit(
                id=r[0],
                slug=r[1],
                name_en=r[2],
                name_zh=r[3],
                category=r[4],
                price_amount=r[5],
                currency=r[6],
                in_stock=bool(r[7]),
            )
            for r in rows
        ]
        select = f"SELECT d.category, {_PRICE_CASE} AS bucket, d.in_stock, count(*) "
        if match:
            # Driving from the FTS match and joining docs is ~2x faster than IN (subquery).
            facet_sql = (
                select
                + "FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ?"
                + "".join(f" AND {f}" for f in where[1:])
                + " GROUP BY 1, 2, 3"
            )
        else:
            facet_sql = select + f"FROM docs d{where_sql} GROUP BY 1, 2, 3"
        facet_rows = conn.execute(facet_sql, params).fetchall()
        categories: dict[str, int] = {}
        prices: dict[str, int] = {}
        stock: dict[str, int] = {}
        total = 0
        for category, bucket, in_stock, n in facet_rows:
            total += n
            if category:
                categories[category] = categories.get(category, 0) + n
            prices[bucket] = prices.get(bucket, 0) + n
            key = "true" if in_stock else "false"
            stock[key] = stock.get(key, 0) + n
        facets = {
            "category": [
                FacetBucket(k, v)
                for k, v in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "price": [FacetBucket(key, prices.get(key, 0)) for key, _lo, _hi in PRICE_BUCKETS],
            "in_stock": [
                FacetBucket(k, v) for k, v in sorted(stock.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        }
        return SearchResult(total=total, hits=hits, facets=facets)

    def suggest(self, prefix: str, *, size: int) -> list[Suggestion]:
        conn = self._conn()
        terms = query_terms(prefix)
        if terms.empty:
            return []
        rows: list[tuple[int, str, str]] = []
        for stage in suggest_stages(terms):
            rows = self._suggest_rows(conn, self._suggest_match(conn, terms, **stage))
            if rows:
                break
        return suggestions_from(rows, typed=prefix.strip(), terms=terms, size=size)

    def _suggest_match(
        self,
        conn: sqlite3.Connection,
        terms: QueryTerms,
        *,
        fuzzy: bool = False,
        fuzzy_last: bool = False,
        relax_cjk: bool = False,
    ) -> str:
        """The FTS expression of one widening step (see ``search.query.suggest_stages``):
        a typo is replaced by the nearest indexed word, the word being typed is a prefix."""
        parts: list[str] = []
        if relax_cjk:
            parts.append(_relaxed_cjk_expr(terms.cjk_chars))
        else:
            parts.extend(_quote(t) for t in terms.cjk)
        last = len(terms.latin) - 1
        for i, word in enumerate(terms.latin):
            typing = i == last and terms.last_is_latin
            if typing and not fuzzy_last:
                parts.append(_quote(word) + "*")
                continue
            if (fuzzy or (typing and fuzzy_last)) and not self._known(conn, word):
                word = self._correct(conn, word) or word
            parts.append(_quote(word))
        return " AND ".join(parts)

    @staticmethod
    def _suggest_rows(conn: sqlite3.Connection, match: str) -> list[tuple[int, str, str]]:
        """The first SUGGEST_CANDIDATES name matches in id order (no BM25 pass: a short
        prefix can match most of the catalogue); ``suggestion_order`` ranks them."""
        rows = conn.execute(
            "SELECT d.id, d.name_en, d.name_zh FROM fts JOIN docs d ON d.id = fts.rowid "
            "WHERE fts MATCH ? ORDER BY fts.rowid LIMIT ?",
            (f"names : ({match})", SUGGEST_CANDIDATES),
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def _relaxed_cjk_expr(chars: list[str]) -> str:
    """All but ``cjk_allowed_misses`` of the characters: an OR of AND-combinations."""
    need = len(chars) - cjk_allowed_misses(len(chars))
    combos = combinations(chars, need)
    return "(" + " OR ".join("(" + " AND ".join(_quote(c) for c in c3) + ")" for c3 in combos) + ")"


def _corrected_text(text: str, typed: list[str], fixed: list[str]) -> str:
    out = text.lower()
    for a, b in zip(typed, fixed, strict=True):
        if a != b:
            out = out.replace(a, b, 1)
    return out
