"""Comment-to-buy parsing and tolerant variant matching."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from live.intents import BuyIntent, match_variant, parse_buy_intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("买 2", BuyIntent(None, 2, ())),
        ("买2件 XL", BuyIntent(None, 2, ("XL",))),
        ("SOLD A12", BuyIntent("A12", 1, ())),
        ("sold a12 x-large", BuyIntent("A12", 1, ("x-large",))),
        ("+1", BuyIntent(None, 1, ())),
        ("+3 红 L", BuyIntent(None, 3, ("红", "L"))),
        ("mine", BuyIntent(None, 1, ())),
        ("要加大", BuyIntent(None, 1, ("加大",))),
        ("我要 两件 黑色", BuyIntent(None, 2, ("黑色",))),
    ],
)
def test_buy_keywords_in_chinese_and_english(text: str, expected: BuyIntent) -> None:
    assert parse_buy_intent(text) == expected


@pytest.mark.parametrize("text", ["hello", "buyer here", "要不要看看", "A12 sold?", "+0", ""])
def test_chat_is_not_a_buy(text: str) -> None:
    assert parse_buy_intent(text) is None


def _variant(sku: str, **attributes: str) -> SimpleNamespace:
    return SimpleNamespace(sku=sku, attributes=attributes)


def test_variant_spellings_are_tolerant() -> None:
    m = _variant("HOODIE-RED-M", size="M", colour="Red")
    xl = _variant("HOODIE-RED-XL", size="X-Large", colour="Red")
    black_xl = _variant("HOODIE-BLK-XL", size="XL", colour="Black", colour_zh="黑色")
    assert match_variant([m, xl], ["xl"]) is xl
    assert match_variant([m, xl], ["加大"]) is xl
    assert match_variant([m, xl], ["x-large", "红"]) is xl
    assert match_variant([m, xl, black_xl], ["xl"]) is None  # ambiguous: ask
    assert match_variant([m, xl, black_xl], ["黑", "特大"]) is black_xl
    assert match_variant([m], []) is m
    assert match_variant([m, xl], []) is None
