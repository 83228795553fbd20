from django.urls import path

from webapp.api import views

urlpatterns = [
    path("", views.SessionView.as_view(), name="session"),
    path("login/", views.LoginView.as_view(), name="session-login"),
    path("logout/", views.LogoutView.as_view(), name="session-logout"),
]
