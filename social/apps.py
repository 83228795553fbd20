from __future__ import annotations

from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "social"
    label = "social"
    verbose_name = "Social sharing and attribution"

    def ready(self) -> None:
        from social import events

        events.register()
