"""WebSocket routes of every app, in one list the ASGI router mounts."""

from django.urls import path

from live.consumers import RoomConsumer
from oms.consumers import InboxConsumer

websocket_urlpatterns = [
    path("ws/oms/inbox/", InboxConsumer.as_asgi()),
    path("ws/live/<str:show>/", RoomConsumer.as_asgi()),
]
