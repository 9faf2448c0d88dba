"""Intent and urgency from the lexicon cues, extracted people, and the models (plea for Chinese, life safety for
English).

P0 life-threatening now; P1 urgent needs of vulnerable people; P2 ordinary casework; P3 no action needed.
``score`` orders the queue: each level owns a band of width 0.25 (P0 0.75–1, P1 0.5–0.75, …), and the strength
of the cues (and the model's probability) places a message within its band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wenzheng.triage.cues import Hits
from wenzheng.triage.models import People, Urgency

_BAND = {"P0": 0.75, "P1": 0.5, "P2": 0.25, "P3": 0.0}
_WEIGHTS = {"danger": 2.0, "plea": 1.5, "missing": 1.5, "medical": 1.0, "needs": 0.5, "self": 0.3}
# Probability cut-offs of the English life-safety model: round numbers set by hand, never tuned on the test split.
LIFE_P0 = 0.5
LIFE_P1 = 0.25
LIFE_P2 = 0.1
LIFE_RESCUE_FLOOR = 0.1  # a lexicon rescue plea the model doubts this much still goes to P1
# The plea model learnt from Weibo posts (long, forwarded, full of hashtags); a message this short that states an
# urgent need of named people is outside what it knows, and the lexicon keeps the last word.
BRIEF_CHARS = 60


@dataclass(frozen=True, slots=True)
class Assessment:
    intent: str
    urgency: Urgency
    score: float
    cues: tuple[str, ...]


PLEA_INTENTS = ("rescue", "help", "missing_person")
NEED_CUES = ("danger", "plea", "missing", "urgent_need", "needs", "medical")


def decide_intent(hits: Hits, people: People, *, located: bool = False, pleas: bool = True) -> str:
    """The first intent whose cues are present, most urgent first; offers and news are told apart from pleas.

    ``located``: the message gives a place or a phone number — danger with a way to reach the people is a plea.
    ``pleas=False`` skips the plea intents (when the plea model has overruled the lexicon).
    """
    danger, plea, self_ = hits.has("danger"), hits.has("plea"), hits.has("self")
    urgent_need = hits.has("urgent_need")
    asking = hits.has("consultation")
    offering = hits.has("offer") or (hits.has("donation") and not (urgent_need or plea or danger or asking))
    news = hits.has("news") and not plea
    casework = hits.has("casework") and not hits.has("sos")
    if pleas and not offering and not news and not casework:
        if danger and (plea or self_ or people.count or urgent_need or located):
            return "rescue"
        if hits.has("missing"):
            return "missing_person"
        if plea or urgent_need or (hits.has("medical") and self_):
            return "help"
    for intent, present in (
        ("offer", offering),
        ("complaint", hits.has("complaint")),
        ("suggestion", hits.has("suggestion")),
        ("consultation", hits.has("consultation")),
        ("sympathy", hits.has("sympathy")),
    ):
        if present:
            return intent
    if hits.has("report") or danger or news:
        return "report"
    return "other"


def decide(
    hits: Hits,
    people: People,
    *,
    spam: bool,
    located: bool = False,
    brief: bool = False,
    life_probability: float | None = None,
    plea_probability: float | None = None,
    plea_threshold: float = 0.5,
) -> Assessment:
    """Intent, urgency level, score and the cues behind them for one message.

    With a life-safety probability (English and other non-Chinese text) the model leads: it places the message
    in P0/P1 and orders it within the band, because on the labelled English data it ranks far better than the
    lexicon; the lexicon still decides the intent and can lift a rescue plea the model doubts to P1.
    With a plea probability (Chinese) the model decides whether the message is a plea at all — it can overrule
    the lexicon either way, but only promote a message that has some need or danger cue — and the lexicon
    decides which plea (rescue, help, missing person) and how urgent.
    """
    intent = decide_intent(hits, people, located=located)
    demoted = False
    if plea_probability is not None:
        lexicon_intent = intent
        is_plea = plea_probability >= plea_threshold or (brief and _stated_need(hits, people))
        intent = _with_plea_model(intent, hits, people, located, is_plea)
        demoted = lexicon_intent in PLEA_INTENTS and intent not in PLEA_INTENTS
    if life_probability is None:
        level = _level(intent, hits, people)
        if demoted and level == "P3":
            level = "P2"  # the lexicon saw a plea the model doubts: a person should still look at it
        strength = _intensity(hits, people)
        if plea_probability is not None:
            strength = 0.5 * strength + 0.5 * plea_probability
    else:
        level = _model_level(life_probability, _level(intent, hits, people))
        strength = life_probability
    if spam:
        level = "P3"
    score = round(_BAND[level] + 0.25 * min(strength, 0.999), 4)
    cues = _cue_list(hits, people, life_probability)
    if plea_probability is not None:
        cues += (f"model:plea={plea_probability:.2f}",)
    return Assessment(intent=intent, urgency=level, score=score, cues=cues)


def _with_plea_model(intent: str, hits: Hits, people: People, located: bool, is_plea: bool) -> str:
    casework = hits.has("casework") and not hits.has("sos")
    if is_plea and intent not in PLEA_INTENTS and any(hits.has(c) for c in NEED_CUES) and not casework:
        return "help"
    if not is_plea and intent in PLEA_INTENTS:
        return decide_intent(hits, people, located=located, pleas=False)
    return intent


def _stated_need(hits: Hits, people: People) -> bool:
    """An urgent need of named people (「三位老人行动不便，需要转移」, 「缺饮用水和帐篷，约40人」)."""
    asking = hits.has("consultation")  # 「需要转移吗?」 asks, it does not plead
    return hits.has("urgent_need") and bool(people.vulnerable or people.count) and not asking


def _level(intent: str, hits: Hits, people: People) -> Urgency:
    vulnerable = bool(people.vulnerable)
    if intent == "rescue":
        return "P0"
    if intent == "missing_person":
        return "P0" if "children" in people.vulnerable and hits.has("self") else "P1"
    if intent == "help":
        # Vulnerable people, the sick, a plea, or a group short of water, food or shelter: urgent needs (P1).
        group_short = hits.has("urgent_need") and bool(people.count)
        return "P1" if vulnerable or hits.has("medical") or hits.has("plea") or group_short else "P2"
    if intent == "report" and hits.has("danger"):
        return "P1" if people.count or people.injured else "P2"
    if intent in {"sympathy", "report", "other"}:
        return "P3"
    return "P2"


def _model_level(probability: float, rule_level: Urgency) -> Urgency:
    if probability >= LIFE_P0:
        return "P0"
    if probability >= LIFE_P1 or (rule_level == "P0" and probability >= LIFE_RESCUE_FLOOR):
        return "P1"
    return "P2" if probability >= LIFE_P2 else "P3"


def _intensity(hits: Hits, people: People) -> float:
    terms = hits.terms
    total = sum(weight * min(len(terms[category]), 3) for category, weight in _WEIGHTS.items() if category in terms)
    total += len(people.vulnerable) + (0.5 if people.count else 0.0) + (1.0 if people.injured else 0.0)
    return 1.0 - math.exp(-total / 4.0)


def _cue_list(hits: Hits, people: People, life_probability: float | None) -> tuple[str, ...]:
    cues = [
        f"{category}:{term}" for category in _WEIGHTS if category != "self" for term in hits.terms.get(category, ())
    ]
    cues += [f"vulnerable:{group}" for group in people.vulnerable]
    if people.count:
        cues.append(f"people:{people.count}")
    if people.injured:
        cues.append(f"injured:{people.injured}")
    if life_probability is not None:
        cues.append(f"model:life_safety={life_probability:.2f}")
    return tuple(cues)
