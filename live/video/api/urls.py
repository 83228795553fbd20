from django.urls import path

from live.video.api import views

app_name = "live_video"

urlpatterns = [
    path("whip/shows/<str:show_code>", views.whip_publish, name="whip"),
    path("whip/sessions/<str:session_id>", views.whip_session, name="whip-session"),
    path("whep/shows/<str:show_code>", views.whep_seat, name="whep"),
    path(
        "whep/seats/<str:session_id>/<str:seat>", views.whep_seat_session, name="whep-seat-session"
    ),
    path("shows/<str:show_code>/ingest", views.show_ingest, name="ingest"),
    path("shows/<str:show_code>/ingest/rotate", views.show_ingest_rotate, name="ingest-rotate"),
    path(
        "shows/<str:show_code>/ingest/keep-replays",
        views.show_keep_replays,
        name="ingest-keep-replays",
    ),
    path("shows/<str:show_code>/studio", views.studio, name="studio"),
    path("hls/<str:media_id>/<str:session_id>/<path:name>", views.hls_file, name="hls"),
    path("shows/<str:show_code>", views.show_video, name="show"),
]
