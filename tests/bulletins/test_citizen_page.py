"""Published bulletins on the citizen page, their own page, and the live stream of new ones."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant, create_tenant
from wenzheng.audit.actions import record_audit
from wenzheng.bulletins.live import published_since
from wenzheng.bulletins.models import Bulletin, BulletinState
from wenzheng.db import utcnow
from wenzheng.live import Broadcaster


def _bulletin(db: Session, tenant: Tenant, title: str, state: str = BulletinState.SENT, **fields: object) -> Bulletin:
    bulletin = Bulletin(
        agency_id=tenant.agency.id,
        account_id=tenant.account.id,
        title=title,
        body=f"{title}的正文",
        state=state,
        started_at=utcnow() if state in BulletinState.PUBLISHED else None,
        **fields,
    )
    db.add(bulletin)
    db.flush()
    record_audit(
        db, SYSTEM, "test:bulletin", agency_id=tenant.agency.id, subject_type="bulletin", subject_id=bulletin.id
    )
    db.commit()
    return bulletin


def test_the_page_lists_published_bulletins_only(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "cp")
    _bulletin(db, tenant, "城区恢复供水")
    _bulletin(db, tenant, "草稿不应出现", state=BulletinState.DRAFT)
    _bulletin(db, tenant, "待审批不应出现", state=BulletinState.PENDING)

    page = client.get(f"/c/{tenant.account.slug}")

    assert page.status_code == 200
    assert "城区恢复供水" in page.text
    assert "草稿不应出现" not in page.text and "待审批不应出现" not in page.text
    assert f'href="/c/{tenant.account.slug}/bulletins.atom"' in page.text


def test_a_bulletin_has_its_own_public_page_and_drafts_do_not(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "cq")
    alert = _bulletin(
        db,
        tenant,
        "暴雨红色预警",
        kind="alert",
        cap_event="暴雨",
        warning_colour="red",
        cap_instruction="转移到安全地带",
        area_desc="芦山县",
        expires_at=utcnow() + dt.timedelta(hours=6),
    )
    draft = _bulletin(db, tenant, "草稿", state=BulletinState.DRAFT)
    other = create_tenant(db, "cr")

    page = client.get(f"/c/{tenant.account.slug}/bulletins/{alert.id}")
    assert page.status_code == 200
    assert "红色预警" in page.text and "转移到安全地带" in page.text
    assert f"/bulletins/{alert.id}/cap.xml" in page.text
    assert client.get(f"/c/{tenant.account.slug}/bulletins/{draft.id}").status_code == 404
    assert client.get(f"/c/{other.account.slug}/bulletins/{alert.id}").status_code == 404
    assert client.get(f"/c/{tenant.account.slug}/bulletins/{alert.id}/image").status_code == 404


def test_the_broadcaster_hands_a_new_bulletin_to_every_listener_with_one_poller(db: Session) -> None:
    tenant = create_tenant(db, "cs")

    async def scenario() -> list[list[dict[str, object]]]:
        broadcaster: Broadcaster[tuple[int, str]] = Broadcaster(published_since, 1.0)
        async with (
            broadcaster.listen((tenant.account.id, "cs")) as first,
            broadcaster.listen((tenant.account.id, "cs")) as second,
        ):
            assert len(broadcaster.pollers) == 1
            await asyncio.sleep(0)  # let the poller take its starting point
            await asyncio.to_thread(_bulletin, db, tenant, "新公告")
            got = [await asyncio.wait_for(q.get(), timeout=10) for q in (first, second)]
        assert broadcaster.pollers == {} and broadcaster.listeners == {}
        return [got]

    # In a thread of its own: the browser tests' driver keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        [[one, two]] = pool.submit(asyncio.run, scenario()).result(timeout=60)
    assert one == two
    assert one["title"] == "新公告" and one["url"] == f"/c/cs/bulletins/{one['id']}"
    json.dumps(one)  # what the stream sends must be JSON
