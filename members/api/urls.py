from django.urls import path

from members.api import views

app_name = "members"

urlpatterns = [
    path("sign-in/code/", views.OtpRequestView.as_view(), name="otp-request"),
    path("sign-in/code/verify/", views.OtpVerifyView.as_view(), name="otp-verify"),
    path("sign-in/password/", views.PasswordSignInView.as_view(), name="password"),
    path("sign-in/wechat/", views.WeChatAuthorizeView.as_view(), name="wechat-authorize"),
    path("sign-in/wechat/callback/", views.WeChatCallbackView.as_view(), name="wechat-callback"),
    path("me/", views.MeView.as_view(), name="me"),
    path("risk/", views.RiskReviewListView.as_view(), name="risk-reviews"),
    path("blocklist/", views.BlocklistView.as_view(), name="blocklist"),
    path("risk/<str:number>/", views.RiskDecideView.as_view(), name="risk-decide"),
]
