"""``/s/<code>``: record the click, set the first-party cookies, redirect to the PWA.

Link-preview crawlers (WeChat, Weibo, Twitter, Facebook ...) get an HTML page with Open
Graph and Twitter card tags instead, and their fetch is stored as a bot click (not counted).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hub.kernel.ids import opaque_token
from social.models import ShareLink
from social.selectors import link_preview
from social.services.clicks import is_bot, share_click_record
from social.services.links import UTM_KEYS
from social.services.referral import REFERRAL_COOKIE, VISITOR_COOKIE

VISITOR_MAX_AGE = 365 * 24 * 3600


def set_visitor_cookie(response: HttpResponseBase, visitor: str, *, secure: bool) -> None:
    """The first-party visitor id (one year): clicks, views and posts are de-duplicated by it."""
    response.set_cookie(
        VISITOR_COOKIE,
        visitor,
        max_age=VISITOR_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


@require_GET
def share_redirect(request: HttpRequest, code: str) -> HttpResponse:
    link = ShareLink.objects.filter(code=code).first()
    if link is None:
        raise Http404("share link not found")
    user_agent = request.headers.get("User-Agent", "")
    visitor = request.COOKIES.get(VISITOR_COOKIE) or opaque_token(12)
    user = request.user if isinstance(request.user, User) else None
    share_click_record(
        link=link, visitor=visitor, user=user, ip=_client_ip(request), user_agent=user_agent
    )
    preview = link_preview(link)
    target_url = settings.SOCIAL_PWA_BASE_URL.rstrip("/") + preview.path
    utm = {k: link.utm[k] for k in UTM_KEYS if k in link.utm}  # JSONB does not keep order
    target_url += "?" + urlencode({**utm, "share": link.code})
    if is_bot(user_agent):
        image_url = (
            request.build_absolute_uri(settings.MEDIA_URL + preview.image_path)
            if preview.image_path
            else request.build_absolute_uri(f"/api/social/links/{link.code}/poster.png")
        )
        return render(
            request,
            "social/share_preview.html",
            {
                "link": link,
                "preview": preview,
                "description": preview.description or preview.title,
                "share_url": request.build_absolute_uri(),
                "image_url": image_url,
                "target_url": target_url,
            },
        )
    response = HttpResponseRedirect(target_url)
    secure = request.is_secure()
    set_visitor_cookie(response, visitor, secure=secure)
    response.set_cookie(
        REFERRAL_COOKIE,
        link.code,
        max_age=settings.SOCIAL_ATTRIBUTION_WINDOW_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )
    return response
