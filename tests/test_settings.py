"""Settings: one class, documented in full, and no placeholder secrets in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from wenzheng.config import Settings

DOC = Path(__file__).parent.parent / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(WENZHENG_[A-Z0-9_]+)`", DOC.read_text()))
    expected = {f"WENZHENG_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "document these in docs/configuration.md"
    assert documented - expected - {"WENZHENG_TEST_DATABASE_URL", "WENZHENG_NEW_USER_PASSWORD"} == set()


def test_sqlite_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WENZHENG_DATABASE_URL")
    settings = Settings()
    assert settings.database_url == "sqlite:///./var/wenzheng.db"
    assert settings.sqlite_path() == Path("var/wenzheng.db")


@pytest.mark.parametrize("secret", ["dev-insecure-change-me", "changeme", "", "short-but-real"])
def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("WENZHENG_MODE", "production")
    monkeypatch.setenv("WENZHENG_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="WENZHENG_SECRET_KEY"):
        Settings()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENZHENG_MODE", "production")
    monkeypatch.setenv("WENZHENG_SECRET_KEY", "k" * 48)
    assert Settings().mode == "production"
