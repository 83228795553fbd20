from django.urls import path

from channels_sync.api import views

urlpatterns = [
    path(
        "webhooks/<int:connection_id>/",
        views.WebhookReceiveApi.as_view(),
        name="sync-webhook",
    ),
    path("connections/", views.ConnectionHealthListApi.as_view(), name="sync-health"),
    path(
        "connections/<int:connection_id>/retry/",
        views.ConnectionRetryApi.as_view(),
        name="sync-retry",
    ),
    path(
        "connections/<int:connection_id>/reconcile/",
        views.ConnectionReconcileApi.as_view(),
        name="sync-reconcile",
    ),
]
