"""The PWA at the site root. Mounted last in ``hub.urls`` so every server route wins."""

from django.urls import re_path

from webapp import views

#: client-side routes of the app (see frontend_pwa/src/router.ts); ``app/`` is where share
#: links (``/s/<code>``, SOCIAL_PWA_BASE_URL) land
SPA_ROUTES = (
    r"^(?P<path>(?:|login|search|p/[\w-]+|orders(?:/[\w-]+)?|cart|checkout|me(?:/[\w-]+)?"
    r"|staff(?:/.*)?|live(?:/.*)?|app(?:/.*)?)/?)$"
)

urlpatterns = [
    re_path(r"^(?P<name>sw\.js|manifest\.webmanifest)$", views.root_file, name="pwa-root-file"),
    re_path(SPA_ROUTES, views.app_shell, name="pwa"),
]
