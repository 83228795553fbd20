"""Side effects that run only after the surrounding transaction commits.

Broadcasts, search indexing, marketplace pushes and ``.delay()`` calls all go through
``after_commit`` so a rolled-back write never leaks an effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)


def after_commit(effect: Callable[[], object], *, robust: bool = True) -> None:
    """Run ``effect`` once the current transaction commits (immediately outside one).

    ``robust`` effects log their failure instead of raising into the caller: the write
    already committed, and the outbox relay retries anything that must not be lost.
    """
    transaction.on_commit(effect, robust=robust)
