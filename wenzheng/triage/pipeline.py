"""The triage pipeline: normalize, moderate, classify, extract, cluster, route — a batch at a time.

Stateless apart from the models (loaded once per process) and the cluster index the caller passes in.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from wenzheng.triage.cluster import ClusterIndex
from wenzheng.triage.cues import find_cues
from wenzheng.triage.extract import find_people, find_phones, find_places
from wenzheng.triage.gazetteer import Gazetteer, load_gazetteer
from wenzheng.triage.models import RoutingRule, TriageInput, TriageResult, as_inputs
from wenzheng.triage.moderate import moderate
from wenzheng.triage.normalize import detect_language, normalize_batch
from wenzheng.triage.route import as_rules, route
from wenzheng.triage.router import load_router
from wenzheng.triage.textmodel import LinearTextModel, SharedCharGrams
from wenzheng.triage.urgency import BRIEF_CHARS, decide, decide_intent
from wenzheng.triage.world import TownIndex, load_towns

ROUTER = "router_zh"
LIFE_SAFETY = "life_safety_en"
PLEA = "plea_zh"
# Cues, people, places and phones are read from the first 600 characters: pleas are short, and a long letter
# says where and what early on. The normalized text itself is returned whole.
ANALYSIS_CHARS = 600


@dataclass(frozen=True)
class TriageModels:
    """Everything triage loads once: the topic router, the plea and life-safety models, the gazetteer."""

    router: LinearTextModel
    life_safety: LinearTextModel
    plea: LinearTextModel
    plea_threshold: float
    gazetteer: Gazetteer
    version: str
    zh_grams: SharedCharGrams


@functools.cache
def load_models() -> TriageModels:
    """The shipped models (wenzheng/triage/artifacts), loaded once per process."""
    manifest = json.loads((resources.files("wenzheng.triage") / "artifacts" / "manifest.json").read_text("utf-8"))
    router, plea, life_safety = load_router(), LinearTextModel.load(PLEA), LinearTextModel.load(LIFE_SAFETY)
    for model in (router, plea, life_safety):
        model.warm()
    return TriageModels(
        router=router,
        life_safety=life_safety,
        plea=plea,
        plea_threshold=float(manifest[PLEA]["threshold"]),
        gazetteer=load_gazetteer(),
        version=str(manifest["version"]),
        zh_grams=SharedCharGrams([router, plea]),
    )


def triage_batch(
    messages: Sequence[TriageInput | Mapping[str, Any]],
    *,
    rules: Sequence[RoutingRule | Mapping[str, Any]] = (),
    cluster_index: ClusterIndex | None = None,
    models: TriageModels | None = None,
    countries: Sequence[str] = (),
) -> list[TriageResult]:
    """Triage a batch of messages (256 is a good size), in order.

    ``rules`` are the agency's routing rules as plain data; ``cluster_index`` is the per-account near-duplicate
    index the worker keeps (without one, duplicates are found within this batch only); ``countries`` (ISO
    alpha-2 codes, such as ``["HT"]``) are where the agency works: English place names are given the
    coordinates of those countries' towns (``wenzheng.triage.world``), and of no others. An unknown code raises
    ``ValueError``.
    """
    inputs = as_inputs(messages)
    models = models or load_models()
    towns = load_towns(countries) if countries else None
    index = cluster_index if cluster_index is not None else ClusterIndex()
    parsed_rules = as_rules(rules)
    texts = normalize_batch([m.text for m in inputs])
    langs = [detect_language(text) for text in texts]
    life = _life_probabilities(models, texts, langs)
    topics, pleas = _chinese_models(models, texts, langs)
    clusters = _clusters(index, inputs, texts)
    return [
        _one(
            models,
            message,
            text,
            lang,
            life.get(i),
            pleas.get(i),
            topics.get(i),
            clusters[i],
            rules=parsed_rules,
            towns=towns,
        )
        for i, (message, text, lang) in enumerate(zip(inputs, texts, langs, strict=True))
    ]


def triage(
    message: TriageInput | Mapping[str, Any] | str,
    *,
    rules: Sequence[RoutingRule | Mapping[str, Any]] = (),
    cluster_index: ClusterIndex | None = None,
    countries: Sequence[str] = (),
) -> TriageResult:
    """Triage one message (a ``TriageInput``, a ``{"id", "text"}`` mapping, or bare text with id ``""``)."""
    item = TriageInput(id="", text=message) if isinstance(message, str) else message
    return triage_batch([item], rules=rules, cluster_index=cluster_index, countries=countries)[0]


def _clusters(index: ClusterIndex, inputs: list[TriageInput], texts: list[str]) -> list[str | None]:
    """Each message's near-duplicate cluster, in input order (empty text has none)."""
    return index.assign_many([(m.id, text, m.received_at) for m, text in zip(inputs, texts, strict=True)])


