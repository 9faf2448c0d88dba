"""The callback at /wechat/{account}, end to end through HTTP: verification, every mode, de-duplication,
followers, replies — as WeChat itself would call it."""

from __future__ import annotations

import re
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from wechatpy.crypto import WeChatCrypto

from tests.factories import SYSTEM
from tests.wechat.callback_helpers import APP_ID, KEY, TOKEN, connect, next_msg_id, push, send_text
from wenzheng.autoreplies.actions import do_create_auto_reply
from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.actions import do_connect_wechat
from wenzheng.channels.wechat.simulate import event_xml, open_reply
from wenzheng.followers.models import Follower
from wenzheng.messages.models import Attachment, Message

LUSHAN = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，我女朋友不见踪影，求大家救救我们！"


def count(db: Session, model: type = Message) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_url_verification_answers_the_echostr(client: TestClient, db: Session) -> None:
    connected = connect(db)
    stamp, nonce = str(int(time.time())), "1514711492"
    good = crypto.signature(TOKEN, stamp, nonce)
    response = client.get(f"{connected.url}?signature={good}&timestamp={stamp}&nonce={nonce}&echostr=4375120948")
    assert response.status_code == 200 and response.text == "4375120948"
    forged = client.get(f"{connected.url}?signature={'0' * 40}&timestamp={stamp}&nonce={nonce}&echostr=1")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"


def test_plaintext_message_is_stored_and_acknowledged_with_its_reference(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    status, reply = send_text(client, connected, LUSHAN)
    assert status == 200
    message = db.execute(select(Message)).scalar_one()
    assert message.text == LUSHAN and message.kind == "text" and message.ref
    assert f"受理编号：{message.ref}" in reply
    assert "<ToUserName><![CDATA[o_citizen_1]]></ToUserName>" in reply
    assert "<FromUserName><![CDATA[gh_10f6c3c3ac5a]]></FromUserName>" in reply


def test_safe_mode_push_from_wechatpy_is_answered_encrypted(client: TestClient, db: Session) -> None:
    connected = connect(db)
    theirs = WeChatCrypto(TOKEN, KEY, APP_ID)
    stamp, nonce = str(int(time.time())), "1320562132"
    xml = (
        f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[o_x]]></FromUserName>"
        f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{LUSHAN}]]>"
        f"</Content><MsgId>{next_msg_id()}</MsgId></xml>"
    )
    envelope = theirs.encrypt_message(xml, nonce, stamp)
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    query = (
        f"signature={crypto.signature(TOKEN, stamp, nonce)}&timestamp={stamp}&nonce={nonce}&encrypt_type=aes"
        f"&msg_signature={crypto.signature(TOKEN, stamp, nonce, encrypted)}"
    )
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    response = client.post(f"{connected.url}?{query}", content=body.encode())
    assert response.status_code == 200
    reply_envelope = response.text
    assert "<Encrypt>" in reply_envelope and "受理编号" not in reply_envelope
    signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", reply_envelope).group(1)  # type: ignore[union-attr]
    stamp_back = re.search(r"<TimeStamp>(\d+)</TimeStamp>", reply_envelope).group(1)  # type: ignore[union-attr]
    decrypted = theirs.decrypt_message(reply_envelope, signature, stamp_back, nonce)
    assert "受理编号" in decrypted
    assert db.execute(select(Message.text)).scalar_one() == LUSHAN


def test_compatible_mode_uses_the_encrypted_copy(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="compatible")
    status, reply = send_text(client, connected, "路灯坏了", encrypt=True)
    assert status == 200 and "受理编号" in reply


def test_a_retried_message_is_stored_once_and_answered_the_same(client: TestClient, db: Session) -> None:
    connected = connect(db)
    msg_id = next_msg_id()
    first = send_text(client, connected, "路面塌陷", msg_id=msg_id, encrypt=True)
    again = send_text(client, connected, "路面塌陷", msg_id=msg_id, encrypt=True)
    strip_time = re.compile(r"<CreateTime>\d+</CreateTime>")
    assert strip_time.sub("", first[1]) == strip_time.sub("", again[1])
    assert count(db) == 1


def test_concurrent_retries_store_one_message(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    msg_id, replies = next_msg_id(), []

    def deliver() -> None:
        replies.append(send_text(client, connected, "同一条消息", msg_id=msg_id))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in replies] == [200] * 4
    refs = {re.search(r"受理编号：(\S+?)。", reply).group(1) for _, reply in replies}  # type: ignore[union-attr]
    assert len(refs) == 1
    assert count(db) == 1


