from django.urls import path

from live.api import host_views, views

urlpatterns = [
    path("shows/", views.ShowListCreate.as_view(), name="live-show-list"),
    path("shows/<str:code>/", views.ShowDetail.as_view(), name="live-show-detail"),
    path("shows/<str:code>/lineup/", views.LineupAdd.as_view(), name="live-lineup-add"),
    path("shows/<str:code>/moderators/", views.ModeratorAdd.as_view(), name="live-moderator-add"),
    path("shows/<str:code>/dashboard/", views.Dashboard.as_view(), name="live-dashboard"),
    path("orders/", views.LiveOrderCreate.as_view(), name="live-order-create"),
    # the host console (frontend_pwa /live/studio): a host's own shows
    path("host/shows/", host_views.HostShowList.as_view(), name="live-host-shows"),
    path("host/shows/<str:code>/", host_views.HostShowDetail.as_view(), name="live-host-show"),
]
