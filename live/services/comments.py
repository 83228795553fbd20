"""Comments and likes: policing rules, batched storage, like totals, peak viewers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from live.errors import CommentRefused, RateLimited
from live.models import Comment, Show
from live.selectors import RoomSettings

MAX_COMMENT_LENGTH = 200


@dataclass(frozen=True)
class CommentDraft:
    cid: str
    author_id: int | None
    author: str
    role: str
    text: str
    at: float


def comment_check(
    *,
    text: object,
    user_id: int,
    role: str,
    rules: RoomSettings,
    last_at: float | None,
    now: float | None = None,
) -> str:
    """Validate one comment against the room's rules; returns the cleaned text."""
    now = time.time() if now is None else now
    if not isinstance(text, str):
        raise CommentRefused(_("a comment is a string"))
    cleaned = " ".join(text.split())
    if not cleaned:
        raise CommentRefused(_("the comment is empty"))
    if len(cleaned) > MAX_COMMENT_LENGTH:
        raise CommentRefused(
            format_lazy(_("a comment has at most {max} characters"), max=MAX_COMMENT_LENGTH)
        )
    if role != "viewer":
        return cleaned
    if user_id in rules.banned:
        raise CommentRefused(_("you are banned from this show"))
    muted = rules.muted_until.get(user_id)
    if muted is not None and muted > now:
        raise CommentRefused(_("you are muted"), until=muted)
    lowered = cleaned.lower()
    if any(word in lowered for word in rules.blocked_words):
        raise CommentRefused(_("the comment contains a blocked word"))
    if rules.slow_mode_seconds and last_at is not None:
        wait = rules.slow_mode_seconds - (now - last_at)
        if wait > 0:
            raise RateLimited(_("slow mode is on"), retry_after=round(wait, 1))
    return cleaned


def comments_store_drafts(*, batch: list[tuple[int, CommentDraft]]) -> int:
    """Store comments of any shows in one transaction; idempotent by ``cid``.

    Replays after a crash insert nothing twice (``cid`` is unique). Comments of shows
    deleted meanwhile are skipped rather than failing the whole batch (a deleted author
    keeps the name). Returns the rows offered to the database.
    """
    if not batch:
        return 0
    show_ids = {show_id for show_id, _draft in batch}
    author_ids = {d.author_id for _show, d in batch if d.author_id is not None}
    shows = set(Show.objects.filter(pk__in=show_ids).values_list("pk", flat=True))
    authors = set(User.objects.filter(pk__in=author_ids).values_list("pk", flat=True))
    rows = [
        Comment(
            show_id=show_id,
            cid=d.cid,
            author_id=d.author_id if d.author_id in authors else None,
            author_name=d.author[:150],
            role=d.role,
            text=d.text,
            posted_at=datetime.fromtimestamp(d.at, tz=UTC),
        )
        for show_id, d in batch
        if show_id in shows
    ]
    with transaction.atomic():
        Comment.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def comments_mark_deleted(*, cids: list[str]) -> int:
    """Hide comments that were deleted before their batch was stored."""
    return Comment.objects.filter(cid__in=cids).update(deleted=True)


def likes_add(*, show_id: int, count: int) -> None:
    if count > 0:
        Show.objects.filter(pk=show_id).update(like_count=F("like_count") + count)


def peak_viewers_record(*, show_id: int, viewers: int) -> None:
    Show.objects.filter(pk=show_id, peak_viewers__lt=viewers).update(peak_viewers=viewers)
