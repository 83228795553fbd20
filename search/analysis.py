"""Text analysis for the embedded engine: Latin words, CJK unigrams + bigrams, typo distance.

SQLite's ``unicode61`` tokenizer splits on spaces and punctuation only, so a Chinese run
would be one token; we pre-analyse text into space-separated terms instead (the same
unigram+bigram scheme as the Elasticsearch ``cjk`` analyzer plus single characters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from search.documents import is_cjk

_WORD = re.compile(r"[0-9a-z]+")


@dataclass(frozen=True, slots=True)
class QueryTerms:
    latin: list[str]  #: lower-cased words, in order
    cjk: list[str]  #: bigrams (or a lone character) that must all match
    last_is_latin: bool  #: the final typed term is a Latin word (prefix-matched when suggesting)


def _runs(text: str) -> list[tuple[bool, str]]:
    """Split into (is_cjk, run) pieces, lower-cased and accent-folded."""
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
    return runs


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
    last_is_latin = False
    for cjk, run in _runs(text):
        if cjk:
            if len(run) == 1:
                cjk_terms.append(run)
            else:
                cjk_terms.extend(run[i : i + 2] for i in range(len(run) - 1))
            last_is_latin = False
        else:
            words = _WORD.findall(run)
            if words:
                latin.extend(words)
                last_is_latin = bool(_WORD.search(run[-1:]))
    return QueryTerms(latin=latin, cjk=cjk_terms, last_is_latin=last_is_latin)


def allowed_edits(word: str) -> int:
    """Elasticsearch ``fuzziness: AUTO:4,7``: exact below 4 chars, 1 edit below 7, then 2."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 7 else 2


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
