"""The live rooms' Chinese catalog (live/locale): compiled, complete, placeholders intact."""

from __future__ import annotations

import gettext
from pathlib import Path
from string import Formatter

from django.conf import settings

CATALOG = Path(settings.BASE_DIR) / "live" / "locale" / "zh_Hans" / "LC_MESSAGES"


def fields(text: str) -> set[str]:
    return {f"{name}!{conversion}" for _, name, _, conversion in Formatter().parse(text) if name}


def test_every_message_is_translated_with_the_same_placeholders() -> None:
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    messages = {msgid: text for msgid, text in catalog.items() if msgid}
    assert len(messages) > 80
    untranslated = [msgid for msgid, text in messages.items() if not text.strip()]
    assert untranslated == []
    mismatched = [msgid for msgid, text in messages.items() if fields(msgid) != fields(text)]
    assert mismatched == []
