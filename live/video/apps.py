from django.apps import AppConfig


class LiveVideoConfig(AppConfig):
    name = "live.video"
    label = "live_video"
    verbose_name = "Live video"
