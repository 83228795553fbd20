"""Shoppable replays: room events (pin, unpin, drop, coupon) stamped on the video timeline.

The video app owns the markers (``live.video.services.markers``); the room services call
``replay_mark`` inside their transaction and the marker is written after commit, so a
rolled-back pin or drop never shows up on a replay. Without live video there is nothing
to stamp and ``marker_record`` does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.kernel.effects import after_commit

logger = logging.getLogger(__name__)


def replay_mark(*, show_id: int, kind: str, payload: dict[str, Any]) -> None:
    """Record a timeline marker for the show's live recording once the write commits."""

    def record() -> None:
        from live.video.services.markers import marker_record

        marker_record(show_id=show_id, kind=kind, payload=payload)

    after_commit(record)
