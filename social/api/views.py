"""Social API: share links, posters, visitor claim, the sharer's statement, analytics."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api import CREATED, acting_user, get_or_404
from hub.kernel.errors import NotFound, PermissionDenied
from hub.kernel.ids import opaque_token
from hub.kernel.roles import Role, user_has_role, user_is_merchant_admin
from social.links_views import VISITOR_COOKIE, set_visitor_cookie
from social.models import Platform, Post, ShareLink, TargetKind
from social.posters import render_poster
from social.selectors import (
    blocked_words,
    daily_trend,
    link_preview,
    moderation_queue,
    post_reports,
    published_posts,
    share_funnel,
    sharer_statement,
    top_sharers,
)
from social.services.clicks import visitor_claim
from social.services.links import share_link_create
from social.services.page_views import page_view_record
from social.services.ugc import (
    MODERATION_SIGNALS,
    MediaIn,
    blocked_word_add,
    blocked_word_remove,
    post_comment,
    post_create,
    post_like,
    post_report,
    transition_post,
)


def _link_out(request: Request, link: ShareLink) -> dict[str, Any]:
    return {
        "code": link.code,
        "url": request.build_absolute_uri(f"/s/{link.code}"),
        "poster_url": request.build_absolute_uri(f"/api/social/links/{link.code}/poster.png"),
        "target_kind": link.target_kind,
        "target_id": link.target_id,
        "platform": link.platform,
        "utm": link.utm,
    }


class ShareLinksApi(APIView):
    permission_classes = [IsAuthenticated]

    class ShareLinksIn(serializers.Serializer[Any]):
        target_kind = serializers.ChoiceField(choices=TargetKind.choices)
        target_id = serializers.CharField(max_length=64)
        platform = serializers.ChoiceField(choices=Platform.choices, default=Platform.LINK)
        utm = serializers.DictField(child=serializers.CharField(max_length=100), required=False)
        title = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        links = ShareLink.objects.filter(sharer=acting_user(request)).order_by("-created_at")
        return Response({"links": [_link_out(request, link) for link in links]})

    @extend_schema(request=ShareLinksIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.ShareLinksIn(data=request.data)
        data.is_valid(raise_exception=True)
        link, created = share_link_create(sharer=acting_user(request), **data.validated_data)
        return Response(_link_out(request, link), status=CREATED if created else 200)


class PosterApi(APIView):
    permission_classes: list[type] = []

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> HttpResponse:
        link = get_or_404(ShareLink, "share link", code=code)
        preview = link_preview(link)
        fallback = preview.title
        if link.target_kind == "product":
            from django.utils import translation

            with translation.override("en"):
                fallback = link_preview(link).title
        png = render_poster(
            preview=preview, fallback_title=fallback, url=request.build_absolute_uri(f"/s/{code}")
        )
        response = HttpResponse(png, content_type="image/png")
        response["Cache-Control"] = "public, max-age=300"
        return response


class VisitorClaimApi(APIView):
    """Called by the PWA after sign-in: the visitor cookie's clicks become the user's."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        claimed = visitor_claim(
            visitor=request.COOKIES.get(VISITOR_COOKIE, ""), user=acting_user(request)
        )
        return Response({"claimed": claimed})


