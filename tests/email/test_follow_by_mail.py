"""Following by mail: 关注 / 退订 / 「地区 宝兴县」 as the mail's text, or as the subject of a mail with no text of
its own (what a mail program's unsubscribe button sends to the List-Unsubscribe address)."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.email.helpers import inbound_messages
from tests.email.mails import CITIZEN, mail, send
from tests.email.servers import Sink, wait_for
from tests.factories import Tenant, create_tenant
from wenzheng.followers.models import Follower


def _follower(db: Session) -> Follower | None:
    db.expire_all()
    return db.execute(select(Follower).where(Follower.handle == CITIZEN)).scalar_one_or_none()


def _followers(db: Session) -> list[Follower]:
    db.expire_all()
    return list(db.scalars(select(Follower).where(Follower.handle == CITIZEN)))


def _answers(sink: Sink, count: int) -> str:
    """The text of the ``count``-th mail the citizen got back (the acknowledgement of what they sent)."""
    received = wait_for(lambda: len(sink.mails_to(CITIZEN)) >= count and sink.mails_to(CITIZEN), what="the answer")
    parsed = email.message_from_bytes(received[count - 1].content, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _confirmation_link(answer: str) -> str:
    match = re.search(r"https?://\S+/follow/\S+", answer)
    assert match, answer
    return match.group()


def test_a_citizen_follows_by_the_link_they_are_sent_names_a_county_and_unfollows_by_mail(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, client: TestClient
) -> None:
    send(listener[1], mail("关注", subject="关注"))
    assert _follower(db) is None  # anyone can write any From address: the address's owner confirms first
    answer = _answers(sink, 1)
    assert "有人用您的邮箱地址请求关注「mail 公众号」的公告" in answer and CITIZEN not in _confirmation_link(answer)
    path = urlsplit(_confirmation_link(answer)).path

    page = client.get(path)  # what a mail scanner does too: it only shows the page
    assert page.status_code == 200 and "z***@example.com" in page.text and _follower(db) is None
    confirmed = client.post(path)
    assert confirmed.status_code == 200 and "已关注，公告将通过邮件发送到" in confirmed.text
    follower = _follower(db)
    assert follower is not None and (follower.channel, follower.state) == ("email", "following")
    assert client.post(path).status_code == 200 and len(_followers(db)) == 1  # a second click changes nothing

    send(listener[1], mail("地区 雅安宝兴", subject="Re: 关注"))
    follower = _follower(db)
    assert follower is not None and follower.region_code == "511827"
    assert "已将您的所在地设为四川省 雅安市 宝兴县" in _answers(sink, 2)

    unsubscribe = mail("", subject="退订")  # a mail program's unsubscribe button: the subject, no text
    send(listener[1], unsubscribe)
    follower = _follower(db)
    assert follower is not None and (follower.state, follower.region_code) == ("unfollowed", None)
    assert "您已退订" in _answers(sink, 3)
    assert [m.kind for m in inbound_messages(db)] == ["event", "event", "event"]  # none of them a case

    send(listener[1], mail("关注", subject="关注"))  # following again after leaving: confirmed again
    assert "请在 7 天内打开下面的链接确认" in _answers(sink, 4) and _follower(db).state == "unfollowed"  # type: ignore[union-attr]


def test_following_a_county_by_mail_keeps_the_county_through_the_link(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, client: TestClient
) -> None:
    send(listener[1], mail("关注 宝兴县", subject="关注"))
    assert _follower(db) is None

    client.post(urlsplit(_confirmation_link(_answers(sink, 1))).path)

    follower = _follower(db)
    assert follower is not None and (follower.state, follower.region_code) == ("following", "511827")
    send(listener[1], mail("关注", subject="关注"))  # a follower's 关注 needs no second link
    assert "您已关注" in _answers(sink, 2)


def test_a_link_that_is_altered_for_another_account_or_too_old_finds_no_one(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, client: TestClient
) -> None:
    from wenzheng.followers import confirmations
    from wenzheng.followers.confirmations import FollowRequest

    send(listener[1], mail("关注", subject="关注"))
    path = urlsplit(_confirmation_link(_answers(sink, 1))).path
    token = path.rsplit("/", 1)[1]
    other = create_tenant(db, "other-mail")
    request = FollowRequest(tenant.account.id, CITIZEN).__dict__
    old = confirmations._fernet().encrypt_at_time(
        json.dumps({"a": request["account_id"], "e": CITIZEN, "p": ""}).encode(),
        int(time.time()) - (confirmations.CONFIRM_DAYS * 86_400 + 60),
    )

    for bad in (
        path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"),
        f"/c/{other.account.slug}/follow/{token}",
        f"/c/{tenant.account.slug}/follow/{old.decode()}",
    ):
        for answer in (client.get(bad), client.post(bad)):
            assert answer.status_code == 404, bad
            assert "write 关注 to us again" in answer.text or "bad_link" in answer.text
    assert _follower(db) is None


def test_keywords_inside_a_real_mail_or_from_an_autoresponder_change_nothing(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(
        listener[1], mail("我们小区停水三天了，请关注一下。", subject="关注")
    )  # the subject is a word, the text a request
    send(listener[1], mail("退订", subject="自动回复", headers={"Auto-Submitted": "auto-replied"}))
    assert _follower(db) is None
    first, second = inbound_messages(db)
    assert (first.kind, first.ref is not None) == ("text", True) and second.kind == "text"


def test_asking_for_english_by_mail_is_confirmed_by_link_and_then_kept(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, client: TestClient
) -> None:
    send(listener[1], mail("English", subject="English"))
    assert _follower(db) is None  # a forged sender cannot sign an address up, in any language
    path = urlsplit(_confirmation_link(_answers(sink, 1))).path

    assert client.post(path).status_code == 200

    follower = _follower(db)
    assert follower is not None and (follower.state, follower.language) == ("following", "en")
    send(listener[1], mail("中文", subject="Re: English"))  # a follower switches back without a link
    assert "将以中文发送给您" in _answers(sink, 2)
    follower = _follower(db)
    assert follower is not None and follower.language is None
    send(listener[1], mail("English", subject="Re: English"))
    assert "in English" in _answers(sink, 3)
    send(listener[1], mail("退订", subject="退订"))  # leaving forgets the choice with the rest (PIPL)
    _answers(sink, 4)
    follower = _follower(db)
    assert follower is not None and (follower.state, follower.language) == ("unfollowed", None)
