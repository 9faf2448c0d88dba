"""Moderation: flag spam, advertising, pornographic keyword stuffing and abuse. Flagged, never deleted.

A flagged message stays in the store and out of the main queue; the cue (``spam:porn``, ``spam:ad``,
``spam:stuffing``, ``abuse``) tells the operator why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick_rs

# Plain alternatives of literal terms, so that the screening automaton below can take them apart.
_PORN_STRONG_ZH = "久久|丁香|婷婷|狠狠|麻豆|一区二区|二区三区|无码|有码|色情|色色|裸聊|约炮|偷拍"
_PORN_STRONG_EN = ("av", "porn", "xxx", "nude", "sex")  # whole words ("porn" with any ending)
_AD_STRONG_TERMS = (
    "加微信|加v|加vx|加q|刷单|日赚|日结|博彩|六合彩|娱乐城|棋牌|百家乐|威尼斯人|代开发票|点击链接|招商加盟|"
    "click here|free money|casino|viagra|crypto giveaway"
)
_ABUSE_TERMS = "傻逼|傻b|sb政府|操你|草泥马|尼玛|妈的|狗官|去死|滚蛋|废物|畜生|fuck|idiot|bitch|asshole"


def _not_inside_a_word(word: str) -> str:
    """``word`` not preceded by a letter; the look-behind follows the first letter so that it is only tried where
    the word starts (at every position it would cost more than the rest of the pattern)."""
    return f"{word[0]}(?<![a-z]{word[0]}){word[1:]}" + (r"\w*" if word == "porn" else "")


_PORN_STRONG = re.compile(_PORN_STRONG_ZH + "|(?:" + "|".join(map(_not_inside_a_word, _PORN_STRONG_EN)) + ")(?![a-z])")
_PORN_WEAK = re.compile(r"综合|成人|激情|黄色|自拍|视频在线|在线观看|亚洲|欧美|日韩|高清|福利|精品|六月|伊人|影院")
_AD_STRONG = re.compile(_AD_STRONG_TERMS)
_AD_WEAK = re.compile(r"微信号|扫码|兼职|贷款|网贷|彩票|澳门|优惠|促销|代理|领取|免费|https?://|www\.|\bloan|\bwin\b")
_ABUSE = re.compile(_ABUSE_TERMS)
# Every strong term in one automaton: a message with none of them (nearly all) skips the three scans above.
_SCREEN = ahocorasick_rs.AhoCorasick(
    [*_PORN_STRONG_ZH.split("|"), *_PORN_STRONG_EN, *_AD_STRONG_TERMS.split("|"), *_ABUSE_TERMS.split("|")]
)
_SEPARATORS = re.compile(r"[_|/]")


@dataclass(frozen=True, slots=True)
class Moderation:
    spam: bool
    cues: tuple[str, ...]


def moderate(text: str, *, urgent: bool = False) -> Moderation:
    """Decide whether a normalized message is spam, an advert, keyword stuffing or abuse.

    The patterns are lower-case and applied to the lower-cased text (case-insensitive matching is slow).

    ``urgent`` (a life-safety cue was found) keeps a desperate, angry plea out of the abuse bin.
    """
    lowered = text.lower()
    screened = bool(_SCREEN.find_matches_as_indexes(lowered))
    strong = set(_PORN_STRONG.findall(lowered)) if screened else set()
    porn = len(strong) + len(set(_PORN_WEAK.findall(text))) if strong else 0
    ads = len(set(_AD_STRONG.findall(lowered))) if screened else 0
    ads = ads + len(set(_AD_WEAK.findall(lowered))) if ads else 0
    cues: list[str] = []
    if porn >= 3 or (porn >= 2 and _is_stuffed(text)):
        cues.append("spam:porn")
    if ads >= 2 or (ads and porn):
        cues.append("spam:ad")
    if not cues and len(text) >= 12 and _is_stuffed(text[:80]):
        cues.append("spam:stuffing")
    if not urgent and screened and _ABUSE.search(lowered):
        cues.append("abuse")
    return Moderation(spam=bool(cues), cues=tuple(cues))


def _is_stuffed(text: str) -> bool:
    """Keyword stuffing: fragments glued with underscores or bars, or the same few pieces repeated over and over."""
    if len(_SEPARATORS.findall(text)) >= 2 and " " not in text.strip():
        return True
    words = text.split()
    if len(words) >= 8:
        return len(set(words)) / len(words) < 0.3
    head = text[:200]
    pairs = len(head) - 1
    # Each distinct character that starts a pair starts a distinct pair, so varied characters settle it cheaply.
    if pairs < 15 or len(set(head[:-1])) / pairs >= 0.45:
        return False
    return len({head[i : i + 2] for i in range(pairs)}) / pairs < 0.45
