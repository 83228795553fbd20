"""The service worker's push handler in headless Chromium: a push message (delivered to
the registration over the DevTools protocol, as a push service would) shows a notice
with our title, body and click-through URL, and the consent button asks nothing on load."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.webapp.browser import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_push_message_becomes_a_notification_and_nothing_is_asked_on_load(
    browser: Any,
    live_server: LiveServer,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    context = browser.new_context(locale="en-US", service_workers="allow")
    page = context.new_page()
    asked: list[str] = []
    page.expose_function("__permissionAsked", lambda name: asked.append(name))
    page.add_init_script(
        "(() => { const ask = Notification.requestPermission.bind(Notification);"
        " Notification.requestPermission = (...a) => { window.__permissionAsked('notifications');"
        " return ask(...a) } })()"
    )
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shop")
    # evaluate() has no timeout of its own: bound the wait for the worker in the page
    assert page.evaluate(
        """() => Promise.race([
            navigator.serviceWorker.ready.then(r => !!r.active),
            new Promise(resolve => setTimeout(() => resolve(false), 20000)),
        ])"""
    ), "the service worker never became active"
    assert asked == []  # consent is asked from a button press only
    context.grant_permissions(["notifications"], origin=base)
    registration_id = next(
        r["registrationId"] for r in registrations if r["scopeURL"] == f"{base}/"
    )
    message = {
        "title": "Order W1 is ready",
        "body": "Your order is ready for pick-up at Jing'an store.",
        "url": "/orders/W1",
        "tag": "order_ready:/orders/W1",
    }
    # A push that reaches a worker still starting up can be dropped by the browser (a push
    # service would redeliver): deliver again until the notice shows (20 s at most).
    shown = None
    for _attempt in range(5):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": base, "registrationId": registration_id, "data": json.dumps(message)},
        )
        shown = page.evaluate(
            """async () => {
                const registration = await navigator.serviceWorker.getRegistration();
                for (let i = 0; i < 40; i++) {
                    const list = await registration.getNotifications();
                    if (list.length) return list.map(n => ({
                        title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url,
                    }));
                    await new Promise(resolve => setTimeout(resolve, 100));
                }
                return null;
            }"""
        )
        if shown is not None:
            break
    assert shown == [
        {
            "title": "Order W1 is ready",
            "body": "Your order is ready for pick-up at Jing'an store.",
            "tag": "order_ready:/orders/W1",
            "url": "/orders/W1",
        }
    ]
    context.close()
