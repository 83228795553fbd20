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

_CN_DIGITS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KEYWORD = re.compile(
    r"^\s*(?:(?P<plus>\+\s*(?P<plusn>\d{1,2}))|(?P<mine>mine|我要|要了|拍)|"
    r"(?P<buy>买|要|sold|buy)\b?)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_QTY = re.compile(r"(?:^|\s|x|×)(?P<n>\d{1,2}|[一两二三四五六七八九])\s*(?:件|个|pcs?)?(?=\s|$)", re.I)
_LABEL = re.compile(r"^[A-Za-z]{1,3}\d{1,4}$")


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


def parse_buy_intent(text: str, *, keywords: Iterable[str] = ()) -> BuyIntent | None:
    """A buy intent, or None when the comment is just chat."""
    match = _KEYWORD.match(text)
    extra = [k.lower() for k in keywords if k]
    if match is None:
        lowered = text.strip().lower()
        hit = next((k for k in extra if lowered.startswith(k)), None)
        if hit is None:
            return None
        rest = text.strip()[len(hit) :]
        quantity = 1
    else:
        rest = match.group("rest") or ""
        quantity = int(match.group("plusn")) if match.group("plus") else 1
        if match.group("buy") and match.group("buy").isascii() and rest and not rest[0].isspace():
            return None  # "buyer", "solder" are not keywords
    tokens = re.split(r"[\s,，。!！]+", rest.replace("件", " ").replace("个", " "))
    label: str | None = None
    hints: list[str] = []
    for token in tokens:
        if not token:
            continue
        if token.isdigit() and len(token) <= 2 and not match_plus(match):
            quantity = int(token)
            continue
        if token in _CN_DIGITS:
            quantity = _CN_DIGITS[token]
            continue
        lead = re.match(r"^(\d{1,2})(\D+)$", token)
        if lead and lead.group(2) not in ("",):
            quantity = int(lead.group(1))
            token = lead.group(2)
        if label is None and _LABEL.match(token) and _canonical(token) == token.lower():
            label = token.upper()
            continue
        hints.append(token)
    if not 1 <= quantity <= 99:
        return None
    return BuyIntent(label=label, quantity=quantity, hints=tuple(hints))


def match_plus(match: re.Match[str] | None) -> bool:
    return bool(match and match.group("plus"))


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
