"""Set-based intake: ``accept_many`` gives exactly what ``accept`` one item after another gives, and the intake
writer keeps one bad item from spoiling the batch it came in."""

from __future__ import annotations

import re
from concurrent.futures import Future
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import create_tenant
from wenzheng.accounts.models import Account
from wenzheng.citizens.models import CitizenHandle
from wenzheng.followers.models import Follower
from wenzheng.intake.actions import Accepted, AcceptRequest, accept, accept_many
from wenzheng.intake.inbound import FollowAction, Inbound
from wenzheng.intake.replies import decide_reply
from wenzheng.intake.writer import IntakeWriter
from wenzheng.messages.models import Message

REF = re.compile(r"\d{8}-\d{6,}")


def text(key: str, handle: str, content: str = "路灯坏了", channel: str = "wechat", **more: Any) -> Inbound:
    return Inbound(channel=channel, channel_message_id=key, kind="text", handle=handle, text=content, **more)


def follow(key: str, handle: str) -> Inbound:
    return Inbound(
        channel="wechat", channel_message_id=key, kind="event", event="subscribe", handle=handle,
        follow_action=FollowAction.FOLLOW, tags=("qrscene:gate",),
    )  # fmt: skip


def the_batch(asked_ref: str) -> list[Inbound]:
    """Retries inside the batch and of what was stored before it, first contacts (one person twice), a follow,
    the same phone number on two channels, and a status question."""
    return [
        text("m1", "o_1"),
        text("m2", "o_2", "请问低保怎么申请"),
        text("m1", "o_1"),  # WeChat's retry, in the same batch
        text("m3", "o_1", "还没人来修"),  # the same person again: one citizen
        follow("o_3:1:subscribe:qrscene_gate", "o_3"),
        text("s1", "+8613800000001", "水淹到腰了", channel="sms"),
        text("w1", "tok-1", "我也看到了", channel="web", extra_handles=(("phone", "+8613800000001"),)),
        text("before", "o_9"),  # stored before the batch
        text("m4", "o_9", f"查询 {asked_ref}"),
        text("w2", "tok-2", "新来的", channel="web", extra_handles=(("phone", "+8613900000002"), ("link", "h2"))),
        text("m2", "o_2", "请问低保怎么申请"),
    ]


def outcome(session: Session, account: Account, accepted: list[Accepted]) -> dict[str, Any]:
    """What a batch did, in terms that do not depend on ids: which items share a row and a citizen, the replies
    (references replaced by the item that owns them), the handles and the followers."""
    first_of_row: dict[int, int] = {}
    for index, item in enumerate(accepted):
        first_of_row.setdefault(item.message_id, index)
    refs = {item.ref: f"<ref of {first_of_row[item.message_id]}>" for item in accepted if item.ref}
    rows = {m.id: m for m in session.execute(select(Message).where(Message.account_id == account.id)).scalars()}
    citizen_of_item = [rows[item.message_id].citizen_id for item in accepted]
    first_of_citizen: dict[int | None, int] = {}
    for index, citizen in enumerate(citizen_of_item):
        first_of_citizen.setdefault(citizen, index)
    handles = session.execute(
        select(CitizenHandle.channel, CitizenHandle.handle, CitizenHandle.citizen_id).where(
            CitizenHandle.agency_id == account.agency_id
        )
    ).all()
    followers = session.execute(
        select(Follower.channel, Follower.handle, Follower.tags).where(Follower.account_id == account.id)
    ).all()
    return {
        "rows": [first_of_row[item.message_id] for item in accepted],
        "duplicate": [item.duplicate for item in accepted],
        "replies": [
            REF.sub(lambda m: refs.get(m.group(0), "<other>"), str(item.reply)).replace(account.name, "<account>")
            for item in accepted
        ],
        "citizens": [first_of_citizen[citizen] for citizen in citizen_of_item],
        "handles": sorted((kind, value, first_of_citizen.get(citizen)) for kind, value, citizen in handles),
        "followers": sorted((channel, handle, tuple(tags)) for channel, handle, tags in followers),
        "pending": [rows[item.message_id].triage_pending for item in accepted],
        "kinds": [(rows[item.message_id].kind, rows[item.message_id].channel) for item in accepted],
    }


