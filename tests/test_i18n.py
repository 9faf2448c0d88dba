"""Console text: every key in both languages, and every key a template uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from wenzheng.web.i18n import MESSAGES

TEMPLATES = Path(__file__).parent.parent / "wenzheng" / "web" / "templates"


def test_every_message_has_both_languages() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key


def test_templates_use_only_known_keys() -> None:
    used = {
        m for path in TEMPLATES.rglob("*.html") for m in re.findall(r"(?<![\w.])t\('([a-z_.]+)'\)", path.read_text())
    }
    assert used, "no translated text found in templates"
    assert used - set(MESSAGES) == set()


def test_language_switch(client: TestClient) -> None:
    assert "登录" in client.get("/login").text
    switched = client.get("/lang/en?next=/login")
    assert switched.status_code == 200
    assert "Log in" in switched.text
    outside = client.get("/lang/en?next=//evil.example/", follow_redirects=False)
    assert outside.headers["location"] == "/console"
