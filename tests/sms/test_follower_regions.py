"""By SMS, a follower names their county (「地区 宝兴县」, or 「关注 宝兴县」 at once), and a bulletin for that
county then reaches them; a plea that begins with the word stays a plea."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, create_tenant
from tests.sms.conftest import Gateway
from tests.sms.test_sms import NUMBER, inbound
from wenzheng.bulletins.audience import count_audience
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.followers.models import Follower
from wenzheng.messages.models import Message


def _account_id(db: Session) -> int:
    tenant = create_tenant(db, "r")
    do_set_sms_number(db, SYSTEM, tenant.account, number=NUMBER)
    return tenant.account.id


def test_a_follower_names_their_county_and_a_bulletin_for_it_reaches_them(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    account_id = _account_id(db)
    inbound(client, "关注", msg_id="r-1")
    assert "地区 宝兴县" in gateway.sent[-1]["text"]  # the welcome says how
    baoxing = {"tags": [], "regions": ["511827"], "channels": []}
    assert count_audience(db, account_id, baoxing)["total"] == 0  # no position, so in no region yet

    inbound(client, "地区 宝兴", msg_id="r-2")

    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.state, follower.region_code) == ("following", "511827")
    assert gateway.sent[-1]["text"] == "已将您的所在地设为四川省 雅安市 宝兴县，发往该地的公告和预警都会发给您。"
    assert count_audience(db, account_id, baoxing)["total"] == 1
    assert count_audience(db, account_id, {"tags": [], "regions": ["511826"], "channels": []})["total"] == 0
    stored = db.execute(select(Message).where(Message.channel_message_id == "r-2")).scalar_one()
    assert (stored.kind, stored.event, stored.ref) == ("event", "place", None)  # not a case for triage


def test_follow_and_county_in_one_sms_and_an_ambiguous_name_asked_back(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    _account_id(db)
    inbound(client, "关注 芦山县", msg_id="r-3")
    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.state, follower.region_code) == ("following", "511826")
    assert "您已关注" in gateway.sent[-1]["text"] and "四川省 雅安市 芦山县" in gateway.sent[-1]["text"]

    inbound(client, "地区 朝阳", msg_id="r-4")
    db.refresh(follower)
    assert follower.region_code == "511826"  # unchanged until they say which
    assert "「朝阳」有多处" in gateway.sent[-1]["text"]


def test_a_plea_that_begins_with_the_word_is_a_message_for_triage(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    _account_id(db)
    inbound(client, "地区 宝兴县灵关镇有人被困", msg_id="r-5")
    stored = db.execute(select(Message).where(Message.channel_message_id == "r-5")).scalar_one()
    assert stored.kind == "text" and stored.ref is not None and stored.case_id is not None
    assert db.execute(select(Follower)).scalar_one_or_none() is None


def test_english_by_sms_follows_in_english_and_is_answered_in_it(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    _account_id(db)
    inbound(client, "ENGLISH", msg_id="l-1")  # naming a language asks for bulletins, as naming a county does
    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.state, follower.language) == ("following", "en")
    assert "will send you its bulletins in English" in gateway.sent[-1]["text"]
    stored = db.execute(select(Message).where(Message.channel_message_id == "l-1")).scalar_one()
    assert (stored.kind, stored.event, stored.ref) == ("event", "language", None)
    inbound(client, "English speaker trapped at Longmen school", msg_id="l-2")
    plea = db.execute(select(Message).where(Message.channel_message_id == "l-2")).scalar_one()
    assert plea.kind == "text" and plea.ref is not None  # a message for triage, not a choice of language
