"""State machines of the live aggregates, declared as tables (see ``hub.kernel.states``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ShowStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    LIVE = "live", _("Live")
    ENDED = "ended", _("Ended")


SHOW_TRANSITIONS: dict[str, frozenset[str]] = {
    ShowStatus.SCHEDULED: frozenset({ShowStatus.LIVE, ShowStatus.ENDED}),
    ShowStatus.LIVE: frozenset({ShowStatus.ENDED}),
    ShowStatus.ENDED: frozenset(),
}


class DropStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


DROP_TRANSITIONS: dict[str, frozenset[str]] = {
    DropStatus.OPEN: frozenset({DropStatus.CLOSED}),
    DropStatus.CLOSED: frozenset(),
}


class ClaimStatus(models.TextChoices):
    """A buyer's units of a drop: taken from the quota, then made durable as an oms hold."""

    PENDING = "pending", _("Pending")  #: quota taken in Redis, oms hold not made yet
    HELD = "held", _("Held")  #: oms hold active
    REJECTED = "rejected", _("Rejected")  #: the stock was not there; quota given back
    RELEASED = "released", _("Released")  #: hold expired or released; quota given back
    CONVERTED = "converted", _("Converted")  #: the order was paid


CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.PENDING: frozenset({ClaimStatus.HELD, ClaimStatus.REJECTED}),
    ClaimStatus.HELD: frozenset({ClaimStatus.RELEASED, ClaimStatus.CONVERTED}),
    ClaimStatus.REJECTED: frozenset(),
    ClaimStatus.RELEASED: frozenset(),
    ClaimStatus.CONVERTED: frozenset(),
}

#: claims whose units count against the quota
TAKING = frozenset({ClaimStatus.PENDING, ClaimStatus.HELD, ClaimStatus.CONVERTED})
