"""The Celery app; schedules are declared here in code."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

app = Celery("livehub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # every INSTALLED_APPS package with a tasks.py

app.conf.beat_schedule = {
    "outbox-relay": {"task": "kernel.outbox_relay", "schedule": 10.0},
    "expire-holds": {"task": "oms.hold_expire_due", "schedule": 5.0},
}
