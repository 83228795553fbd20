"""Reconciliation pull: fetch orders changed since the cursor and apply the missing ones."""

from __future__ import annotations

from collections import Counter

from django.db import transaction

from channels_sync.errors import RemoteError
from channels_sync.models import Connection
from channels_sync.services.connections import connector_of
from channels_sync.services.orders import IngestResult, order_ingest, order_mark_reconciled
from hub.kernel.audit import audit_record
from hub.kernel.errors import DomainError

MAX_PAGES = 20


def orders_reconcile(*, connection: Connection) -> dict[str, int]:
    """Pull every order changed since the cursor; ``created`` are orders whose webhook
    never arrived (repaired), ``updated`` are missed status changes."""
    connector = connector_of(connection)
    cursor = connection.order_cursor
    report: Counter[str] = Counter()
    for _ in range(MAX_PAGES):
        try:
            page = connector.pull_orders(since=cursor)
        except RemoteError as error:
            report["errors"] += 1
            Connection.objects.filter(pk=connection.pk).update(last_error=error.message[:500])
            break
        for data in page.orders:
            report["pulled"] += 1
            try:
                outcome = order_ingest(connection=connection, data=data)
            except DomainError:
                report["failed"] += 1
                continue
            report[outcome.result] += 1
        cursor = page.cursor
        if not page.has_more:
            break
    summary = {
        key: report[key]
        for key in (
            "pulled",
            IngestResult.CREATED,
            IngestResult.UPDATED,
            IngestResult.UNMAPPED,
            IngestResult.STALE,
            "failed",
            "errors",
        )
    }
    order_mark_reconciled(connection=connection, cursor=cursor, report=summary)
    if summary[IngestResult.CREATED] or summary[IngestResult.UPDATED]:
        with transaction.atomic():
            audit_record(
                kind="sync.orders_repaired",
                aggregate_type="sales_channel",
                aggregate_id=connection.sales_channel.code,
                payload=summary,
            )
    return summary
