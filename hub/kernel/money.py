"""Money as integer minor units plus an ISO 4217 currency; never floats."""

from __future__ import annotations

from dataclasses import dataclass

#: Minor units per major unit for the currencies LiveHub sells in.
MINOR_UNITS: dict[str, int] = {"CNY": 100, "USD": 100, "EUR": 100, "HKD": 100, "JPY": 1}


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  #: minor units (fen, cents)
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unsupported currency {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be combined")

    def format(self) -> str:
        per = MINOR_UNITS[self.currency]
        if per == 1:
            return f"{self.amount} {self.currency}"
        major, minor = divmod(abs(self.amount), per)
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{major}.{minor:0{len(str(per)) - 1}d} {self.currency}"

    def as_dict(self) -> dict[str, int | str]:
        return {"amount": self.amount, "currency": self.currency}
