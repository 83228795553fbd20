"""WeChat endpoints: JS-SDK config and the OAuth sign-in round trip."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.kernel.errors import DomainError
from hub.kernel.ids import opaque_token
from social.services.wechat_login import wechat_user_for
from social.wechat import jssdk_config, oauth, oauth_exchange

STATE_KEY = "wechat_oauth"


class JsSdkConfigApi(APIView):
    permission_classes = [AllowAny]

    class JsSdkConfigIn(serializers.Serializer[Any]):
        url = serializers.URLField(max_length=1000)

    @extend_schema(parameters=[JsSdkConfigIn], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        params = self.JsSdkConfigIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(jssdk_config(url=params.validated_data["url"]))


class OAuthStartApi(APIView):
    """Redirect to WeChat's consent page; the state ties the callback to this session."""

    permission_classes = [AllowAny]

    class OAuthStartIn(serializers.Serializer[Any]):
        scope = serializers.ChoiceField(
            choices=["snsapi_base", "snsapi_userinfo"], default="snsapi_base"
        )
        next = serializers.CharField(max_length=500, default="/app/")

    @extend_schema(parameters=[OAuthStartIn], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponseRedirect:
        params = self.OAuthStartIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        nxt = params.validated_data["next"]
        if not url_has_allowed_host_and_scheme(nxt, allowed_hosts=None):
            raise DomainError("next must be a path on this site")
        state = opaque_token(12)
        scope = params.validated_data["scope"]
        request.session[STATE_KEY] = {"state": state, "next": nxt, "scope": scope}
        redirect_uri = request.build_absolute_uri("/api/social/wechat/oauth/callback")
        return HttpResponseRedirect(
            oauth(redirect_uri=redirect_uri, scope=scope, state=state).authorize_url
        )


class OAuthCallbackApi(APIView):
    permission_classes = [AllowAny]

    class OAuthCallbackIn(serializers.Serializer[Any]):
        code = serializers.CharField(max_length=200)
        state = serializers.CharField(max_length=64)

    @extend_schema(parameters=[OAuthCallbackIn], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponseRedirect:
        params = self.OAuthCallbackIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        pending = request.session.pop(STATE_KEY, None)
        if not pending or pending["state"] != params.validated_data["state"]:
            raise DomainError("the sign-in link expired or was not started here; try again")
        identity = oauth_exchange(
            code=params.validated_data["code"],
            redirect_uri=request.build_absolute_uri("/api/social/wechat/oauth/callback"),
            scope=pending["scope"],
        )
        user = wechat_user_for(**identity)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(pending["next"])