def test_the_previous_aes_key_still_decrypts_and_is_used_for_the_reply(client: TestClient, db: Session) -> None:
    connected = connect(db)
    new_key = crypto.generate_aes_key()
    do_connect_wechat(
        db, SYSTEM, connected.tenant.account, app_id=APP_ID, token=TOKEN, aes_key=new_key, original_id="gh_10f6c3c3ac5a"
    )
    status, reply = send_text(client, connected, "旧密钥加密的消息", encrypt=True)  # still the old key
    assert status == 200 and "受理编号" in reply  # open_reply decrypted it with the old key


def test_subscribe_with_a_scene_makes_a_tagged_follower_and_is_welcomed(client: TestClient, db: Session) -> None:
    connected = connect(db, welcome="欢迎关注芦山地震救助")
    xml = event_xml(
        "subscribe",
        openid="o_new",
        create_time=int(time.time()),
        original_id="gh_10f6c3c3ac5a",
        extra="<EventKey><![CDATA[qrscene_lamp-0042]]></EventKey><Ticket><![CDATA[t]]></Ticket>",
    )
    status, reply = push(client, connected, xml, encrypt=True)
    assert status == 200 and "欢迎关注芦山地震救助" in reply
    follower = db.execute(select(Follower)).scalar_one()
    assert follower.state == "following" and follower.tags == ["qrscene:lamp-0042"]
    # WeChat's retry of the same event is stored once.
    assert push(client, connected, xml, encrypt=True)[0] == 200
    assert count(db) == 1


def test_location_then_unsubscribe(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    now = int(time.time())
    push(client, connected, event_xml("subscribe", openid="o_a", create_time=now))
    located = event_xml(
        "LOCATION",
        openid="o_a",
        create_time=now + 1,
        extra="<Latitude>30.0156</Latitude><Longitude>102.9916</Longitude><Precision>65</Precision>",
    )
    status, reply = push(client, connected, located)
    assert (status, reply) == (200, "success")
    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.last_latitude, follower.last_longitude) == (30.0156, 102.9916)
    push(client, connected, event_xml("unsubscribe", openid="o_a", create_time=now + 2))
    db.refresh(follower)
    assert follower.state == "unfollowed" and follower.last_latitude is None


