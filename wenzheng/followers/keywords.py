"""What a citizen writes to follow, unfollow or name their county, on channels without buttons (SMS, e-mail).

关注 / 退订 alone; 「地区 宝兴县」 names the follower's county (followers.regions); 「关注 宝兴县」 does both. A place
that is not wholly a division's name (「关注 宝兴县的灾情」) leaves the text a message like any other. 「English」 /
「中文」 choose the language of the bulletins (followers.languages).
"""

from __future__ import annotations

from wenzheng.followers.languages import language_request
from wenzheng.followers.regions import region_request
from wenzheng.intake.inbound import FollowAction

FOLLOW_WORDS = frozenset({"关注", "订阅", "FOLLOW", "SUBSCRIBE", "START"})
UNFOLLOW_WORDS = frozenset({"退订", "取消关注", "TD", "STOP", "UNSUBSCRIBE"})


def follow_words(text: str) -> tuple[str | None, str | None]:
    """``(follow action, place words)`` of a text, or ``(None, None)`` when it is a message."""
    word = text.strip().upper()
    if word in FOLLOW_WORDS:
        return FollowAction.FOLLOW, None
    if word in UNFOLLOW_WORDS:
        return FollowAction.UNFOLLOW, None
    if region_request(text) is not None:
        return FollowAction.PLACE, text.strip()
    if language_request(text) is not None:
        return FollowAction.LANGUAGE, None
    first, _, rest = text.strip().partition(" ")
    if first.upper() in FOLLOW_WORDS and region_request(f"地区 {rest}") is not None:
        return FollowAction.FOLLOW, f"地区 {rest.strip()}"
    return None, None
