"""`wenzheng smtpd` on loopback, driven with smtplib as a citizen's mail server would."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.email.helpers import by_message_id, count_messages, inbound_messages, outbound_messages
from tests.email.mails import ACCOUNT_ADDRESS, CITIZEN, RESCUE_TEXT, gbk_mail, mail, new_id, send, wire
from tests.email.servers import Sink, wait_for
from tests.factories import Tenant
from wenzheng import db as wz_db
from wenzheng.channels.email.outbound import acknowledgement_id
from wenzheng.citizens.models import CitizenHandle
from wenzheng.messages.models import Message

DOWN_URL = "postgresql+psycopg://x@127.0.0.1:9/down"


def test_chinese_gbk_mail_is_stored_and_acknowledged(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(listener[1], gbk_mail(message_id="rescue-1@example.com"))
    (message,) = inbound_messages(db)
    assert message.text == RESCUE_TEXT
    assert (message.channel, message.channel_message_id) == ("email", "rescue-1@example.com")
    assert message.account_id == tenant.account.id and message.ref
    handle = db.execute(select(CitizenHandle).where(CitizenHandle.citizen_id == message.citizen_id)).scalar_one()
    assert (handle.channel, handle.handle) == ("email", CITIZEN)

    (ack,) = wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement mail")
    headers = ack.message
    assert headers["Message-ID"] == f"<{acknowledgement_id(message)}>"
    assert headers["Message-ID"].endswith("@mail.yaan.example.cn>")
    assert headers["In-Reply-To"] == "<rescue-1@example.com>"
    assert headers["References"] == "<rescue-1@example.com>"
    assert headers["Auto-Submitted"] == "auto-replied"
    assert _decoded_subject(ack.content) == f"Re: 求救：姚桥镇 [{message.ref}]"
    body = _body(ack.content)
    assert f"受理编号：{message.ref}" in body
    assert f"/c/{tenant.account.slug}/s/" in body  # the private status link
    (record,) = outbound_messages(db)
    assert (record.status, record.channel_message_id) == ("sent", acknowledgement_id(message))
    assert record.parent_id == message.id and record.citizen_id == message.citizen_id


def test_html_only_mail_is_stored_as_text(db: Session, tenant: Tenant, listener: tuple[str, int]) -> None:
    send(listener[1], mail(html="<p>桥梁<b>断裂</b></p><p>需要救援</p><script>x()</script>"))
    (message,) = inbound_messages(db)
    assert message.text == "桥梁断裂\n\n需要救援"


def test_retried_delivery_of_the_same_mail_is_stored_once(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    raw = wire(mail(message_id="retry@example.com"))
    send(listener[1], raw)
    send(listener[1], raw)  # the sending server did not see our 250 and tries again
    assert [m.channel_message_id for m in inbound_messages(db)] == ["retry@example.com"]
    wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement")
    assert len(sink.mails_to(CITIZEN)) == 1


def test_the_same_mail_on_two_connections_at_once_is_stored_once(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    raw = wire(mail(message_id="twice@example.com"))
    barrier = threading.Barrier(2)
    answers: list[tuple[int, bytes]] = []

    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", listener[1], timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail(CITIZEN)
            smtp.rcpt(ACCOUNT_ADDRESS)
            barrier.wait(timeout=10)
            answers.append(smtp.data(raw))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    (message,) = inbound_messages(db)
    assert [code for code, _answer in answers] == [250, 250]
    assert all(message.ref and message.ref in answer.decode() for _code, answer in answers)
    wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement")
    assert len(sink.mails_to(CITIZEN)) == 1


def test_the_250_names_the_reference(db: Session, tenant: Tenant, listener: tuple[str, int]) -> None:
    with smtplib.SMTP("127.0.0.1", listener[1], timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(CITIZEN)
        smtp.rcpt(ACCOUNT_ADDRESS)
        code, answer = smtp.data(wire(mail()))
    (message,) = inbound_messages(db)
    assert code == 250 and message.ref and message.ref in answer.decode()


def test_unknown_recipient_is_refused_and_nothing_stored(
    db: Session, tenant: Tenant, listener: tuple[str, int]
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener[1], mail(), to="nobody@yaan.example.cn")
    assert refused.value.recipients["nobody@yaan.example.cn"][0] == 550
    assert count_messages(db) == 0


@pytest.mark.parametrize("email_max_bytes", [4096])
def test_oversize_mail_is_refused_with_552(db: Session, tenant: Tenant, listener: tuple[str, int]) -> None:
    big = wire(mail("\n".join(["房屋倒塌" * 10] * 200)))
    assert len(big) > 4096
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # announced with SIZE=: refused at MAIL FROM
        send(listener[1], big)
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", listener[1], timeout=30) as smtp:  # not announced: refused after DATA
        smtp.ehlo()
        smtp.mail(CITIZEN)
        smtp.rcpt(ACCOUNT_ADDRESS)
        code, answer = smtp.data(big)
    assert code == 552, answer
    assert count_messages(db) == 0


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    engine = create_engine(DOWN_URL)
    monkeypatch.setattr(wz_db, "_session_factory", sessionmaker(bind=engine))
    yield
    engine.dispose()


def test_database_down_at_rcpt_is_a_temporary_failure(
    db: Session, tenant: Tenant, listener: tuple[str, int], database_down: None
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener[1], mail())
    assert refused.value.recipients[ACCOUNT_ADDRESS][0] == 451


def test_database_down_after_data_is_a_temporary_failure_and_nothing_is_stored(
    db: Session, tenant: Tenant, listener: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(DOWN_URL)
    with smtplib.SMTP("127.0.0.1", listener[1], timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(CITIZEN)
        assert smtp.rcpt(ACCOUNT_ADDRESS)[0] == 250
        monkeypatch.setattr(wz_db, "_session_factory", sessionmaker(bind=engine))
        code, _answer = smtp.data(wire(mail()))
        monkeypatch.undo()
    engine.dispose()
    assert code == 451
    assert count_messages(db) == 0


def test_an_answer_to_our_acknowledgement_threads_into_the_conversation(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(listener[1], gbk_mail(message_id="first@example.com"))
    first = _only(db, "first@example.com")
    quoted = "补充：还有两位老人\n\n在 2013年4月20日 10:16，四川雅安 写道：\n> 已收到您的消息，受理编号：…"
    send(listener[1], mail(quoted, subject="Re: 求救", in_reply_to=acknowledgement_id(first)))
    follow_up = inbound_messages(db)[-1]
    assert follow_up.parent_id == first.id
    assert follow_up.text == "补充：还有两位老人"  # without the quoted acknowledgement
    assert follow_up.ref != first.ref
    acks = wait_for(lambda: len(sink.mails_to(CITIZEN)) == 2 and sink.mails_to(CITIZEN), what="two acks")
    assert f"已并入受理编号 {first.ref}" in _body(acks[-1].content)
    assert "/s/" not in _body(acks[-1].content)  # the status link came with the first acknowledgement


def test_a_status_query_in_the_thread_is_answered_with_the_status(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(listener[1], mail(message_id="asked@example.com"))
    first = _only(db, "asked@example.com")
    send(listener[1], mail(f"查询 {first.ref}", subject=f"Re: [{first.ref}]", in_reply_to=acknowledgement_id(first)))
    answers = wait_for(lambda: len(sink.mails_to(CITIZEN)) == 2 and sink.mails_to(CITIZEN), what="the status")
    assert f"受理编号 {first.ref}：已受理" in _body(answers[-1].content)


def test_an_answer_to_the_citizens_own_mail_threads_too(db: Session, tenant: Tenant, listener: tuple[str, int]) -> None:
    send(listener[1], mail(message_id="own@example.com"))
    first = _only(db, "own@example.com")
    send(listener[1], mail("再补充一点", in_reply_to="own@example.com"))
    assert inbound_messages(db)[-1].parent_id == first.id


def test_the_reference_in_the_subject_threads_mail_from_the_same_citizen(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(listener[1], mail(message_id="sub-1@example.com"))
    first = _only(db, "sub-1@example.com")
    send(listener[1], mail("进展如何？", subject=f"关于 {first.ref} 的进展"))
    second = inbound_messages(db)[-1]
    assert second.parent_id == first.id
    # a third mail in the conversation threads to its first message, not to the second
    send(listener[1], mail("第三封", subject=f"Re: {second.ref}"))
    assert inbound_messages(db)[-1].parent_id == first.id
    replies = wait_for(lambda: len(sink.mails_to(CITIZEN)) == 3 and sink.mails_to(CITIZEN), what="three acks")
    assert f"受理编号 {first.ref}" in _body(replies[-1].content)


def test_a_quoted_reference_does_not_thread_mail_from_someone_else(
    db: Session, tenant: Tenant, listener: tuple[str, int]
) -> None:
    send(listener[1], mail(message_id="mine@example.com"))
    first = _only(db, "mine@example.com")
    stranger = "li.si@example.org"
    send(listener[1], mail("我也来问", subject=f"Re: {first.ref}", sender=stranger), sender=stranger)
    assert inbound_messages(db)[-1].parent_id is None


def test_automatic_mail_is_stored_but_never_answered(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    send(listener[1], mail(headers={"Auto-Submitted": "auto-replied"}))
    send(listener[1], mail(message_id=new_id()), sender="")  # a bounce: MAIL FROM:<>
    assert len(inbound_messages(db)) == 2
    assert sink.received == []
    assert outbound_messages(db) == []


def _only(db: Session, channel_message_id: str) -> Message:
    found = by_message_id(db, channel_message_id)
    assert found is not None
    return found


def _body(content: bytes) -> str:
    import email
    import email.policy

    parsed = email.message_from_bytes(content, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _decoded_subject(content: bytes) -> str:
    import email
    import email.policy

    return str(email.message_from_bytes(content, policy=email.policy.default)["Subject"])