def _life_probabilities(models: TriageModels, texts: list[str], langs: Sequence[str]) -> dict[int, float]:
    chosen = [i for i, lang in enumerate(langs) if lang != "zh"]
    if not chosen:
        return {}
    probabilities = models.life_safety.probabilities([texts[i] for i in chosen])[:, 0]
    return {i: float(p) for i, p in zip(chosen, probabilities, strict=True)}


def _chinese_models(
    models: TriageModels, texts: list[str], langs: Sequence[str]
) -> tuple[dict[int, tuple[str, float]], dict[int, float]]:
    """The topic (department) and the plea probability of each Chinese message, from one pass of n-gram counting."""
    chosen = [i for i, lang in enumerate(langs) if lang == "zh"]
    if not chosen:
        return {}, {}
    batch = [texts[i] for i in chosen]
    counts = models.zh_grams.count(batch)
    topic_probabilities = models.router.probabilities(batch, counts[models.router.name])
    plea_probabilities = models.plea.probabilities(batch, counts[models.plea.name])[:, 0]
    best = topic_probabilities.argmax(axis=1)
    classes = models.router.classes
    topics = {
        i: (classes[int(k)], float(topic_probabilities[row, k]))
        for row, (i, k) in enumerate(zip(chosen, best, strict=True))
    }
    pleas = {i: float(p) for i, p in zip(chosen, plea_probabilities, strict=True)}
    return topics, pleas


def _one(
    models: TriageModels,
    message: TriageInput,
    text: str,
    lang: str,
    life_probability: float | None,
    plea_probability: float | None,
    topic: tuple[str, float] | None,
    cluster: str | None,
    *,
    rules: list[RoutingRule],
    towns: TownIndex | None,
) -> TriageResult:
    head = text[:ANALYSIS_CHARS]
    hits = find_cues(head, lang)
    people = find_people(head, lang)
    places = find_places(head, models.gazetteer, lang, towns)
    phones = find_phones(head)
    moderation = moderate(head, urgent=hits.has("danger") or hits.has("plea"))
    located = bool(phones or places)
    assessment = decide(
        hits,
        people,
        spam=moderation.spam,
        located=located,
        brief=len(head) <= BRIEF_CHARS,
        life_probability=life_probability,
        plea_probability=plea_probability,
        plea_threshold=models.plea_threshold,
    )
    category, confidence = topic or (None, 0.0)
    routed = route(
        rules, text=text, category=category, category_confidence=confidence, intent=assessment.intent, places=places
    )
    cues = moderation.cues + assessment.cues + ((routed.cue,) if routed.cue else ())
    return TriageResult(
        id=message.id,
        lang=lang,  # type: ignore[arg-type]
        normalized=text,
        spam=moderation.spam,
        intent=assessment.intent,
        urgency=assessment.urgency,
        score=assessment.score,
        cues=cues,
        places=places,
        phones=phones,
        people=people,
        cluster=cluster,
        department=routed.department,
        department_confidence=routed.confidence,
        model_version=models.version,
        category=category,
    )


def lexicon_intents(texts: Sequence[str], gazetteer: Gazetteer | None = None) -> list[str]:
    """The intent the lexicon alone gives each (normalized) text — the weak labels the plea model learns from."""
    gazetteer = gazetteer or load_gazetteer()
    intents = []
    for text in texts:
        head, lang = text[:ANALYSIS_CHARS], detect_language(text)
        places = find_places(head, gazetteer, lang)
        located = bool(places or find_phones(head))
        intents.append(decide_intent(find_cues(head, lang), find_people(head, lang), located=located))
    return intents
