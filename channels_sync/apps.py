from django.apps import AppConfig


class ChannelsSyncConfig(AppConfig):
    name = "channels_sync"
    label = "channels_sync"
    verbose_name = "Sales-channel sync"

    def ready(self) -> None:
        from channels_sync import events

        events.register_outbox_handlers()
