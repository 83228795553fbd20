"""The social demo command is idempotent and indexes the catalogue."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import override_settings

from social.models import ShareLink

pytestmark = pytest.mark.django_db


def test_load_social_demo_twice_keeps_one_link(tee, tmp_path: Path) -> None:
    User.objects.create_user(username="shopper", password="shopper")
    with override_settings(ELASTICSEARCH_URL="", SEARCH_EMBEDDED_PATH=tmp_path / "s.db"):
        out = StringIO()
        call_command("load_social_demo", stdout=out)
        call_command("load_social_demo", stdout=StringIO())
    link = ShareLink.objects.get()
    assert (link.sharer.username, link.target_id) == ("shopper", str(tee.product_id))
    assert "Search index: 1 products." in out.getvalue()
    assert f"/s/{link.code}" in out.getvalue()
