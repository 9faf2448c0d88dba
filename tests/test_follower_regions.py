"""A follower names their county in words (「地区 宝兴县」): what those words resolve to, and what is not one."""

from __future__ import annotations

import pytest

from wenzheng.followers.regions import region_reply, region_request


@pytest.mark.parametrize(
    ("text", "code", "name"),
    [
        ("地区 宝兴县", "511827", "四川省 雅安市 宝兴县"),
        ("地区：宝兴", "511827", "四川省 雅安市 宝兴县"),  # the short name of a county, alone
        ("地区 雅安 宝兴", "511827", "四川省 雅安市 宝兴县"),
        ("所在地 四川省雅安市芦山县", "511826", "四川省 雅安市 芦山县"),
        ("REGION 雅安", "511800", "四川省 雅安市"),  # a city: every county of it
        ("地区 北京朝阳区", "110105", "北京市 朝阳区"),  # a namesake told apart by its city
    ],
)
def test_a_place_name_becomes_the_followers_region(text: str, code: str, name: str) -> None:
    named = region_request(text)
    assert named is not None and (named.code, named.name) == (code, name)
    assert region_reply(named) == f"已将您的所在地设为{name}，发往该地的公告和预警都会发给您。"


def test_a_name_several_places_share_is_asked_back_with_where_each_is() -> None:
    named = region_request("地区 朝阳")
    assert named is not None and named.code is None
    assert named.namesakes[:2] == ("北京市 朝阳区", "辽宁省 朝阳市")
    reply = region_reply(named)
    assert "「朝阳」有多处" in reply and "如「地区 北京市朝阳区」" in reply
    again = region_request("地区 北京市朝阳区")  # what the reply suggests, resolves
    assert again is not None and again.code == "110105"


@pytest.mark.parametrize(
    "text",
    [
        "地区 宝兴县灵关镇被困，快来救我们",  # a plea that happens to begin with the word
        "地区一片狼藉，房子都塌了",
        "地区",
        "宝兴县",  # a place alone is a message (it may be where someone is trapped)
        "地区 城区",  # not a division's name by itself
    ],
)
def test_what_is_not_wholly_a_place_name_is_a_message_like_any_other(text: str) -> None:
    assert region_request(text) is None
