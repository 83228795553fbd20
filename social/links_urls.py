from __future__ import annotations

from django.urls import path

from social import links_views

app_name = "share"

urlpatterns = [
    path("<str:code>", links_views.share_redirect, name="redirect"),
]
