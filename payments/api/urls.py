from django.urls import path

from payments.api import views
from payments.simulators import demo

app_name = "payments"

urlpatterns = [
    path("api/payments/", views.PaymentCreateView.as_view(), name="payment-create"),
    path(
        "api/payments/<str:reference>/",
        views.PaymentDetailView.as_view(),
        name="payment-detail",
    ),
    path(
        "api/payments/<str:reference>/refunds/",
        views.RefundCreateView.as_view(),
        name="payment-refund",
    ),
    path("payments/notify/<str:provider>/", views.notification_view, name="notify"),
    path("payments/sandbox/<str:reference>/", views.sandbox_page, name="sandbox-page"),
    # Demo only: the gateway simulators, answering inside LiveHub (docs/payments.md).
    path(
        "payments/simulator/<str:name>/pay/<str:reference>/",
        demo.payer_view,
        name="simulator-payer",
    ),
    path("payments/simulator/<str:name>/<path:path>", demo.gateway_view, name="simulator"),
]
