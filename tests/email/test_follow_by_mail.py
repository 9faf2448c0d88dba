"""Following by mail: 关注 / 退订 / 「地区 宝兴县」 as the mail's text, or as the subject of a mail with no text of
its own (what a mail program's unsubscribe button sends to the List-Unsubscribe address)."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.email.helpers import inbound_messages
from tests.email.mails import CITIZEN, mail, send
from tests.email.servers import Sink, wait_for
from tests.factories import Tenant
from wenzheng.followers.models import Follower


def _follower(db: Session) -> Follower | None:
    db.expire_all()
    return db.execute(select(Follower).where(Follower.handle == CITIZEN)).scalar_one_or_none()


def _answers(sink: Sink, count: int) -> str:
    """The text of the ``count``-th mail the citizen got back (the acknowledgement of what they sent)."""
    received = wait_for(lambda: len(sink.mails_to(CITIZEN)) >= count and sink.mails_to(CITIZEN), what="the answer")
    parsed = email.message_from_bytes(received[count - 1].content, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_a_citizen_follows_names_a_county_and_unfollows_by_mail(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(listener[1], mail("关注", subject="关注"))
    follower = _follower(db)
    assert follower is not None and (follower.channel, follower.state) == ("email", "following")
    assert "您已关注" in _answers(sink, 1)

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
