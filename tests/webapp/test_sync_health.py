"""The sales-channel sync health page shows each connection's circuit breaker, in words.

A marketplace that failed five calls in a row has its breaker open
(channels_sync.services.breaker): the merchant admin's page says so in text (not colour
alone), with the next probe's time and the recent error rate that tripped it, in English
and in Chinese; a healthy connection reads "Closed". axe-core finds no violation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from channels_sync.models import Connection
from channels_sync.services.breaker import FAILURE_THRESHOLD, breaker_record
from channels_sync.services.connections import connection_upsert
from oms.models import Location, SalesChannel
from tests.webapp.browser import TIMEOUT_MS, axe, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _connection(code: str, platform: str, warehouse: Location) -> Connection:
    channel = SalesChannel.objects.create(
        code=code, name=code.title(), kind=SalesChannel.Kind.MARKETPLACE, currency="CNY"
    )
    channel.locations.set([warehouse])
    return connection_upsert(
        sales_channel=channel,
        platform=platform,
        base_url="http://127.0.0.1:9",
        credentials={"access_token": "token", "webhook_secret": "secret"},
    )


def test_an_open_breaker_shows_its_state_next_probe_and_recent_error_rate(
    browser: Any, live_server: LiveServer, warehouse: Location, admin_user: User
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    down = _connection("shopify", "shopify", warehouse)
    _connection("taobao", "taobao", warehouse)
    state = breaker_record(connection_id=down.pk, failed=FAILURE_THRESHOLD, error="HTTP 503")
    down.refresh_from_db()
    assert (state, down.breaker_state, down.recent_error_rate) == ("open", "open", 0.4095)
    assert down.breaker_retry_at is not None and down.breaker_retry_at > timezone.now()
    context = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 900}, timezone_id="UTC"
    )
    page = context.new_page()

    sign_in(page, live_server.url, "boss", "/staff/sync")
    table = page.get_by_test_id("sync-health")
    expect(table.get_by_role("columnheader", name="Circuit breaker")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Recent errors")).to_be_visible()
    row = page.get_by_test_id("sync-shopify")
    breaker = row.get_by_test_id("breaker")
    expect(breaker.locator(".pill")).to_have_text("Open: calls paused")
    probe_at = page.evaluate(
        "(iso) => new Intl.DateTimeFormat('en-US', {timeStyle: 'medium'}).format(new Date(iso))",
        down.breaker_retry_at.isoformat(),
    )
    expect(breaker.get_by_test_id("breaker-when")).to_have_text(f"next probe at {probe_at}")
    expect(breaker).to_contain_text("5 failures in a row")
    expect(row.get_by_test_id("recent-error-rate")).to_have_text("40.9%")  # 0.4095
    expect(row).to_contain_text("Needs attention")
    healthy = page.get_by_test_id("sync-taobao")
    expect(healthy.get_by_test_id("breaker")).to_have_text("Closed: calls flow")
    expect(healthy.get_by_test_id("recent-error-rate")).to_have_text("0.0%")
    violations = axe(page, "staff-sync-breaker")

    page.get_by_test_id("locale").select_option("zh-CN")
    expect(breaker.locator(".pill")).to_have_text("打开：暂停调用")  # noqa: RUF001
    expect(breaker).to_contain_text("连续失败 5 次")
    expect(breaker.get_by_test_id("breaker-when")).to_contain_text("下次试探")
    expect(healthy.get_by_test_id("breaker")).to_have_text("关闭：正常调用")  # noqa: RUF001
    expect(table.get_by_role("columnheader", name="熔断器")).to_be_visible()
    violations += axe(page, "staff-sync-breaker-zh")
    context.close()
    assert violations == [], json.dumps(violations, indent=1)
