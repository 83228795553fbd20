"""State machines as tables: one check shared by every aggregate's ``transition_*``."""

from __future__ import annotations

from collections.abc import Mapping

from hub.kernel.errors import InvalidTransition

Transitions = Mapping[str, frozenset[str]]


def can_transition(table: Transitions, current: str, target: str) -> bool:
    return target in table.get(current, frozenset())


def require_transition(table: Transitions, *, aggregate: str, current: str, target: str) -> None:
    """Raise ``InvalidTransition`` naming both states unless ``table`` allows the move."""
    if not can_transition(table, current, target):
        raise InvalidTransition(aggregate, current, target)
