"""Triage wired into the service: what arrives is assessed by the worker job, stored, and sorts the inbox."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import send
from tests.factories import create_tenant, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.assessments.models import Assessment
from wenzheng.messages.models import Message
from wenzheng.triage import INTENTS

LUSHAN = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，我女朋友不见踪影，求大家救救我们！"
SPAM = "久久综合综合久久综合_六月丁香婷婷色狠狠久久_麻豆AV一区二区"


def test_the_lushan_plea_is_assessed_p0_with_its_place(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, LUSHAN)
    assessment = db.execute(select(Assessment)).scalar_one()
    assert assessment.urgency == "P0" and assessment.intent == "rescue"
    assert any(p["text"] == "姚桥镇初级中学附属教师职工宿舍" for p in assessment.places)
    assert any(cue.startswith("danger:") for cue in assessment.cues)
    assert db.execute(select(Message.triage_pending)).scalar_one() is False


def test_forwarded_copies_share_a_cluster_across_batches(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, LUSHAN, openid="o_1")
    send_text(client, connected, "转发：" + LUSHAN, openid="o_2")
    clusters = set(db.execute(select(Assessment.cluster)).scalars())
    assert len(clusters) == 1 and None not in clusters


def test_spam_is_kept_but_out_of_the_inbox(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "q")
    send(client, tenant.account.slug, text=SPAM, form_id="form-spam-0000000001")
    send(client, tenant.account.slug, text="我想咨询低保怎么申请", form_id="form-consult-00000001")
    assert db.execute(select(Assessment.spam).where(Assessment.normalized.contains("久久"))).scalar_one() is True
    login(client, tenant.operator.username)
    inbox = client.get(f"/console/accounts/{tenant.account.id}/messages")
    assert "低保" in inbox.text and "六月丁香" not in inbox.text
    flagged = client.get(f"/console/accounts/{tenant.account.id}/messages?flagged=true")
    assert "六月丁香" in flagged.text


def test_the_inbox_puts_the_life_threatening_message_first(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "请问怎么给灾区捐款？", openid="o_a")
    send_text(client, connected, LUSHAN, openid="o_b")
    send_text(client, connected, "为雅安祈福", openid="o_c")
    login(client, connected.tenant.operator.username)
    inbox = client.get(f"/console/accounts/{connected.tenant.account.id}/messages").text
    assert inbox.index("姚桥镇") < inbox.index("捐款") and inbox.index("姚桥镇") < inbox.index("祈福")
    message_id = db.execute(select(Message.id).where(Message.text == LUSHAN)).scalar_one()
    page = client.get(f"/console/messages/{message_id}").text
    assert "P0" in page and "danger:" in page


def test_every_intent_has_a_console_label() -> None:
    from wenzheng.web.i18n import MESSAGES

    assert {f"intent.{intent}" for intent in INTENTS} <= set(MESSAGES)
