"""Text analysis shared by both backends: Latin words, CJK unigrams + bigrams, typo budgets.

One analysis decides what a query *means* (which terms must match), so the embedded engine
and the Elasticsearch/OpenSearch DSL built in ``search.query`` ask the same question:

- Latin runs become lower-cased, accent-folded words (``[0-9a-z]+``);
- CJK runs become bigrams (a lone character stays a unigram), the scheme of the
  Elasticsearch ``cjk_bigram`` filter; the index also keeps every single character so a
  one-character query finds it;
- a query matches a product when **every** term occurs in **some** field (cross-field),
  so "iPhone 手机壳" finds a case whose Chinese name says 手机壳 and whose English text
  says iPhone.

SQLite's ``unicode61`` tokenizer splits on spaces and punctuation only, so a Chinese run
would be one token; the embedded engine stores ``index_terms`` (space-separated) instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from search.documents import is_cjk

_WORD = re.compile(r"[0-9a-z]+")
#: CJK characters looked at when relaxing a Chinese query for typos (longer input is cut).
MAX_RELAXED_CJK = 12


@dataclass(frozen=True, slots=True)
class QueryTerms:
    latin: list[str]  #: lower-cased words, in order
    cjk: list[str]  #: bigrams (or a lone character) that must all match
    last_is_latin: bool  #: the final typed term is a Latin word (prefix-matched when suggesting)
    cjk_chars: list[str]  #: distinct CJK characters in order (typo-tolerant matching)

    @property
    def empty(self) -> bool:
        return not self.latin and not self.cjk


def _fold(run: str) -> str:
    """Accent-fold a non-CJK run (café -> cafe); CJK runs are left alone (NFKD would
    split Hangul syllables)."""
    decomposed = unicodedata.normalize("NFKD", run)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _runs(text: str) -> list[tuple[bool, str]]:
    """Split into (is_cjk, run) pieces: width-normalised, lower-cased, accent-folded."""
    folded = unicodedata.normalize("NFKC", text).lower()
    runs: list[tuple[bool, str]] = []
    current: list[str] = []
    current_cjk = False
    for ch in folded:
        cjk = is_cjk(ch)
        if current and cjk != current_cjk:
            runs.append((current_cjk, "".join(current)))
            current = []
        current_cjk = cjk
        current.append(ch)
    if current:
        runs.append((current_cjk, "".join(current)))
    return [(cjk, run if cjk else _fold(run)) for cjk, run in runs]


def index_terms(text: str) -> str:
    """The space-separated terms stored in the FTS table for ``text``."""
    out: list[str] = []
    for cjk, run in _runs(text):
        if cjk:
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.extend(_WORD.findall(run))
    return " ".join(out)


def latin_words(text: str) -> list[str]:
    return [w for cjk, run in _runs(text) if not cjk for w in _WORD.findall(run)]


def query_terms(text: str) -> QueryTerms:
    latin: list[str] = []
    cjk_terms: list[str] = []
    chars: list[str] = []
    last_is_latin = False
    for cjk, run in _runs(text):
        if cjk:
            if len(run) == 1:
                cjk_terms.append(run)
            else:
                cjk_terms.extend(run[i : i + 2] for i in range(len(run) - 1))
            chars.extend(ch for ch in run if ch not in chars)
            last_is_latin = False
        else:
            words = _WORD.findall(run)
            if words:
                latin.extend(words)
                last_is_latin = bool(_WORD.search(run[-1:]))
    return QueryTerms(
        latin=latin,
        cjk=list(dict.fromkeys(cjk_terms)),
        last_is_latin=last_is_latin,
        cjk_chars=chars[:MAX_RELAXED_CJK],
    )


def allowed_edits(word: str) -> int:
    """Elasticsearch ``fuzziness: AUTO:4,7``: exact below 4 chars, 1 edit below 7, then 2."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 7 else 2


def cjk_allowed_misses(chars: int) -> int:
    """Typo budget for Chinese: exact below 3 characters, one wrong character below 6, then 2.

    A mistyped character (蓝芽 for 蓝牙, a wrong pinyin pick) breaks both bigrams around it,
    so typo-tolerant matching counts single characters instead.
    """
    if chars < 3:
        return 0
    return 1 if chars < 6 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau (optimal string alignment) distance, stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        row_min = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
            row_min = min(row_min, cur[j])
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)]
