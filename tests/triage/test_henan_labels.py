from __future__ import annotations

from wenzheng.triage.henan import labels, text_key


def test_hand_labels_ship_with_the_package_without_the_posts() -> None:
    gold = labels()
    assert len(gold) == 386
    assert set(gold.values()) == {0, 1}
    assert all(len(key) == 16 for key in gold)


def test_text_key_ignores_surrounding_whitespace() -> None:
    assert text_key("  救命\n") == text_key("救命")
