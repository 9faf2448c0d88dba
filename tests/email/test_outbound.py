"""Staff's answers by mail: headers that thread, the outbound record, and relay failures."""

from __future__ import annotations

import email
import email.policy
import io

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.email.helpers import inbound_messages, outbound_messages
from tests.email.mails import ACCOUNT_ADDRESS, CITIZEN, mail, send
from tests.email.servers import Received, Sink, free_port, wait_for
from tests.factories import SYSTEM, Tenant, run_until_dead
from wenzheng.accounts.models import Account
from wenzheng.attachments.store import get_store
from wenzheng.channels.email.outbound import MailRejected, MailUnavailable, send_reply
from wenzheng.channels.email.tasks import queue_reply
from wenzheng.config import reset_settings_cache
from wenzheng.errors import InvalidInput
from wenzheng.messages.delivery import GAVE_UP
from wenzheng.messages.models import Attachment, Message


def _citizen_mail(db: Session, port: int, **kwargs: str) -> Message:
    send(port, mail(**kwargs))
    return inbound_messages(db)[-1]


def _reply(db: Session, tenant: Tenant, message: Message, text: str) -> Message:
    account = db.get_one(Account, tenant.account.id)
    return send_reply(db, account, message, text)


def test_a_reply_threads_to_the_citizens_mail(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    question = _citizen_mail(db, listener[1], message_id="q1@example.com", subject="安置点在哪")
    wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement")
    record = _reply(db, tenant, question, "请前往雨城区体育馆临时安置点。")
    reply = sink.mails_to(CITIZEN)[-1]
    parsed = email.message_from_bytes(reply.content, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{record.channel_message_id}>"
    assert record.channel_message_id.endswith("@mail.yaan.example.cn")
    assert parsed["In-Reply-To"] == "<q1@example.com>"
    assert parsed["References"] == "<q1@example.com>"
    assert parsed["Subject"] == f"Re: 安置点在哪 [{question.ref}]"
    assert parsed["From"].addresses[0].addr_spec == ACCOUNT_ADDRESS
    assert parsed["From"].addresses[0].display_name == tenant.account.name
    assert reply.mail_from == ACCOUNT_ADDRESS
    assert parsed["Auto-Submitted"] is None  # a person's answer, not a robot's
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None and part.get_content().strip() == "请前往雨城区体育馆临时安置点。"
    assert (record.status, record.direction, record.parent_id) == ("sent", "out", question.id)


def test_the_citizens_answer_to_our_reply_joins_the_conversation(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    question = _citizen_mail(db, listener[1], message_id="q2@example.com")
    record = _reply(db, tenant, question, "请提供具体地址。")
    answer = mail("大北街 12 号", subject="Re: 咨询安置点", in_reply_to=record.channel_message_id)
    answer.replace_header("References", f"<q2@example.com> <{record.channel_message_id}>")
    send(listener[1], answer)
    follow_up = inbound_messages(db)[-1]
    assert follow_up.parent_id == question.id
    # and our next reply carries the whole chain
    second = _reply(db, tenant, follow_up, "已派人前往。")
    assert second.payload["references"] == ["q2@example.com", record.channel_message_id, follow_up.channel_message_id]
    headers = email.message_from_bytes(sink.mails_to(CITIZEN)[-1].content)
    assert str(headers["References"]).split() == [f"<{r}>" for r in second.payload["references"]]  # folded


def test_a_refused_reply_is_recorded_as_failed(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    question = _citizen_mail(db, listener[1])
    sink.refuse[CITIZEN] = "550 5.1.1 mailbox unavailable"
    with pytest.raises(MailRejected) as rejected:
        _reply(db, tenant, question, "答复")
    assert rejected.value.code == "smtp_550"
    failed, copy = outbound_messages(db)[-2:]
    assert (failed.status, failed.error_code) == ("failed", "smtp_550")
    assert (copy.channel, copy.status, copy.text, copy.payload["purpose"]) == ("web", "sent", "答复", "copy")


def test_an_unreachable_relay_is_a_temporary_failure(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = _citizen_mail(db, listener[1])
    monkeypatch.setenv("WENZHENG_SMTP_PORT", str(free_port()))  # nothing listens there
    reset_settings_cache()
    with pytest.raises(MailUnavailable):
        _reply(db, tenant, question, "答复")
    assert outbound_messages(db)[-1].error_code == "smtp_unavailable"


def test_a_queued_reply_is_sent_by_its_job(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, tx_db: Session
) -> None:
    question = _citizen_mail(db, listener[1], message_id="q3@example.com")
    wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement")
    queue_reply(tx_db, tx_db.get_one(Message, question.id), "由任务发送的答复")
    tx_db.commit()  # the job runs after the commit (inline in tests)
    reply = wait_for(lambda: len(sink.mails_to(CITIZEN)) == 2 and sink.mails_to(CITIZEN)[-1], what="the reply")
    assert email.message_from_bytes(reply.content)["In-Reply-To"] == "<q3@example.com>"
    assert [m.payload["purpose"] for m in outbound_messages(db)] == ["acknowledgement", "reply"]


def test_attachments_are_stored_and_fake_images_refused(db: Session, tenant: Tenant, listener: tuple[str, int]) -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(png, format="PNG")
    message = mail("现场照片")
    message.add_attachment(png.getvalue(), maintype="image", subtype="png", filename="现场.png")
    message.add_attachment(b"MZ not a picture", maintype="image", subtype="jpeg", filename="photo.jpg")
    send(listener[1], message)
    stored = inbound_messages(db)[-1]
    rows = db.execute(select(Attachment).where(Attachment.message_id == stored.id).order_by(Attachment.id)).scalars()
    image, fake = list(rows)
    assert (image.kind, image.state, image.content_type, image.size) == (
        "image",
        "stored",
        "image/png",
        len(png.getvalue()),
    )
    assert image.sha256 is not None
    with get_store().open(image.sha256) as handle:
        assert handle.read() == png.getvalue()
    assert (fake.state, fake.sha256) == ("failed", None)
    assert fake.error is not None and fake.error.startswith("not_an_image")
    assert [a["filename"] for a in stored.payload["attachments"]] == ["现场.png", "photo.jpg"]
    assert stored.text == "现场照片"


def test_a_reply_is_refused_at_once_for_what_is_not_a_citizens_mail(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, tx_db: Session
) -> None:
    question = _citizen_mail(db, listener[1])
    ours = _reply(db, tenant, question, "答复")
    with pytest.raises(InvalidInput) as refused:
        queue_reply(tx_db, tx_db.get_one(Message, ours.id), "回复我们自己发出的邮件")
    assert refused.value.code == "no_reply_address"
    with pytest.raises(InvalidInput) as empty:
        queue_reply(tx_db, tx_db.get_one(Message, question.id), "   ")
    assert empty.value.code == "field_required"


def test_a_rating_answered_by_mail_from_a_phone_is_recorded_and_thanked(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink
) -> None:
    from wenzheng.cases.actions import do_move_case
    from wenzheng.cases.followup import RATING_REQUEST, THANKS
    from wenzheng.cases.models import Case

    question = _citizen_mail(db, listener[1], message_id="q-rate@example.com", subject="路灯不亮")
    wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement")
    case = db.get_one(Case, question.case_id)
    do_move_case(db, SYSTEM, case, to_state="resolved")  # 办结: asks every citizen of the case for a rating
    request = wait_for(
        lambda: [m for m in outbound_messages(db) if m.text == RATING_REQUEST.format(ref=case.ref)],
        what="the rating request",
    )[0]
    answer = mail(
        "5\n\n发自我的iPhone\n\n------------------ 原始邮件 ------------------\n发件人: help\n" + request.text,
        subject="Re: 路灯不亮",
        in_reply_to=request.channel_message_id,
    )
    send(listener[1], answer)

    db.expire_all()
    rated = db.get_one(Case, case.id)
    assert (rated.rating, rated.rated_at is not None) == (5, True)
    assert inbound_messages(db)[-1].case_id == case.id  # the digit joined the case it rates

    def body(received: Received) -> str:
        parsed = email.message_from_bytes(received.content, policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""

    expected = THANKS.format(rating=5, ref=case.ref)
    wait_for(lambda: [r for r in sink.mails_to(CITIZEN) if expected in body(r)], what="the thanks by mail")


def test_a_reply_the_relay_never_takes_goes_into_the_conversation_as_failed(
    db: Session, tenant: Tenant, listener: tuple[str, int], sink: Sink, tx_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = _citizen_mail(db, listener[1], message_id="q4@example.com")
    wait_for(lambda: sink.mails_to(CITIZEN), what="the acknowledgement")
    monkeypatch.setenv("WENZHENG_SMTP_PORT", str(free_port()))  # the relay is down for good
    reset_settings_cache()
    job = queue_reply(tx_db, tx_db.get_one(Message, question.id), "请到社区服务中心领取物资。")
    tx_db.commit()
    assert [m.payload["purpose"] for m in outbound_messages(db)] == ["acknowledgement"]  # retrying, nothing to show

    run_until_dead(job.id)

    failed, copy = outbound_messages(db)[-2:]
    assert (failed.status, failed.error_code, failed.text) == ("failed", GAVE_UP, "请到社区服务中心领取物资。")
    assert (copy.channel, copy.text, copy.payload["copy_of"]) == ("web", failed.text, failed.id)  # on the status page
    assert (failed.parent_id, failed.payload["purpose"], failed.payload["to"]) == (question.id, "reply", CITIZEN)
