"""The map in a real browser: 30,000 open help requests over Sichuan, clustered with the right totals,
split by zooming in, and a marker that opens its case."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, create_tenant
from tests.map.seeding import insert_cases, sichuan_seeds

pytestmark = pytest.mark.browser
CASES = 30_000

VISIBLE = "() => window.wzMap.visible.map(v => ({n: v.cluster.n, x: v.x, y: v.y, rank: v.cluster.rank}))"


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console**")


def _settled(page: Any) -> None:
    """Wait until the county outlines in view have loaded and the frame after them is drawn."""
    page.wait_for_function(
        "() => window.wzMap && window.wzMap.counties.size > 0"
        " && Array.from(window.wzMap.counties.values()).every(layer => layer)"
    )
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_thirty_thousand_requests_cluster_and_split(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    tenant = create_tenant(db, "sc")
    insert_cases(tenant.account, sichuan_seeds(CASES))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, tenant.operator.username)

    started = time.perf_counter()
    page.goto(f"{live_server}/console/agencies/{tenant.agency.id}/map")
    page.wait_for_selector("#map[data-ready]")
    interactive = time.perf_counter() - started
    in_page = page.evaluate("() => ({ready: window.wzMapReadyAt, data: window.wzMapDataMs})")
    print(
        f"\nmap with {CASES:,} cases interactive after {interactive * 1000:.0f} ms "
        f"(in the page: {in_page['ready']:.0f} ms from navigation, cases.json {in_page['data']:.0f} ms)"
    )
    _settled(page)
    assert str(CASES) in page.inner_text("#map-status")
    clusters = page.evaluate(VISIBLE)
    assert sum(c["n"] for c in clusters) == CASES, "every request is in exactly one cluster in view"
    assert max(c["n"] for c in clusters) > 1 and len(clusters) < 2000
    assert page.evaluate("() => window.wzMap.zoom") >= 6  # Sichuan fills the view: county outlines drawn
    page.screenshot(path=str(screenshots / "map-sichuan.png"))

    biggest = max(clusters, key=lambda c: c["n"])
    zoom_before = page.evaluate("() => window.wzMap.zoom")
    box = page.locator("#map canvas").bounding_box()
    page.mouse.click(box["x"] + biggest["x"], box["y"] + biggest["y"])
    page.wait_for_function(f"() => window.wzMap.zoom > {zoom_before}")
    _settled(page)
    zoomed = page.evaluate(VISIBLE)
    assert max(c["n"] for c in zoomed) < biggest["n"], "zooming in splits the cluster"
    assert sum(c["n"] for c in zoomed) < CASES and len(zoomed) > 1
    page.screenshot(path=str(screenshots / "map-zoomed.png"))

    for _ in range(12):  # zoom in on the densest spot until single markers show
        singles = [c for c in page.evaluate(VISIBLE) if c["n"] == 1]
        if singles:
            break
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(100)
    assert singles, "single markers appear when zoomed in far enough"
    page.mouse.click(box["x"] + singles[0]["x"], box["y"] + singles[0]["y"])
    link = page.wait_for_selector(".map-popup .map-case a")
    assert link.get_attribute("href").startswith("/console/cases/")
    page.screenshot(path=str(screenshots / "map-popup.png"))
    link.click()
    page.wait_for_selector(".case-place:not([hidden])")
    page.wait_for_selector(".case-place [data-ready]")
    page.screenshot(path=str(screenshots / "map-case-page.png"))
    page.close()


def test_an_agency_without_requests_sees_all_of_china(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    tenant = create_tenant(db, "empty")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, tenant.operator.username)
    page.goto(f"{live_server}/console/agencies/{tenant.agency.id}/map")
    page.wait_for_selector("#map[data-ready]")
    assert page.evaluate("() => window.wzMap.zoom") < 6  # the whole country, province outlines only
    assert page.inner_text("#map-status").startswith("0 ")
    page.screenshot(path=str(screenshots / "map-china.png"))
    page.close()


def test_the_markers_are_reachable_from_the_keyboard_most_urgent_first(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from tests.map.seeding import Seed

    tenant = create_tenant(db, "kb")
    far_apart = [  # Lushan, Ya'an city and Chengdu: three markers in view, one per urgency
        Seed(urgency="P2", lat=30.67, lon=104.06, summary="成都停水"),
        Seed(urgency="P0", lat=30.15, lon=102.93, summary="芦山被困"),
        Seed(urgency="P1", lat=29.99, lon=103.01, summary="雅安缺水"),
    ]
    insert_cases(tenant.account, far_apart)
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    _log_in(page, live_server, tenant.operator.username)
    page.goto(f"{live_server}/console/agencies/{tenant.agency.id}/map")
    page.wait_for_selector("#map[data-ready]")
    _settled(page)
    assert [c["n"] for c in page.evaluate(VISIBLE)] == [1, 1, 1]

    page.focus("#map canvas")
    page.keyboard.press("n")
    assert page.inner_text("#map-status").startswith("1/3 · P0")
    page.keyboard.press("n")
    assert page.inner_text("#map-status").startswith("2/3 · P1")
    page.keyboard.press("p")
    assert page.inner_text("#map-status").startswith("1/3 · P0")
    page.screenshot(path=str(screenshots / "map-keyboard-focus.png"))
    page.keyboard.press("Enter")
    popup = page.wait_for_selector(".map-popup .map-case")
    assert "芦山被困" in popup.inner_text()
    page.keyboard.press("Escape")
    page.wait_for_selector(".map-popup", state="detached")
    page.close()
