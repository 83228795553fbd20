"""The sandbox provider is safe by default: off without DEBUG or the demo, and refused."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from payments.checks import payments_sandbox_check
from payments.providers import configured_providers


def _ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_sandbox_with_debug_off_outside_the_demo_is_a_check_error(settings: Any) -> None:
    settings.DEBUG = False
    settings.LIVEHUB_DEMO = False
    settings.LIVEHUB_PAYMENT_SANDBOX = True
    settings.LIVEHUB_PAYMENT_PROVIDERS = {"sandbox": {}}
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = "/nonexistent/providers.json"
    assert _ids(payments_sandbox_check(None)) == ["payments.E001"]
    settings.LIVEHUB_DEMO = True
    assert _ids(payments_sandbox_check(None)) == ["payments.W004"]
    settings.DEBUG = True
    assert payments_sandbox_check(None) == []


def test_switching_the_sandbox_off_ignores_a_sandbox_left_in_the_providers_file(
    settings: Any, tmp_path: Path
) -> None:
    providers_file = tmp_path / "providers.json"
    providers_file.write_text(json.dumps({"sandbox": {}, "alipay": {"appid": "2021"}}))
    settings.DEBUG = False
    settings.LIVEHUB_DEMO = False
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(providers_file)
    settings.LIVEHUB_PAYMENT_PROVIDERS = {}
    settings.LIVEHUB_PAYMENT_SANDBOX = False
    assert configured_providers() == ["alipay"]
    assert payments_sandbox_check(None) == []
    settings.LIVEHUB_PAYMENT_SANDBOX = True
    assert configured_providers() == ["alipay", "sandbox"]
    assert _ids(payments_sandbox_check(None)) == ["payments.E001"]


def test_the_sandbox_switch_follows_debug_and_the_demo_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hub.settings

    def switches(**env: str) -> tuple[bool, bool]:
        for name in ("DEBUG", "LIVEHUB_DEMO", "LIVEHUB_PAYMENT_SANDBOX"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        module = importlib.reload(hub.settings)  # re-reads the environment
        return module.LIVEHUB_PAYMENT_SANDBOX, module.LIVEHUB_PAYMENT_SIMULATORS

    try:
        assert switches() == (False, False)
        assert switches(DEBUG="true") == (True, True)
        assert switches(LIVEHUB_DEMO="1") == (True, True)
        assert switches(LIVEHUB_DEMO="1", LIVEHUB_PAYMENT_SANDBOX="false") == (False, True)
    finally:
        monkeypatch.undo()
        importlib.reload(hub.settings)
