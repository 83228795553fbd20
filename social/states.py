"""The UGC post state machine as a table."""

from __future__ import annotations

from social.models import PostStatus

S = PostStatus
POST_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PUBLISHED, S.REJECTED}),
    S.PUBLISHED: frozenset({S.HIDDEN, S.REJECTED}),
    S.HIDDEN: frozenset({S.PUBLISHED, S.REJECTED}),
    S.REJECTED: frozenset(),
}
