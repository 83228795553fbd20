"""Sign-in: phone one-time codes, WeChat OAuth (wechatpy) and passwords (Argon2id).

One-time codes are six random digits, stored only as an HMAC under the secret key with a
five-minute lifetime and five tries. Rate limits live in the cache (Redis when
configured, so every web process shares them): per phone one code a minute and five an
hour, per client IP twenty an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from wechatpy.oauth import WeChatOAuth

from members.errors import SignInFailed, TooManyAttempts
from members.models import MemberProfile
from members.sms import sms_backend

PHONE = re.compile(r"^\+?[0-9]{6,15}$")
CODE_TTL_SECONDS = 300
MAX_CODE_TRIES = 5
#: (cache key prefix, limit, window seconds)
PHONE_LIMITS = (("otp:phone:min", 1, 60), ("otp:phone:hour", 5, 3600))
IP_LIMITS = (("otp:ip:hour", 20, 3600),)


def _hash(phone: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _hit(prefix: str, subject: str, limit: int, window: int) -> bool:
    """Count one use; True if that stays within the limit (atomic incr in the cache)."""
    key = f"{prefix}:{subject}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count <= limit


def otp_request(*, phone: str, client_ip: str) -> None:
    """Text a one-time code, or refuse with 429 when the phone or IP is over its limit."""
    phone = phone.strip().replace(" ", "")
    if not PHONE.match(phone):
        raise SignInFailed(_("Enter a valid phone number."))
    for prefix, limit, window in PHONE_LIMITS:
        if not _hit(prefix, phone, limit, window):
            raise TooManyAttempts(_("Too many codes requested. Try again later."))
    for prefix, limit, window in IP_LIMITS:
        if not _hit(prefix, client_ip or "unknown", limit, window):
            raise TooManyAttempts(_("Too many codes requested. Try again later."))
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(f"otp:code:{phone}", {"hash": _hash(phone, code), "tries": 0}, CODE_TTL_SECONDS)
    sms_backend().send(
        phone=phone,
        message=_("Your LiveHub code is %(code)s. It expires in 5 minutes.") % {"code": code},
    )


def otp_verify(*, phone: str, code: str) -> User:
    """Check a code; the phone's member is created on first sign-in."""
    phone = phone.strip().replace(" ", "")
    key = f"otp:code:{phone}"
    stored: dict[str, Any] | None = cache.get(key)
    if stored is None:
        raise SignInFailed(_("The code has expired. Request a new one."))
    if stored["tries"] >= MAX_CODE_TRIES:
        cache.delete(key)
        raise TooManyAttempts(_("Too many wrong codes. Request a new one."))
    if not hmac.compare_digest(stored["hash"], _hash(phone, code.strip())):
        stored["tries"] += 1
        cache.set(key, stored, CODE_TTL_SECONDS)
        raise SignInFailed(_("That code is not right."))
    cache.delete(key)
    return _member_for(phone=phone)


def _member_for(*, phone: str = "", openid: str = "") -> User:
    lookup = {"phone": phone} if phone else {"wechat_openid": openid}
    profile = MemberProfile.objects.filter(**lookup).select_related("user").first()
    if profile is not None:
        return profile.user
    try:
        with transaction.atomic():
            username = f"m_{secrets.token_hex(6)}"
            user = User.objects.create_user(username=username)  # no usable password
            MemberProfile.objects.create(user=user, **lookup)
            return user
    except IntegrityError:  # a concurrent first sign-in created the member
        return MemberProfile.objects.get(**lookup).user


def password_sign_in(*, username: str, password: str) -> User:
    """Django's authenticate, hashing with Argon2id (first in ``PASSWORD_HASHERS``)."""
    if not _hit("pw:user:min", username.lower(), 10, 60):
        raise TooManyAttempts(_("Too many attempts. Try again in a minute."))
    user = authenticate(username=username, password=password)
    if not isinstance(user, User):
        raise SignInFailed(_("Wrong username or password."))
    return user


def _wechat_client(state: str = "") -> WeChatOAuth:
    config: dict[str, str] = getattr(settings, "LIVEHUB_WECHAT_OAUTH", {})
    if not config.get("app_id"):
        raise SignInFailed(_("WeChat sign-in is not configured."))
    client = WeChatOAuth(
        app_id=config["app_id"],
        secret=config["secret"],
        redirect_uri=config["redirect_uri"],
        scope="snsapi_base",
        state=state,
    )
    if config.get("api_base"):
        client.API_BASE_URL = config["api_base"]  # a local simulator in tests and the demo
    return client


def wechat_authorize_url(*, state: str) -> str:
    return str(_wechat_client(state).authorize_url)


def wechat_sign_in(*, code: str) -> User:
    """Exchange the OAuth code for the user's openid; the member is created on first use."""
    client = _wechat_client()
    try:
        result = client.fetch_access_token(code)
    except Exception as exc:  # WeChatOAuthException and network errors
        raise SignInFailed(_("WeChat sign-in failed: %(reason)s") % {"reason": exc}) from None
    return _member_for(openid=str(result["openid"]))
