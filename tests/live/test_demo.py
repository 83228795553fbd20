from __future__ import annotations

from django.core.management import call_command

from live.models import Show
from oms.services.demo_data import demo_data_load


def test_the_live_demo_show_is_loaded_once_with_five_products(db: None) -> None:
    demo_data_load(products=12, seed=7)
    call_command("load_live_demo")
    call_command("load_live_demo")
    show = Show.objects.get()
    assert (show.host.username, show.status, show.sales_channel.code) == (
        "host",
        "scheduled",
        "live",
    )
    assert list(show.lineup.values_list("label", flat=True)) == ["A1", "A2", "A3", "A4", "A5"]
