"""Real concurrency: threads against the configured database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection

from social.models import Attribution, RewardEntry, ShareClick, ShareLink
from social.services.attribution import attribution_for_order
from social.services.clicks import share_click_record
from tests.social.conftest import BROWSER_UA

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def _race(n: int, work: Callable[[], object]) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_simultaneous_clicks_of_one_visitor_count_once(tee_link: ShareLink) -> None:
    errors = _race(
        8,
        lambda: share_click_record(
            link=tee_link, visitor="v-1", user=None, ip="10.0.0.1", user_agent=BROWSER_UA
        ),
    )
    assert errors == []
    assert ShareClick.objects.count() == 8
    assert ShareClick.objects.filter(counted=True).count() == 1


def test_simultaneous_deliveries_attribute_an_order_once(
    tee_link: ShareLink, buyer: User, stocked_tee, click: Callable, buy: Callable
) -> None:
    click(tee_link, buyer)
    order = buy(buyer, stocked_tee)
    # buy() delivered order.created once; start over and deliver it six times at once.
    RewardEntry.objects.all().delete()
    Attribution.objects.all().delete()
    errors = _race(6, lambda: attribution_for_order(order_number=order.number))
    assert errors == []
    assert Attribution.objects.count() == 1
    assert RewardEntry.objects.count() == 1
