from django.apps import AppConfig


class WebappConfig(AppConfig):
    """Serves the built PWA (frontend_pwa/dist) and its JSON session endpoints."""

    name = "webapp"
    label = "webapp"
    default_auto_field = "django.db.models.BigAutoField"
