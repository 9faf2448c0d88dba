"""A live server on a free loopback port and Debian's Chromium driven by Playwright.

Without /usr/bin/chromium these tests skip with the command that installs it; CI sets
WENZHENG_REQUIRE_BROWSER=1 so a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = "needs Debian's Chromium: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("WENZHENG_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def screenshots() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
