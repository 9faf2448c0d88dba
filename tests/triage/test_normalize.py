from __future__ import annotations

import pytest

from wenzheng.triage import detect_language, normalize


def test_spun_text_loses_its_pinyin_notes_and_becomes_simplified() -> None:
    assert normalize("網(wǎng)絡(luò)問政，，很好！！！") == "网络问政,很好!"


def test_pinyin_rule_keeps_ordinary_parentheses() -> None:
    assert normalize("世界卫生组织(WHO)发布") == "世界卫生组织(WHO)发布"


def test_zero_width_html_and_fullwidth_are_cleaned() -> None:
    assert normalize("<p>救\u200b命</p>&amp; ＡＢＣ１２３") == "救命 & ABC123"


def test_traditional_is_converted_for_analysis() -> None:
    assert normalize("我們被困在學校") == "我们被困在学校"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("我们被困在学校", "zh"),
        ("We are trapped in the school, please help", "en"),
        ("Nou bezwen dlo ak manje", "other"),
        ("12345", "other"),
        ("SOS 我们被困", "zh"),
    ],
)
def test_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_only_texts_with_chinese_characters_go_through_the_converter() -> None:
    from wenzheng.triage.normalize import _converter, to_simplified

    texts = ["網絡問政 and more", "Hello\x1eworld", "", "🆘 救命", "ÉCOLE Nº 3", "後\x1e來"]
    assert to_simplified(texts) == ["网络问政 and more", "Hello world", "", "🆘 救命", "ÉCOLE Nº 3", "后 来"]
    # OpenCC's t2s changes no character below U+3400, so skipping texts without one loses nothing.
    below = "".join(chr(point) for point in range(0x20, 0x3400) if point != 0x1E)
    assert _converter().convert(below) == below  # type: ignore[attr-defined]
