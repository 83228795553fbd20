from __future__ import annotations

app_name = "share"

urlpatterns: list[object] = []
