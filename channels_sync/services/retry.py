"""Retry policy of outgoing marketplace calls: exponential backoff with jitter."""

from __future__ import annotations

import random

MAX_ATTEMPTS = 8
BASE_DELAY_S = 0.5
MAX_DELAY_S = 300.0


def backoff_seconds(attempts: int) -> float:
    """'Equal jitter': half the exponential delay fixed, half random, so retries spread."""
    ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** max(0, attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
