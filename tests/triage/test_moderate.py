from __future__ import annotations

import pytest

from tests.triage.conftest import SPAM_LINE
from wenzheng.triage.moderate import moderate


def test_keyword_stuffed_porn_is_flagged() -> None:
    result = moderate(SPAM_LINE)
    assert result.spam
    assert "spam:porn" in result.cues


def test_english_porn_words_count_only_as_whole_words() -> None:
    assert moderate("xxx porn videos 久久 hot av").cues == ("spam:porn",)
    assert not moderate("havoc in essex: sextant and pornography-free avenue, fix the 久久 road").spam


def test_advert_is_flagged() -> None:
    assert moderate("加微信领取优惠，日赚500元").cues == ("spam:ad",)


def test_abuse_is_flagged_but_not_in_a_desperate_plea() -> None:
    assert moderate("狗官不作为，去死").cues == ("abuse",)
    assert not moderate("妈的快来救我们，被困了", urgent=True).spam


@pytest.mark.parametrize(
    "text",
    [
        "综合执法局综合整治，社会福利高清监控",
        "公积金贷款优惠政策什么时候执行？",
        "I have to have a house in Essex, we have no water",
        "请问市民服务中心几点开门？我想办理社保卡补办业务，需要带哪些材料",
    ],
)
def test_ordinary_messages_are_not_flagged(text: str) -> None:
    assert not moderate(text).spam
