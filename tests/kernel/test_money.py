import pytest

from hub.kernel.money import CurrencyMismatch, Money


def test_money_adds_and_multiplies_in_minor_units() -> None:
    assert Money(1990, "CNY") * 3 + Money(10, "CNY") == Money(5980, "CNY")


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(100, "CNY") + Money(100, "USD")


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        Money(19.9, "CNY")  # type: ignore[arg-type]


def test_money_formats_major_units() -> None:
    assert Money(12905, "CNY").format() == "129.05 CNY"
    assert Money(-5, "USD").format() == "-0.05 USD"
    assert Money(500, "JPY").format() == "500 JPY"
