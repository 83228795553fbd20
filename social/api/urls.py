from __future__ import annotations

app_name = "social"

urlpatterns: list[object] = []
