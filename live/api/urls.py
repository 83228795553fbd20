from django.urls import path

from live.api import views

urlpatterns = [
    path("shows/", views.ShowListCreate.as_view(), name="live-show-list"),
    path("shows/<str:code>/", views.ShowDetail.as_view(), name="live-show-detail"),
    path("shows/<str:code>/lineup/", views.LineupAdd.as_view(), name="live-lineup-add"),
    path("shows/<str:code>/moderators/", views.ModeratorAdd.as_view(), name="live-moderator-add"),
    path("shows/<str:code>/dashboard/", views.Dashboard.as_view(), name="live-dashboard"),
    path("orders/", views.LiveOrderCreate.as_view(), name="live-order-create"),
]
