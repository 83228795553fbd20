"""Moderation: delete comments, mute, ban, slow mode, blocked words (host or moderator)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from live import events, locks
from live.comment_log import comment_log
from live.errors import InvalidMessage, NotAllowed
from live.models import Comment, Show, ShowBan, ShowMute
from live.selectors import can_host, can_moderate

MAX_MUTE_MINUTES = 7 * 24 * 60
MAX_SLOW_MODE = 600
MAX_BLOCKED_WORDS = 500


def _require_moderator(actor: User, show: Show) -> None:
    if not can_moderate(actor, show):
        raise NotAllowed(_("only the host or a moderator may do this"))


def _audit(show: Show, actor: User, kind: str, payload: dict[str, object]) -> None:
    audit_record(
        kind=f"live.moderation.{kind}",
        aggregate_type="live_show",
        aggregate_id=show.code,
        actor_id=actor.pk,
        payload=payload,
    )


def _settings_changed(show: Show) -> None:
    code = show.code
    after_commit(lambda: events.broadcast(code, events.event("room.settings")))


def comment_delete(*, show: Show, actor: User, cid: str) -> None:
    """Hide a comment everywhere (stored or still in a process's buffer)."""
    _require_moderator(actor, show)
    # first the mark, then the UPDATE: a flusher storing this comment meanwhile either
    # sees the mark after its INSERT, or its INSERT came first and the UPDATE finds it
    comment_log().mark_deleted([cid])
    with transaction.atomic():
        Comment.objects.filter(show=show, cid=cid).update(deleted=True)
        _audit(show, actor, "comment_deleted", {"cid": cid})
    code = show.code
    after_commit(lambda: events.broadcast(code, events.event("room.comment_deleted", cid=cid)))


def user_mute(*, show: Show, actor: User, user_id: int, minutes: int) -> ShowMute:
    _require_moderator(actor, show)
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise InvalidMessage(
            format_lazy(_("minutes must be between 1 and {max}"), max=MAX_MUTE_MINUTES)
        )
    if can_moderate(User.objects.get(pk=user_id), show):
        raise NotAllowed(_("the host and moderators cannot be muted"))
    with transaction.atomic():
        mute, _created = ShowMute.objects.update_or_create(
            show=show,
            user_id=user_id,
            defaults={"until": timezone.now() + timedelta(minutes=minutes)},
        )
        _audit(show, actor, "muted", {"user": user_id, "minutes": minutes})
        _settings_changed(show)
    return mute


def user_ban(*, show: Show, actor: User, user_id: int) -> ShowBan:
    """Ban a viewer: their open connections are closed and they cannot rejoin."""
    _require_moderator(actor, show)
    if can_host(User.objects.get(pk=user_id), show):
        raise NotAllowed(_("the host cannot be banned"))
    with transaction.atomic():
        ban, _created = ShowBan.objects.get_or_create(show=show, user_id=user_id)
        _audit(show, actor, "banned", {"user": user_id})
        _settings_changed(show)
        code = show.code
        after_commit(lambda: events.broadcast(code, events.event("room.kick", user=user_id)))
    return ban


def slow_mode_set(*, show: Show, actor: User, seconds: int) -> Show:
    _require_moderator(actor, show)
    if not isinstance(seconds, int) or not 0 <= seconds <= MAX_SLOW_MODE:
        raise InvalidMessage(format_lazy(_("slow mode is 0-{max} seconds"), max=MAX_SLOW_MODE))
    with transaction.atomic():
        show = locks.lock_show(show.pk)
        show.slow_mode_seconds = seconds
        show.save(update_fields=["slow_mode_seconds"])
        _audit(show, actor, "slow_mode", {"seconds": seconds})
        _settings_changed(show)
    return show


def blocked_words_set(*, show: Show, actor: User, words: list[str]) -> Show:
    _require_moderator(actor, show)
    if not isinstance(words, list) or len(words) > MAX_BLOCKED_WORDS:
        raise InvalidMessage(
            format_lazy(_("blocked words are a list of at most {max}"), max=MAX_BLOCKED_WORDS)
        )
    cleaned = sorted({str(w).strip().lower() for w in words if str(w).strip()})
    if any(len(w) > 50 for w in cleaned):
        raise InvalidMessage(_("a blocked word has at most 50 characters"))
    with transaction.atomic():
        show = locks.lock_show(show.pk)
        show.blocked_words = cleaned
        show.save(update_fields=["blocked_words"])
        _audit(show, actor, "blocked_words", {"count": len(cleaned)})
        _settings_changed(show)
    return show
