"""The fast lane: a plea is assessed and placed in a P0 case right after intake commits, before any worker runs;
ordinary messages wait for the worker, and the two never assess a message twice."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories import triage_jobs
from tests.wechat.callback_helpers import connect, send_text
from wenzheng import db as wz_db
from wenzheng.assessments import core
from wenzheng.assessments.fast_lane import fast_lane, possibly_life_threatening
from wenzheng.assessments.models import Assessment
from wenzheng.cases.models import Case
from wenzheng.db import utcnow
from wenzheng.jobs.worker import run_until_idle
from wenzheng.messages.models import Message

LUSHAN = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，我女朋友不见踪影，求大家救救我们！"
ORDINARY = "请问低保怎么申请？"


def test_the_pre_check_is_generous_with_pleas_and_lets_the_rest_pass() -> None:
    assert possibly_life_threatening(LUSHAN)
    assert possibly_life_threatening("We are trapped under the rubble, please help")
    assert possibly_life_threatening("孩子走失了，找不到了")
    assert not possibly_life_threatening(ORDINARY)
    assert not possibly_life_threatening("为雅安祈福")
    assert not possibly_life_threatening("")


def test_a_plea_becomes_a_p0_case_before_any_worker_runs(client: TestClient, db: Session, with_a_worker: None) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, ORDINARY, openid="o_asks")
    send_text(client, connected, LUSHAN, openid="o_trapped")
    assert fast_lane().wait_idle(timeout=60)

    plea = db.execute(select(Message).where(Message.text == LUSHAN)).scalar_one()
    case = db.get(Case, plea.case_id)
    assert case is not None and case.urgency == "P0" and case.first_message_id == plea.id
    assert plea.triage_pending is False
    ordinary = db.execute(select(Message).where(Message.text == ORDINARY)).scalar_one()
    assert ordinary.triage_pending is True and ordinary.case_id is None  # the worker's, not the fast lane's
    jobs = triage_jobs(db)
    assert jobs and all(job.state == "queued" for job in jobs)  # no worker has run

    # The worker comes by: it assesses what the fast lane left, and nothing twice.
    run_until_idle(wz_db.session_factory(), "test-worker", now=utcnow() + dt.timedelta(seconds=5))
    assert db.execute(select(func.count()).select_from(Assessment)).scalar_one() == 2
    assert db.execute(select(Message.triage_pending)).scalars().all() == [False, False]
    assert db.get(Message, plea.id).case_id == case.id  # type: ignore[union-attr]


def test_what_someone_else_assessed_meanwhile_is_passed_over(db: Session, tx_db: Session) -> None:
    connected = connect(db, mode="plaintext")
    account = connected.tenant.account
    from wenzheng.intake.actions import AcceptRequest, accept_many
    from wenzheng.intake.inbound import Inbound
    from wenzheng.intake.replies import decide_reply

    inbound = [
        Inbound(channel="wechat", channel_message_id=f"k{n}", kind="text", handle="o_1", text=LUSHAN) for n in range(3)
    ]
    accept_many(tx_db, [AcceptRequest(account, item, decide_reply) for item in inbound])
    tx_db.flush()
    waiting = core.claim(tx_db, select(Message))
    computed = core.compute(tx_db, waiting)
    taken = waiting[1].id
    tx_db.execute(update(Message).where(Message.id == taken).values(triage_pending=False))  # the other lane won
    assert core.store(tx_db, computed) == 2
    assessed = set(tx_db.execute(select(Assessment.message_id)).scalars())
    assert assessed == {waiting[0].id, waiting[2].id}
    tx_db.rollback()
