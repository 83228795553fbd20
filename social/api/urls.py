from __future__ import annotations

from django.urls import path, re_path

from social import wechat_views
from social.api import views

app_name = "social"

urlpatterns = [
    path("links", views.ShareLinksApi.as_view(), name="links"),
    path("links/<str:code>/poster.png", views.PosterApi.as_view(), name="poster"),
    path("visitor/claim", views.VisitorClaimApi.as_view(), name="visitor-claim"),
    path("statement", views.StatementApi.as_view(), name="statement"),
    path("views", views.PageViewApi.as_view(), name="views"),
    path("wechat/jssdk-config", wechat_views.JsSdkConfigApi.as_view(), name="wechat-jssdk"),
    path("wechat/oauth/start", wechat_views.OAuthStartApi.as_view(), name="wechat-oauth-start"),
    path(
        "wechat/oauth/callback",
        wechat_views.OAuthCallbackApi.as_view(),
        name="wechat-oauth-callback",
    ),
    path("posts", views.PostsApi.as_view(), name="posts"),
    re_path(
        r"^posts/(?P<pk>[0-9]+)/(?P<action>like|comment|report)$",
        views.PostActionApi.as_view(),
        name="post-action",
    ),
    path("moderation", views.ModerationQueueApi.as_view(), name="moderation"),
    path("moderation/blocked-words", views.BlockedWordsApi.as_view(), name="blocked-words"),
    path("moderation/<int:pk>", views.ModerationDecisionApi.as_view(), name="moderation-decide"),
    re_path(
        r"^analytics/(?P<report>top-sharers|funnel|trend)$",
        views.AnalyticsApi.as_view(),
        name="analytics",
    ),
]