class PageViewApi(APIView):
    """Called by the PWA when a product or show page opens (``share`` from its URL)."""

    permission_classes: list[type] = []
    authentication_classes: list[type] = []  # anonymous beacon: no session, so no CSRF

    class PageViewIn(serializers.Serializer[Any]):
        #: product or show (checked by the service; a second enum of target kinds would
        #: collide in the OpenAPI schema)
        target_kind = serializers.CharField(max_length=16)
        target_id = serializers.CharField(max_length=64)
        share = serializers.CharField(max_length=24, required=False, default="", allow_blank=True)

    @extend_schema(request=PageViewIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.PageViewIn(data=request.data)
        data.is_valid(raise_exception=True)
        visitor = request.COOKIES.get(VISITOR_COOKIE) or opaque_token(12)
        outcome = page_view_record(
            target_kind=data.validated_data["target_kind"],
            target_id=data.validated_data["target_id"],
            visitor=visitor,
            user_agent=request.headers.get("User-Agent", ""),
            share_code=data.validated_data["share"],
        )
        response = Response({"counted": outcome.counted, "reason": outcome.reason})
        if request.COOKIES.get(VISITOR_COOKIE) != visitor:
            set_visitor_cookie(response, visitor, secure=request.is_secure())
        return response


class StatementApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(sharer_statement(sharer=acting_user(request)))


class AnalyticsApi(APIView):
    permission_classes = [IsAuthenticated]

    class AnalyticsIn(serializers.Serializer[Any]):
        days = serializers.IntegerField(min_value=1, max_value=366, default=30)
        by = serializers.ChoiceField(choices=["platform", "target"], default="platform")

    @extend_schema(parameters=[AnalyticsIn], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, report: str) -> Response:
        if not user_is_merchant_admin(acting_user(request)):
            raise PermissionDenied("share analytics are for merchant admins")
        params = self.AnalyticsIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        days = params.validated_data["days"]
        if report == "top-sharers":
            return Response({"rows": top_sharers(days=days)})
        if report == "funnel":
            return Response({"rows": share_funnel(days=days, by=params.validated_data["by"])})
        return Response({"rows": daily_trend(days=days)})


# --- UGC -----------------------------------------------------------------------------------


def _post_out(post: Post) -> dict[str, Any]:
    return {
        "id": post.pk,
        "author": post.author.get_username(),
        "kind": post.kind,
        "target_kind": post.target_kind,
        "target_id": post.target_id,
        "body": post.body,
        "rating": post.rating,
        "verified_purchase": post.verified_purchase,
        "status": post.status,
        "signals": post.signals,
        "likes": post.likes,
        "media": [{"kind": m.kind, "url": m.file.url} for m in post.media.all()],
        "created_at": post.created_at.isoformat(),
    }


class PostsApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    class PostsIn(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=Post.Kind.choices)
        body = serializers.CharField(max_length=2000)
        target_kind = serializers.ChoiceField(choices=TargetKind.choices, required=False)
        target_id = serializers.CharField(max_length=64, required=False)
        rating = serializers.IntegerField(required=False, min_value=1, max_value=5)
        photos = serializers.ListField(child=serializers.FileField(), required=False)
        videos = serializers.ListField(child=serializers.FileField(), required=False)

    class PostsFilter(serializers.Serializer[Any]):
        target_kind = serializers.ChoiceField(choices=TargetKind.choices)
        target_id = serializers.CharField(max_length=64)

    @extend_schema(parameters=[PostsFilter], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        params = self.PostsFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        posts = published_posts(**params.validated_data)
        return Response({"posts": [_post_out(p) for p in posts]})

    @extend_schema(request=PostsIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.PostsIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        media = [MediaIn("photo", f) for f in v.get("photos", [])] + [
            MediaIn("video", f) for f in v.get("videos", [])
        ]
        post = post_create(
            author=acting_user(request),
            kind=v["kind"],
            body=v["body"],
            target_kind=v.get("target_kind", ""),
            target_id=v.get("target_id", ""),
            rating=v.get("rating"),
            media=media,
            device=request.COOKIES.get(VISITOR_COOKIE, ""),
            ip=str(request.META.get("REMOTE_ADDR", "")),
        )
        return Response(_post_out(post), status=CREATED)


class PostActionApi(APIView):
    """like | comment | report on one post."""

    permission_classes = [IsAuthenticated]

    class PostActionIn(serializers.Serializer[Any]):
        body = serializers.CharField(max_length=500, required=False)
        reason = serializers.CharField(max_length=200, required=False)

    @extend_schema(
        request=PostActionIn, responses=OpenApiTypes.OBJECT, operation_id="social_post_action"
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        post = get_or_404(Post, "post", pk=pk)
        data = self.PostActionIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = acting_user(request)
        if action == "like":
            return Response({"liked": post_like(post=post, user=user)})
        if action == "comment":
            comment = post_comment(post=post, author=user, body=data.validated_data.get("body", ""))
            return Response({"id": comment.pk, "body": comment.body}, status=CREATED)
        reported = post_report(
            post=post, reporter=user, reason=data.validated_data.get("reason", "")
        )
        return Response({"reported": reported})


def _require_moderator(request: Request) -> Any:
    user = acting_user(request)
    if not (user_is_merchant_admin(user) or user_has_role(user, Role.STORE_STAFF)):
        raise PermissionDenied("moderation is for merchant admins and store staff")
    return user


class ModerationQueueApi(APIView):
    permission_classes = [IsAuthenticated]

    class QueueFilter(serializers.Serializer[Any]):
        signal = serializers.ChoiceField(choices=MODERATION_SIGNALS, required=False, default="")

    @extend_schema(parameters=[QueueFilter], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _require_moderator(request)
        params = self.QueueFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        posts = moderation_queue(signal=params.validated_data["signal"])
        reports = post_reports(post_ids=[p.pk for p in posts])
        return Response(
            {
                "posts": [
                    {**_post_out(p), "reports": reports[p.pk], "device": p.device} for p in posts
                ]
            }
        )


class BlockedWordsApi(APIView):
    """The blocked-word filter, managed by moderators."""

    permission_classes = [IsAuthenticated]

    class BlockedWordIn(serializers.Serializer[Any]):
        word = serializers.CharField(max_length=64)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _require_moderator(request)
        return Response({"words": blocked_words()})

    @extend_schema(request=BlockedWordIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        moderator = _require_moderator(request)
        data = self.BlockedWordIn(data=request.data)
        data.is_valid(raise_exception=True)
        word, created = blocked_word_add(word=data.validated_data["word"], actor=moderator)
        return Response({"word": word.word}, status=CREATED if created else 200)

    @extend_schema(request=BlockedWordIn, responses=OpenApiTypes.OBJECT)
    def delete(self, request: Request) -> Response:
        moderator = _require_moderator(request)
        data = self.BlockedWordIn(data=request.data)
        data.is_valid(raise_exception=True)
        if not blocked_word_remove(word=data.validated_data["word"], actor=moderator):
            raise NotFound(f"'{data.validated_data['word']}' is not a blocked word")
        return Response(status=204)


class ModerationDecisionApi(APIView):
    permission_classes = [IsAuthenticated]

    class ModerationDecisionIn(serializers.Serializer[Any]):
        decision = serializers.ChoiceField(choices=["published", "hidden", "rejected"])
        note = serializers.CharField(max_length=200, required=False, default="")

    @extend_schema(request=ModerationDecisionIn, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        moderator = _require_moderator(request)
        post = get_or_404(Post, "post", pk=pk)
        data = self.ModerationDecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        post = transition_post(
            post=post,
            target=data.validated_data["decision"],
            moderator=moderator,
            note=data.validated_data["note"],
        )
        return Response(_post_out(post))
