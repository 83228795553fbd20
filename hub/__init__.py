"""LiveHub Django project: settings, ASGI entry point, Celery app and the shared kernel."""

from hub.celery import app as celery_app

__all__ = ["celery_app"]
