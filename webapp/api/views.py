"""JSON session endpoints for the PWA: who am I, sign in, sign out (CSRF-protected)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checkout.services import cart_merge
from hub.kernel.errors import DomainError
from webapp.selectors import session_profile


class BadCredentials(DomainError):
    code = "bad_credentials"
    http_status = 400


class SessionOut(serializers.Serializer[Any]):
    authenticated = serializers.BooleanField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    locations = serializers.ListField(child=serializers.DictField())


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionView(APIView):
    """GET: the current session (and a CSRF cookie for the writes that follow)."""

    permission_classes = [AllowAny]
    authentication_classes = [SessionAuthentication]

    @extend_schema(responses=SessionOut)
    def get(self, request: Request) -> Response:
        return Response(session_profile(user=request.user))


class LoginView(APIView):
    """POST ``{username, password}``; session cookie on success, 400 otherwise."""

    permission_classes = [AllowAny]
    authentication_classes = [SessionAuthentication]

    class Input(serializers.Serializer[Any]):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=Input, responses=SessionOut)
    def post(self, request: Request) -> Response:
        # Anonymous requests skip DRF's CSRF check, so enforce it here: a login form on
        # another site must not sign a visitor in to our shop.
        SessionAuthentication().enforce_csrf(request)
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise BadCredentials("wrong username or password")
        # The session key changes at sign-in: fold the anonymous cart into the member's.
        anonymous_session = request._request.session.session_key or ""
        login(request._request, user)
        if anonymous_session:
            cart_merge(session_key=anonymous_session, user=user)
        return Response(session_profile(user=user))


class LogoutView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [SessionAuthentication]

    @extend_schema(request=None, responses=SessionOut)
    def post(self, request: Request) -> Response:
        SessionAuthentication().enforce_csrf(request)
        logout(request._request)
        # DRF's Request caches the user it authenticated; the Django request has the new one.
        return Response(session_profile(user=request._request.user))
