"""Member reads for staff screens: the risk review queue and the blocklist."""

from __future__ import annotations

from django.db.models import QuerySet

from members.models import BlocklistEntry, RiskAssessment


def risk_reviews(*, status: str = RiskAssessment.Status.FLAGGED) -> QuerySet[RiskAssessment]:
    """Risk assessments in one status, oldest first (the review queue when ``flagged``)."""
    return (
        RiskAssessment.objects.filter(status=status)
        .select_related("order", "order__customer", "decided_by")
        .order_by("created_at", "id")
    )


def blocklist_entries(*, kind: str = "") -> QuerySet[BlocklistEntry]:
    entries = BlocklistEntry.objects.order_by("-created_at", "-id")
    return entries.filter(kind=kind) if kind else entries
