"""Kill the worker in the middle of a fan-out, start another: every follower gets the bulletin exactly once."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tests.bulletins.conftest import add_followers
from tests.factories import Tenant
from tests.jobs.taskdefs import jobs_inline, start_worker, stop_processes, wait_until
from tests.wechat.fake_api import FakeWeChat
from wenzheng.bulletins.actions import Draft, do_approve_bulletin, do_create_bulletin, do_submit_bulletin
from wenzheng.bulletins.models import Bulletin, BulletinDelivery, BulletinState, DeliveryState
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job, JobState
from wenzheng.staff.auth import actor_for_user
from wenzheng.staff.models import User

FOLLOWERS = 1000
PAGE = 100
ENV = {
    "WENZHENG_BULLETIN_PAGE_SIZE": str(PAGE),
    "WENZHENG_BULLETIN_WECHAT_CALLS_PER_MINUTE": "60000",
}


def _state(engine: Engine, bulletin_id: int) -> str:
    with engine.connect() as connection:
        return str(connection.scalar(select(Bulletin.state).where(Bulletin.id == bulletin_id)))


def test_a_fan_out_killed_mid_page_resumes_and_delivers_each_copy_once(
    db: Session, engine: Engine, tenant: Tenant, supervisor: User, wechat: FakeWeChat, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    followers = add_followers(db, tenant, "wechat", FOLLOWERS, tags=["qrscene:lushan"])
    wechat.mass_list_gate = threading.Event()
    wechat.mass_list_block_on = 4  # WeChat takes the 4th page, and the worker dies before it hears back
    with jobs_inline(False):
        draft = Draft(kind="notice", title="余震提醒", body="请勿返回危房。", audience={"tags": ["qrscene:lushan"]})
        bulletin = do_create_bulletin(db, actor_for_user(db, tenant.operator), tenant.account, draft)
        do_submit_bulletin(db, actor_for_user(db, tenant.operator), bulletin)
        do_approve_bulletin(db, actor_for_user(db, supervisor), bulletin)

    workers = []
    try:
        with (tmp_path / "worker-1.log").open("wb") as log:
            workers.append(start_worker(log))
        assert wechat.mass_list_blocked.wait(60), (tmp_path / "worker-1.log").read_text()
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        wechat.mass_list_gate.set()
        assert _state(engine, bulletin.id) == BulletinState.SENDING

        # The dead worker's page is leased for minutes; end the lease instead of waiting for it.
        leased = db.execute(
            update(Job)
            .where(Job.task == "bulletins.deliver", Job.state == JobState.QUEUED.value, Job.run_after > utcnow())
            .values(run_after=utcnow())
        ).rowcount
        db.commit()
        assert leased == 1

        with (tmp_path / "worker-2.log").open("wb") as log:
            workers.append(start_worker(log))
        wait_until(lambda: _state(engine, bulletin.id) == BulletinState.SENT, timeout=60, what="the fan-out to end")
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(timeout=10) == 0
    finally:
        stop_processes(workers)

    received = wechat.mass_received
    assert len(received) == FOLLOWERS
    assert set(received.values()) == {1}, "a follower got the bulletin twice, or not at all"
    assert sorted(received) == sorted(f.handle for f in followers)
    calls = wechat.calls("/cgi-bin/message/mass/send")
    assert len(calls) == FOLLOWERS // PAGE + 1  # the killed page went again, and WeChat knew its clientmsgid
    assert len({c.json["clientmsgid"] for c in calls}) == FOLLOWERS // PAGE
    sent = db.scalar(
        select(func.count(BulletinDelivery.id)).where(
            BulletinDelivery.bulletin_id == bulletin.id, BulletinDelivery.state == DeliveryState.SENT
        )
    )
    assert sent == FOLLOWERS
