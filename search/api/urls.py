from __future__ import annotations

from django.urls import path

from search.api import views

app_name = "search"

urlpatterns = [
    path("products", views.ProductSearchApi.as_view(), name="products"),
    path("suggest", views.SuggestApi.as_view(), name="suggest"),
]