def _prepare(tx_db: Session, label: str) -> tuple[Account, str]:
    account = create_tenant(tx_db, label).account
    before = accept(tx_db, account, text("before", "o_9"), decide_reply=decide_reply)
    tx_db.commit()
    assert before.ref is not None
    return account, before.ref


def test_a_batch_is_stored_exactly_as_one_by_one(tx_db: Session) -> None:
    one_by_one, asked = _prepare(tx_db, "seq")
    singly = [accept(tx_db, one_by_one, inbound, decide_reply=decide_reply) for inbound in the_batch(asked)]
    expected = outcome(tx_db, one_by_one, singly)
    tx_db.rollback()

    together, asked = _prepare(tx_db, "set")
    requests = [AcceptRequest(together, inbound, decide_reply) for inbound in the_batch(asked)]
    batch = accept_many(tx_db, requests)
    assert outcome(tx_db, together, batch) == expected
    tx_db.rollback()

    # And the expectations themselves, spelled out.
    assert expected["rows"] == [0, 1, 0, 3, 4, 5, 6, 7, 8, 9, 1]
    assert expected["duplicate"] == [False, False, True, False, False, False, False, True, False, False, True]
    assert expected["citizens"] == [0, 1, 0, 0, 4, 5, 5, 7, 7, 9, 1]
    assert expected["replies"][2] == expected["replies"][0] and "<ref of 0>" in expected["replies"][0]
    assert "受理编号 <ref of 7>" in expected["replies"][8]  # the status of what o_9 sent before
    assert expected["followers"] == [("wechat", "o_3", ("qrscene:gate",))]
    assert expected["pending"][4] is False and expected["pending"][0] is True


def test_the_reference_is_in_the_row_and_in_the_reply(tx_db: Session) -> None:
    account = create_tenant(tx_db, "ref").account
    accepted = accept_many(tx_db, [AcceptRequest(account, text(f"k{n}", f"o_{n}"), decide_reply) for n in range(3)])
    stored = {m.id: m for m in tx_db.execute(select(Message)).scalars()}
    for item in accepted:
        message = stored[item.message_id]
        assert message.ref == item.ref == f"{message.received_at:%Y%m%d}-{message.id:06d}"
        assert message.reply == item.reply and item.ref in item.reply["content"]  # type: ignore[index]
    tx_db.rollback()


def _failing_reply(session: Session, account: Account, message: Message) -> None:
    raise RuntimeError("a reply that cannot be decided")


def test_one_bad_push_does_not_spoil_its_batch(db: Session) -> None:
    account = create_tenant(db, "bad").account
    good = [AcceptRequest(account, text(f"g{n}", f"o_{n}"), decide_reply) for n in range(3)]
    bad = AcceptRequest(account, text("bad", "o_bad"), _failing_reply)  # type: ignore[arg-type]
    work_failed = partial(_raise, ValueError("some other work failed"))
    items: list[Any] = [good[0], bad, good[1], work_failed, good[2]]
    futures: list[Future[Any]] = [Future() for _ in items]
    IntakeWriter()._write(list(zip(items, futures, strict=True)))

    assert isinstance(futures[1].exception(), RuntimeError)
    assert isinstance(futures[3].exception(), ValueError)
    stored = set(db.execute(select(Message.channel_message_id)).scalars())
    assert stored == {"g0", "g1", "g2"}
    for future in (futures[0], futures[2], futures[4]):
        assert future.result().duplicate is False and future.result().ref


def _raise(error: Exception, session: Session) -> None:
    raise error


@pytest.mark.parametrize("repeats", [1, 3])
def test_a_key_repeated_in_a_batch_is_one_message_with_one_reply(tx_db: Session, repeats: int) -> None:
    account = create_tenant(tx_db, f"rep{repeats}").account
    requests = [AcceptRequest(account, text("same", "o_1"), decide_reply) for _ in range(repeats)]
    accepted = accept_many(tx_db, requests)
    assert len({item.message_id for item in accepted}) == 1
    assert [item.duplicate for item in accepted] == [False] + [True] * (repeats - 1)
    assert len({str(item.reply) for item in accepted}) == 1
    tx_db.rollback()
