from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hub import observability

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("oms.api.urls")),
    path("api/sync/", include("channels_sync.api.urls")),
    path("", include("payments.api.urls")),
    path("api/", include("checkout.api.urls")),
    path("api/members/", include("members.api.urls")),
    path("api/live/video/", include("live.video.api.urls")),
    path("api/live/", include("live.api.urls")),
    path("api/search/", include("search.api.urls")),
    path("api/social/", include("social.api.urls")),
    path("s/", include("social.links_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/session/", include("webapp.api.urls")),
    path("api/pwa/", include("webapp.api.pwa_urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    # The PWA shell for its client-side routes, /sw.js and /manifest.webmanifest.
    path("", include("webapp.urls")),
]

if settings.MEDIA_URL == "/media/":
    # Embedded mode keeps uploads on local disk; at scale MEDIA_URL points at a CDN or
    # object store and this route is not mounted.
    def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
        return serve(request, path, document_root=str(settings.MEDIA_ROOT))

    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve_media))
