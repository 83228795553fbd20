"""The publisher session state machine, declared as a table."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SessionStatus(models.TextChoices):
    CONNECTING = "connecting", _("Connecting")  #: offer accepted, no media yet
    LIVE = "live", _("Live")  #: media is being packaged to HLS
    ENDED = "ended", _("Ended")  #: the recording is a VOD playlist
    FAILED = "failed", _("Failed")  #: never produced media (bad offer, worker down)


#: Sessions in these states hold the show's single publisher slot.
ACTIVE_STATUSES = (SessionStatus.CONNECTING, SessionStatus.LIVE)

SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.CONNECTING: frozenset(
        {SessionStatus.LIVE, SessionStatus.ENDED, SessionStatus.FAILED}
    ),
    SessionStatus.LIVE: frozenset({SessionStatus.ENDED}),
    SessionStatus.ENDED: frozenset(),
    SessionStatus.FAILED: frozenset(),
}


class MarkerKind(models.TextChoices):
    PIN = "pin", _("Product pinned")
    UNPIN = "unpin", _("Product unpinned")
    DROP = "drop", _("Flash drop")
    COUPON = "coupon", _("Coupon drop")
