"""The PWA's own words for room error codes: both languages, only codes the server sends."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from hub.kernel.errors import DomainError
from live import errors as live_errors
from oms.errors import OutOfStock

LOCALES = Path(__file__).resolve().parents[2] / "frontend_pwa" / "src" / "locales"


def _room_error_codes(locale_file: str) -> set[str]:
    source = (LOCALES / locale_file).read_text()
    block = re.search(r"room: \{([^}]*)\}", source[source.index("errors: {") :])
    assert block is not None, f"{locale_file} has no errors.room messages"
    return set(re.findall(r"(\w+): '", block.group(1)))


def test_room_error_codes_have_words_in_both_languages_and_exist_on_the_server() -> None:
    sent = {
        cls.code
        for _name, cls in inspect.getmembers(live_errors, inspect.isclass)
        if issubclass(cls, DomainError) and cls.__module__ == live_errors.__name__
    } | {OutOfStock.code}
    english, chinese = _room_error_codes("en.ts"), _room_error_codes("zh-CN.ts")
    assert english == chinese
    assert english <= sent
    assert {"sold_out", "buyer_limit", "drop_not_open", "try_again", "rate_limited"} <= english
