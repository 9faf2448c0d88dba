"""The one internal form of an inbound item, whatever channel it came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


class FollowAction:
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    LOCATE = "locate"  # a follower's position report, without a message to answer
    PLACE = "place"  # a follower names their county (「地区 宝兴县」): followers.regions
    LANGUAGE = "language"  # a follower asks bulletins in a language (「English」): followers.languages
    # Asked to follow by mail, from an address that does not follow yet: answered with a link to confirm
    # (followers.confirmations), since anyone can write any From address.
    REQUEST = "follow_request"


HANDLE_KIND_OF_CHANNEL = {"sms": "phone"}


@dataclass(frozen=True)
class MediaRef:
    """A file the channel holds for us until a job fetches it (a WeChat MediaId)."""

    kind: str
    channel_media_id: str


@dataclass(frozen=True)
class Inbound:
    channel: str
    # The channel's own identity of this item: the de-duplication key (unique per account and channel).
    channel_message_id: str
    kind: str
    handle: str | None = None
    text: str = ""
    event: str | None = None
    follow_action: str | None = None
    tags: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    location_label: str | None = None
    location_precision: float | None = None
    media: tuple[MediaRef, ...] = ()
    sent_at: dt.datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # Other addresses the sender gave (a contact phone on the web page): the same person on other channels.
    extra_handles: tuple[tuple[str, str], ...] = ()
    parent_id: int | None = None
    requested_kind: str | None = None
    department_id: int | None = None

    @property
    def handle_kind(self) -> str:
        """What kind of address ``handle`` is: an SMS sender is a phone number, whoever relays it."""
        return HANDLE_KIND_OF_CHANNEL.get(self.channel, self.channel)

    @property
    def is_content(self) -> bool:
        """Something a citizen wrote or sent (as opposed to a follow, a click or a delivery report)."""
        return self.kind != "event"
