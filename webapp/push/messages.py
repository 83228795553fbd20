"""What a notice says, in the subscriber's language (the PWA's two locales)."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "show_live": {
        "en": ("{title} is live", "Your show is starting now. Tap to watch."),
        "zh-CN": ("{title} 开播了", "你预约的直播开始了。点击观看。"),
    },
    "order_ready": {
        "en": ("Order {number} is ready", "Your order is ready for pick-up at {store}."),
        "zh-CN": ("订单 {number} 可以取货了", "你的订单已在{store}备好。请到店自提。"),
    },
}


def notice_payload(*, kind: str, locale: str, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON the service worker shows: ``{title, body, url, tag}``."""
    texts = TEXTS[kind].get(locale) or TEXTS[kind]["en"]
    values = {
        k: (v.get(locale, v.get("en", "")) if isinstance(v, dict) else v) for k, v in params.items()
    }
    return {
        "title": texts[0].format(**values),
        "body": texts[1].format(**values),
        "url": url,
        "tag": f"{kind}:{url}",
        "kind": kind,
    }
