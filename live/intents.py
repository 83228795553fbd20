"""Comment-to-buy: read a buy intent out of a chat line, in Chinese or English.

``"买 2"``, ``"买2件 XL"``, ``"SOLD A12"``, ``"sold a12 x-large"``, ``"+1"``, ``"mine"``,
``"要 加大"`` become ``BuyIntent(label, quantity, hints)``. Variant matching is tolerant:
"xl" = "X-Large" = "加大" (see ``SYNONYMS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Each group of spellings names one option value.
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(group)
    for group in (
        {"xs", "x-small", "xsmall", "extra small", "加小"},
        {"s", "small", "小", "小号"},
        {"m", "medium", "中", "中号"},
        {"l", "large", "大", "大号"},
        {"xl", "x-large", "xlarge", "extra large", "加大", "特大"},
        {"xxl", "2xl", "xx-large", "xxlarge", "加加大"},
        {"red", "红", "红色"},
        {"black", "黑", "黑色"},
        {"white", "白", "白色"},
        {"blue", "蓝", "蓝色"},
        {"navy", "藏青", "藏青色", "海军蓝"},
        {"green", "绿", "绿色"},
        {"grey", "gray", "灰", "灰色"},
        {"pink", "粉", "粉色", "粉红"},
        {"yellow", "黄", "黄色"},
        {"beige", "米色", "米白"},
    )
)

_CN_DIGITS = {
    "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_KEYWORD = re.compile(
    r"^\s*(?:\+\s*(?P<plus>\d{1,2})|(?:mine|sold|buy)(?=\s|$)|我要|要了|拍|买|要)\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_SEPARATORS = re.compile("[\\s,.!?\uff0c\u3002\uff01\uff1f]+")
_LABEL = re.compile(r"^[A-Za-z]{1,3}\d{1,4}$")
_COUNTED = re.compile(r"^(?P<n>\d{1,2})(?:件|个|pcs|pc|x)?$", re.IGNORECASE)


@dataclass(frozen=True)
class BuyIntent:
    label: str | None  #: a line-up label ("A12") or None for the pinned product
    quantity: int
    hints: tuple[str, ...]  #: words that may name a variant ("xl", "红")


def _canonical(word: str) -> str:
    lowered = word.strip().lower()
    for group in SYNONYMS:
        if lowered in group:
            return min(group, key=lambda w: (not w.isascii(), len(w), w))
    return lowered


def _known(word: str) -> bool:
    return any(word.lower() in group for group in SYNONYMS)


def parse_buy_intent(text: str) -> BuyIntent | None:
    """A buy intent, or None when the comment is just chat."""
    match = _KEYWORD.match(text or "")
    if match is None:
        return None
    quantity = int(match.group("plus")) if match.group("plus") else 1
    label: str | None = None
    hints: list[str] = []
    rest = match.group("rest")
    for token in _SEPARATORS.split(rest):
        if not token or token in ("件", "个"):
            continue
        counted = _COUNTED.match(token)
        if counted:
            quantity = int(counted.group("n"))
            continue
        if token.rstrip("件个") in _CN_DIGITS:
            quantity = _CN_DIGITS[token.rstrip("件个")]
            continue
        if label is None and _LABEL.match(token) and _canonical(token) == token.lower():
            label = token.upper()
            continue
        hints.append(token)
    if not 1 <= quantity <= 99:
        return None
    glued = rest and not text[: len(text) - len(rest)].endswith((" ", "\t"))
    if glued and any(_canonical(h) == h.lower() and not _known(h) for h in hints):
        return None  # "要不要看看" is chat, "要加大" is a buy
    return BuyIntent(label=label, quantity=quantity, hints=tuple(hints))


def match_variant(variants: list[Any], hints: Iterable[str]) -> Any | None:
    """The one variant whose attribute values match every hint (tolerant spellings).

    A product with one variant matches without hints. Ambiguity returns None, so the
    buyer is asked to say which.
    """
    wanted = {_canonical(h) for h in hints if h}
    if not wanted:
        return variants[0] if len(variants) == 1 else None
    found = []
    for variant in variants:
        values = {_canonical(str(v)) for v in (variant.attributes or {}).values()}
        values |= {_canonical(part) for part in variant.sku.lower().split("-")}
        if wanted <= values:
            found.append(variant)
    return found[0] if len(found) == 1 else None
