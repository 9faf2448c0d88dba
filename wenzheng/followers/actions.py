"""Keeping followers as the channels report follows, unfollows and positions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.bulletins.audience import nearest_county
from wenzheng.citizens.actions import Handle, find_or_create_citizen
from wenzheng.db import utcnow
from wenzheng.followers.languages import follower_language, language_request
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.followers.regions import region_request
from wenzheng.intake.inbound import FollowAction, Inbound


def apply_follow_action(session: Session, account: Account, citizen_id: int, inbound: Inbound) -> Follower | None:
    follower = _follower(session, account.id, inbound.channel, inbound.handle or "")
    if inbound.follow_action in (FollowAction.FOLLOW, FollowAction.PLACE, FollowAction.LANGUAGE):
        # Naming one's county or language is asking for bulletins: it follows, as 关注 does, where not following.
        if (
            inbound.follow_action == FollowAction.FOLLOW
            or follower is None
            or follower.state != FollowerState.FOLLOWING
        ):
            follower = _follow(session, account, citizen_id, inbound, follower)
        _name_region(follower, inbound)
        _choose_language(follower, inbound)
        return follower
    if follower is None:
        return None
    if inbound.follow_action == FollowAction.UNFOLLOW:
        unfollow(follower)
    elif inbound.follow_action == FollowAction.LOCATE:
        _locate(follower, inbound)
    else:  # a scan or similar by a follower: it only adds tags
        follower.tags = _merged(follower.tags, inbound.tags)
    return follower


def follow_without_message(
    session: Session,
    account: Account,
    channel: str,
    handles: Sequence[Handle],
    *,
    tags: tuple[str, ...] = (),
    place_words: str | None = None,
    language: str | None = None,
) -> Follower:
    """Follow on ``channel`` as the first of ``handles``, when the follow comes with no message to accept: the
    citizen page's sign-ups, a confirmed link. The citizen is the one any of the handles names, or a new one;
    ``place_words`` (「地区 宝兴县」) name the follower's county as they would in a message; ``language`` is the
    language of their bulletins (the page's, or the one a confirmed link carries)."""
    citizen_id = find_or_create_citizen(session, account.agency_id, handles)
    assert citizen_id is not None
    follow = Inbound(
        channel=channel,
        channel_message_id="",
        kind="event",
        handle=handles[0][1],
        follow_action=FollowAction.FOLLOW,
        tags=tags,
        location_label=place_words,
    )
    follower = apply_follow_action(session, account, citizen_id, follow)
    assert follower is not None
    if language is not None:
        follower.language = follower_language(language)
    return follower


def _follower(session: Session, account_id: int, channel: str, handle: str) -> Follower | None:
    return session.execute(
        select(Follower)
        .where(Follower.account_id == account_id)
        .where(Follower.channel == channel)
        .where(Follower.handle == handle)
    ).scalar_one_or_none()


def _follow(
    session: Session, account: Account, citizen_id: int, inbound: Inbound, follower: Follower | None
) -> Follower:
    if follower is None:
        follower = Follower(
            agency_id=account.agency_id,
            account_id=account.id,
            citizen_id=citizen_id,
            channel=inbound.channel,
            handle=inbound.handle or "",
            tags=list(inbound.tags),
        )
        session.add(follower)
        return follower
    follower.state = FollowerState.FOLLOWING
    follower.followed_at = utcnow()
    follower.unfollowed_at = None
    follower.tags = _merged(follower.tags, inbound.tags)
    return follower


def unfollow(follower: Follower) -> None:
    """An unfollow ends the subscription and forgets what following told us (PIPL: tags, position, language)."""
    follower.state = FollowerState.UNFOLLOWED
    follower.unfollowed_at = utcnow()
    follower.tags = []
    follower.last_latitude = follower.last_longitude = follower.last_location_precision = None
    follower.last_located_at = None
    follower.region_code = None
    follower.language = None


def _locate(follower: Follower, inbound: Inbound) -> None:
    follower.last_latitude = inbound.latitude
    follower.last_longitude = inbound.longitude
    follower.last_location_precision = inbound.location_precision
    follower.last_located_at = utcnow()
    if inbound.latitude is not None and inbound.longitude is not None:
        # Bulletins target regions: the county nearest to where the follower last was.
        follower.region_code = nearest_county(inbound.latitude, inbound.longitude) or follower.region_code


def _name_region(follower: Follower, inbound: Inbound) -> None:
    """「地区 宝兴县」 (in ``location_label``): the follower's region is the one they named, when it is one."""
    named = region_request(inbound.location_label or "")
    if named is not None and named.code is not None:
        follower.region_code = named.code


def _choose_language(follower: Follower, inbound: Inbound) -> None:
    """「English」 / 「中文」: the language of the follower's bulletins from now on."""
    if inbound.follow_action == FollowAction.LANGUAGE:
        chosen = language_request(inbound.text)
        if chosen is not None:
            follower.language = follower_language(chosen)


def _merged(tags: list[str], new: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys([*tags, *new]))
