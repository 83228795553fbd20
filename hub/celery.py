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
    "sync-stock-push": {"task": "channels_sync.stock_push_due", "schedule": 2.0},
    "sync-order-push": {"task": "channels_sync.order_push_due", "schedule": 5.0},
    "sync-orders-reconcile": {"task": "channels_sync.orders_reconcile", "schedule": 60.0},
    "payment-reconcile": {"task": "payments.payment_reconcile", "schedule": 60.0},
    "birthday-rewards": {"task": "members.birthday_rewards_grant", "schedule": 3600.0},
    "points-expire": {"task": "members.points_expire_due", "schedule": 3600.0},
    "live-release-claims": {"task": "live.drop_claims_release", "schedule": 5.0},
    "live-close-drops": {"task": "live.drop_close_due", "schedule": 2.0},
    "live-reconcile-drops": {"task": "live.drops_reconcile_open", "schedule": 30.0},
    "live-flush-comments": {"task": "live.comments_flush", "schedule": 5.0},
    "video-recover-orphans": {"task": "live_video.sessions_recover_orphans", "schedule": 15.0},
    "video-prune-media": {"task": "live_video.media_prune", "schedule": 3600.0},
    # a safety net: going live pushes at once through the show.status_changed outbox message
    "push-show-reminders": {"task": "webapp.push_show_reminders_due", "schedule": 60.0},
}