def test_a_follower_names_their_county_by_text_and_is_told(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    push(client, connected, event_xml("subscribe", openid="o_r", create_time=int(time.time())))
    status, reply = send_text(client, connected, "地区 雅安市芦山县", openid="o_r")
    assert status == 200 and "已将您的所在地设为四川省 雅安市 芦山县" in reply
    follower = db.execute(select(Follower)).scalar_one()
    assert follower.region_code == "511826"
    stored = db.execute(select(Message).where(Message.kind == "event", Message.event == "place")).scalar_one()
    assert stored.ref is None and stored.text == "地区 雅安市芦山县"


def test_every_message_type_enters_through_the_same_door(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    bodies = {
        "image": "<PicUrl><![CDATA[http://mmbiz/x.jpg]]></PicUrl><MediaId><![CDATA[media-img]]></MediaId>",
        "voice": "<MediaId><![CDATA[media-voice]]></MediaId><Format><![CDATA[amr]]></Format>",
        "video": "<MediaId><![CDATA[media-video]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>",
        "shortvideo": "<MediaId><![CDATA[media-short]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>",
        "location": "<Location_X>30.0156</Location_X><Location_Y>102.9916</Location_Y><Scale>15</Scale>"
        "<Label><![CDATA[芦山县龙门乡]]></Label>",
        "link": "<Title><![CDATA[灾情]]></Title><Description><![CDATA[描述]]></Description><Url><![CDATA[http://x]]></Url>",
    }
    for kind, extra in bodies.items():
        xml = (
            f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[o_b]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}"
            f"<MsgId>{next_msg_id()}</MsgId></xml>"
        )
        status, reply = push(client, connected, xml)
        assert status == 200 and "受理编号" in reply, kind
    kinds = dict(db.execute(select(Message.kind, Message.location_label)).all())
    assert set(kinds) == set(bodies) and kinds["location"] == "芦山县龙门乡"
    location = db.execute(select(Message).where(Message.kind == "location")).scalar_one()
    assert (location.latitude, location.longitude) == (30.0156, 102.9916)
    media = set(db.execute(select(Attachment.channel_media_id)).scalars())
    assert media == {"media-img", "media-voice", "media-video", "media-short"}


def test_keyword_auto_replies_in_priority_order(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    account = connected.tenant.account
    do_create_auto_reply(
        db, SYSTEM, account, match_type="contains", pattern="捐款", reply_text="捐款请认准红十字会", priority=20
    )
    do_create_auto_reply(
        db,
        SYSTEM,
        account,
        match_type="regex",
        pattern=r"^如何.*捐",
        reply_type="news",
        articles=[{"title": "捐赠指南", "url": "https://example.org/donate"}],
        priority=10,
    )
    do_create_auto_reply(
        db, SYSTEM, account, match_type="exact", pattern="寻人", reply_text="请发送失联者姓名和最后位置"
    )
    assert "捐赠指南" in send_text(client, connected, "如何给灾区捐款？")[1]
    assert "捐款请认准红十字会" in send_text(client, connected, "我想捐款")[1]
    assert "请发送失联者姓名" in send_text(client, connected, "寻人")[1]
    assert "受理编号" in send_text(client, connected, "寻人启事：张三")[1]  # exact means exact


def test_rules_are_cached_briefly_and_a_change_here_is_seen_at_once(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wenzheng.autoreplies import match
    from wenzheng.autoreplies.actions import do_delete_auto_reply
    from wenzheng.autoreplies.models import AutoReplyRule

    connected = connect(db, mode="plaintext")
    account = connected.tenant.account
    rule = do_create_auto_reply(db, SYSTEM, account, match_type="contains", pattern="献血", reply_text="请到中心血站")
    assert "请到中心血站" in send_text(client, connected, "哪里可以献血")[1]
    # Another process adds a rule: this one answers from its cache until the entry is TTL_SECONDS old.
    db.execute(  # written as another process would: not through this process's actions
        insert(AutoReplyRule).values(
            agency_id=account.agency_id,
            account_id=account.id,
            match_type="contains",
            pattern="余震",
            reply_text="远离危房",
            priority=1,
            reply_type="text",
            articles=[],
            enabled=True,
        )
    )
    assert "受理编号" in send_text(client, connected, "余震还会有吗")[1]
    later = time.monotonic() + match.TTL_SECONDS + 1
    monkeypatch.setattr(match.time, "monotonic", lambda: later)
    assert "远离危房" in send_text(client, connected, "余震还会有吗")[1]
    # A rule deleted in this process stops answering at once.
    do_delete_auto_reply(db, SYSTEM, db.get_one(AutoReplyRule, rule.id))
    assert "受理编号" in send_text(client, connected, "哪里可以献血")[1]


def test_a_citizen_asks_for_the_status_of_their_own_reference_only(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    first = send_text(client, connected, "桥梁受损", openid="o_owner")[1]
    ref = re.search(r"受理编号：(\S+?)。", first).group(1)  # type: ignore[union-attr]
    assert "已受理" in send_text(client, connected, f"查询 {ref}", openid="o_owner")[1]
    assert "没有找到" in send_text(client, connected, f"查询 {ref}", openid="o_stranger")[1]


def test_other_events_answer_success(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    xml = event_xml(
        "VIEW", openid="o_c", create_time=int(time.time()), extra="<EventKey><![CDATA[https://example.org]]></EventKey>"
    )
    assert push(client, connected, xml) == (200, "success")


def test_an_encrypted_reply_is_decryptable_by_us_too(client: TestClient, db: Session) -> None:
    connected = connect(db)
    query_body = send_text(client, connected, "测试", encrypt=True)
    assert "受理编号" in query_body[1]
    assert open_reply(connected.credentials, b"success") == "success"


def test_a_message_in_english_is_acknowledged_in_english(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")

    status, english = send_text(client, connected, "We are trapped in the school dormitory, please help", openid="o_e")
    _status, creole = send_text(client, connected, "nou bloke anba dekonb lekol la, ede nou", openid="o_h")
    _status, chinese = send_text(client, connected, "我们被困在学校宿舍", openid="o_z")

    refs = [m.ref for m in db.scalars(select(Message).order_by(Message.id))]
    assert status == 200 and f"Your reference: {refs[0]}." in english and f"STATUS {refs[0]}" in english
    assert f"Your reference: {refs[1]}." in creole  # Latin letters: English is likelier read than Chinese
    assert f"受理编号：{refs[2]}" in chinese and "reference" not in chinese
    # What the English acknowledgement says to write is answered in English; someone else's reference is not found.
    _status, asked = send_text(client, connected, f"STATUS {refs[0]}", openid="o_e")
    assert f"<![CDATA[Reference {refs[0]}: received, and being passed to the people who handle it.]]>" in asked
    _status, stranger = send_text(client, connected, f"status {refs[0]}", openid="o_z")
    assert "<![CDATA[We found no message of yours with the reference" in stranger
