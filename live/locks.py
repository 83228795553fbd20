"""Row locks in one fixed order: show, then drop, then claim (then the oms locks)."""

from __future__ import annotations

from live.models import Drop, DropClaim, Show


def lock_show(show_id: int) -> Show:
    return Show.objects.select_for_update().get(pk=show_id)


def lock_drop(drop_id: int) -> Drop:
    return Drop.objects.select_for_update().get(pk=drop_id)


def lock_claim(claim_id: int) -> DropClaim:
    return DropClaim.objects.select_for_update().get(pk=claim_id)
