from django.apps import AppConfig


class WebappConfig(AppConfig):
    """Serves the built PWA (frontend_pwa/dist), its JSON endpoints and its web push."""

    name = "webapp"
    label = "webapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webapp import events

        events.register_outbox_handlers()
