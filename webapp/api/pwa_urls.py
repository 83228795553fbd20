from django.urls import path

from webapp.api import pwa_views as views

urlpatterns = [
    path("push/key/", views.PushKeyView.as_view(), name="pwa-push-key"),
    path(
        "push/subscriptions/", views.PushSubscriptionView.as_view(), name="pwa-push-subscriptions"
    ),
    path("push/reminders/", views.ReminderView.as_view(), name="pwa-push-reminders"),
    path("payment-methods/", views.PaymentMethodsView.as_view(), name="pwa-payment-methods"),
    path("payments/<str:reference>/qr.png", views.PaymentQrView.as_view(), name="pwa-payment-qr"),
    path("member/", views.MemberCentreView.as_view(), name="pwa-member"),
    path("variants/", views.VariantsView.as_view(), name="pwa-variants"),
]
