"""Writes for web push: subscriptions (with consent), show reminders, notices and delivery.

A notice is one row per (user, cause), so a replayed outbox message or a second sweep
sends nothing twice. Delivery runs in a Celery task after commit and calls the push
services outside any transaction; a service answering 404/410 removes the subscription.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.kernel.effects import after_commit
from hub.kernel.errors import DomainError
from live.models import Show
from live.states import ShowStatus
from oms.models import Order
from webapp.models import PushNotice, PushSubscription, ShowReminder
from webapp.push.client import endpoint_allowed, push_send
from webapp.push.messages import notice_payload
from webapp.push.vapid import is_valid_key

#: a subscription that failed this many times in a row is dropped
MAX_FAILURES = 5
LOCALES = {"en", "zh-CN"}


class InvalidSubscription(DomainError):
    code = "invalid_subscription"
    http_status = 400


def push_subscribe(
    *, user: User, endpoint: str, p256dh: str, auth: str, locale: str = "zh-CN"
) -> PushSubscription:
    """Store (or move to this user) a browser's subscription; the browser asked consent."""
    if not endpoint_allowed(endpoint):
        raise InvalidSubscription("the push endpoint must be an https URL")
    if not is_valid_key(p256dh, size=65) or not is_valid_key(auth, size=16):
        raise InvalidSubscription("keys.p256dh must be a P-256 point and keys.auth 16 bytes")
    with transaction.atomic():
        subscription, _created = PushSubscription.objects.update_or_create(
            endpoint=endpoint,
            defaults={
                "user": user,
                "p256dh": p256dh,
                "auth": auth,
                "locale": locale if locale in LOCALES else "zh-CN",
                "failures": 0,
            },
        )
    return subscription


def push_unsubscribe(*, user: User, endpoint: str) -> int:
    with transaction.atomic():
        deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted


def show_reminder_set(*, user: User, show: Show, on: bool) -> bool:
    """Ask (or stop asking) to be told when a scheduled show goes live."""
    with transaction.atomic():
        if not on:
            ShowReminder.objects.filter(user=user, show=show).delete()
            return False
        if show.status != ShowStatus.SCHEDULED:
            raise InvalidSubscription("reminders are for shows that have not started yet")
        ShowReminder.objects.get_or_create(user=user, show=show)
    return True


def push_notice_create(
    *, user_id: int, kind: str, key: str, url: str, params: dict[str, Any]
) -> PushNotice | None:
    """Record a notice for one cause (once) and deliver it after commit."""
    if not PushSubscription.objects.filter(user_id=user_id).exists():
        return None
    try:
        with transaction.atomic():
            notice = PushNotice.objects.create(
                user_id=user_id, kind=kind, key=key, url=url, params=params
            )
    except IntegrityError:
        return None  # this cause was already notified
    notice_id = notice.pk

    def deliver() -> None:
        from webapp.tasks import push_notice_deliver

        push_notice_deliver.delay(notice_id)

    after_commit(deliver)
    return notice


def push_notice_deliver(*, notice_id: int) -> int:
    """Send one notice to each of its user's subscriptions; returns how many accepted it."""
    notice = PushNotice.objects.filter(pk=notice_id, sent_at__isnull=True).first()
    if notice is None:
        return 0
    accepted = 0
    for subscription in list(PushSubscription.objects.filter(user_id=notice.user_id)):
        payload = notice_payload(
            kind=notice.kind, locale=subscription.locale, url=notice.url, params=notice.params
        )
        result = push_send(
            endpoint=subscription.endpoint,
            p256dh=subscription.p256dh,
            auth=subscription.auth,
            payload=payload,
        )
        if result.ok:
            accepted += 1
            PushSubscription.objects.filter(pk=subscription.pk).update(
                failures=0, last_success_at=timezone.now()
            )
        elif result.gone or subscription.failures + 1 >= MAX_FAILURES:
            subscription.delete()
        else:
            PushSubscription.objects.filter(pk=subscription.pk).update(
                failures=subscription.failures + 1
            )
    PushNotice.objects.filter(pk=notice.pk).update(delivered=accepted, sent_at=timezone.now())
    return accepted


# ---- causes --------------------------------------------------------------------------------


def push_order_ready(*, order_number: str) -> PushNotice | None:
    """ "Your order is ready for pick-up" (from the ``order.status_changed`` outbox message)."""
    order = (
        Order.objects.filter(number=order_number)
        .select_related("pickup_location")
        .only("number", "customer_id", "pickup_location")
        .first()
    )
    if order is None or order.customer_id is None:
        return None
    store = order.pickup_location
    return push_notice_create(
        user_id=order.customer_id,
        kind=PushNotice.Kind.ORDER_READY,
        key=f"order-ready:{order.number}",
        url=f"/orders/{order.number}",
        params={
            "number": order.number,
            "store": {"en": store.name_en, "zh-CN": store.name_zh} if store else "",
        },
    )


def push_show_reminders_due(*, show_code: str | None = None, limit: int = 500) -> int:
    """Tell everyone who asked that their show is live now, once per reminder.

    Called for one show when it goes live (the ``show.status_changed`` outbox message) and
    for every live show by a beat sweep that catches what a lost message would miss.
    """
    due_reminders = ShowReminder.objects.filter(
        notified_at__isnull=True, show__status=ShowStatus.LIVE
    )
    if show_code is not None:
        due_reminders = due_reminders.filter(show__code=show_code)
    due = list(due_reminders.select_related("show").order_by("id")[:limit])
    for reminder in due:
        with transaction.atomic():
            marked = ShowReminder.objects.filter(pk=reminder.pk, notified_at__isnull=True).update(
                notified_at=timezone.now()
            )
            if not marked:
                continue
            push_notice_create(
                user_id=reminder.user_id,
                kind=PushNotice.Kind.SHOW_LIVE,
                key=f"show-live:{reminder.show.code}",
                url=f"/live/{reminder.show.code}",
                params={"title": reminder.show.title},
            )
    return len(due)
