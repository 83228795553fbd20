"""Sign-in through WeChat OAuth: one local user per openid, created on first sign-in."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from hub.kernel.ids import opaque_token
from hub.kernel.roles import Role
from social.models import WeChatIdentity


def wechat_user_for(*, openid: str, unionid: str = "", nickname: str = "") -> User:
    """The user behind an openid; a new shopper account the first time."""
    found = WeChatIdentity.objects.select_related("user").filter(openid=openid).first()
    if found is not None:
        if nickname and found.nickname != nickname:
            WeChatIdentity.objects.filter(pk=found.pk).update(nickname=nickname[:100])
        return found.user
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=f"wx_{opaque_token(9)}", first_name=nickname[:150]
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            group, _ = Group.objects.get_or_create(name=Role.SHOPPER.value)
            user.groups.add(group)
            WeChatIdentity.objects.create(
                openid=openid, unionid=unionid, user=user, nickname=nickname[:100]
            )
    except IntegrityError:  # a concurrent callback for the same openid won
        return WeChatIdentity.objects.select_related("user").get(openid=openid).user
    return user
