"""Celery entry points for payment services (thin: ids in, service call)."""

from __future__ import annotations

from celery import shared_task

from payments import services


@shared_task(name="payments.refund_submit")
def refund_submit(refund_id: int) -> str:
    return services.refund_submit(refund_id=refund_id).status


@shared_task(name="payments.payment_close")
def payment_close(payment_id: int) -> str:
    return services.payment_close(payment_id=payment_id).status


@shared_task(name="payments.payment_reconcile")
def payment_reconcile() -> dict[str, int]:
    report = services.payment_reconcile()
    return {
        "checked": report.checked,
        "settled": report.settled,
        "closed": report.closed,
        "refunds_advanced": report.refunds_advanced,
        "errors": report.errors,
    }


@shared_task(name="payments.simulator_deliver")
def simulator_deliver(url: str, headers: dict[str, str], body: str) -> int:
    """Demo only: a gateway simulator's notifier POSTs a callback from outside the web app."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
