"""Evaluate the shipped triage on the test splits of the shared data, next to TF-IDF baselines fitted in the same run.

Each section is one dataset in the data folder; a dataset that is absent is reported as absent, not skipped
silently. The baselines are the ones the issue names, refitted here on the same train split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from wenzheng.errors import WenzhengError
from wenzheng.triage import datasets
from wenzheng.triage.datasets import Example
from wenzheng.triage.henan import evaluate_henan
from wenzheng.triage.metrics import (
    BATCH,
    Section,
    average_precision,
    binary_prf,
    macro_f1,
    per_class,
    run_batches,
    top_share,
)
from wenzheng.triage.pipeline import load_models

HAITI = ("HT",)  # the disaster-response SMS come from Haiti's 2010 earthquake (Mission 4636)


def evaluate(data: Path) -> Iterator[Section]:
    """One section per dataset; raises when the data folder itself is missing."""
    if not data.is_dir():
        raise WenzhengError(f"no data folder at {data}: evaluation needs ../shared/data", code="data_not_found")
    for name, run in (
        (datasets.GOV, _routing),
        (datasets.DISASTER, _life_safety),
        (datasets.HENAN, evaluate_henan),
        (datasets.CRISISLEX, _crisis_relevance),
    ):
        if not (data / name).is_dir():
            yield Section(name, [f"absent: no {name} folder in {data}"])
            continue
        yield run(data)


def _split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    return [e for e in examples if e.split == "train"], [e for e in examples if e.split == "test"]


def _routing(data: Path) -> Section:
    section = Section(f"{datasets.GOV}: department routing (test split, 20% by id hash)")
    train, test = _split(datasets.gov_messages(data))
    results, rate = run_batches([e.text for e in test])
    truth = [e.label for e in test]
    section.lines += per_class(truth, [r.category for r in results], sorted(set(truth)))
    router = load_models().router
    probabilities = router.probabilities([r.normalized for r in results])
    ap = [
        average_precision(np.asarray([t == c for t in truth]), probabilities[:, k])
        for k, c in enumerate(router.classes)
    ]
    section.add(f"  macro-AP (one class against the rest, by the router's probability) {np.mean(ap):.3f}")
    baseline = _fit_predict(_svm_baseline, train, test)
    section.add(f"  baseline char TF-IDF + linear SVM: macro-F1 {macro_f1(truth, baseline):.3f}")
    section.add(f"  throughput {rate:,.0f} msg/s (batches of {BATCH}, {len(test)} messages)")
    return section


def _life_safety(data: Path) -> Section:
    section = Section(f"{datasets.DISASTER}: life safety = search_and_rescue | medical_help | missing_people")
    train, test = _split(datasets.disaster_messages(data))
    results, rate = run_batches([e.text for e in test])
    truth = np.asarray([e.label == "1" for e in test])
    scores = np.asarray([r.score for r in results])
    flagged = np.asarray([r.urgency in ("P0", "P1") for r in results])
    section.add(f"  test split (source 'validation'): {len(test)} messages, {int(truth.sum())} positive")
    section.add(f"  triage score    AP {average_precision(truth, scores):.3f}  top-10% {top_share(truth, scores):.1%}")
    section.add(f"  P0|P1 vs positive: {binary_prf(truth, flagged)}")
    section.add(f"  P0 only vs positive: {binary_prf(truth, np.asarray([r.urgency == 'P0' for r in results]))}")
    baseline = np.asarray(_fit_predict(_lr_baseline, train, test), float)
    section.add(
        f"  baseline TF-IDF + LR: AP {average_precision(truth, baseline):.3f}  top-10% {top_share(truth, baseline):.1%}"
    )
    section.add(f"  throughput {rate:,.0f} msg/s (batches of {BATCH})")
    section.add(_as_sent(data))
    section.add(_english_pins(test))
    return section


def _as_sent(data: Path) -> str:
    """The same ranking on the SMS as they were sent (Haitian Creole, French): what a Haitian agency receives."""
    originals = [e for e in datasets.disaster_originals(data) if e.split == "test"]
    results, _rate = run_batches([e.text for e in originals])
    truth = np.asarray([e.label == "1" for e in originals])
    scores = np.asarray([r.score for r in results])
    return (
        f"  the test split's SMS as sent (Creole/French, {len(originals)} messages, {int(truth.sum())} positive): "
        f"AP {average_precision(truth, scores):.3f}  top-10% {top_share(truth, scores):.1%}"
    )


def _english_pins(test: list[Example]) -> str:
    """How many messages with a place phrase get coordinates when the agency works in Haiti, where most were sent."""
    results, _rate = run_batches([e.text for e in test], countries=HAITI)
    named = [r for r in results if r.places]
    pinned = [r for r in named if any(p.lat is not None for p in r.places)]
    phrases = [p for r in named for p in r.places]
    resolved = sum(p.lat is not None for p in phrases)
    return (
        f"  English places, countries {','.join(HAITI)}: {len(named)} messages name a place, {len(pinned)} get a pin "
        f"({resolved} of {len(phrases)} phrases name a town of ≥ 5,000 people there)"
    )


def _crisis_relevance(data: Path) -> Section:
    section = Section(f"{datasets.CRISISLEX}: on-topic vs off-topic tweets (a relevance check, not urgency)")
    tweets = datasets.crisislex_tweets(data)
    results, rate = run_batches([t.text for t in tweets])
    truth = np.asarray([t.label == "1" for t in tweets])
    actionable = np.asarray([r.urgency != "P3" for r in results])
    scores = np.asarray([r.score for r in results])
    section.add(f"  every 10th tweet of six crises: {len(tweets)} tweets, {int(truth.sum())} on-topic")
    section.add(f"  P0–P2 (needs a look) vs on-topic: {binary_prf(truth, actionable)}")
    section.add(
        f"  triage score AP for on-topic {average_precision(truth, scores):.3f} (share on-topic {truth.mean():.3f})"
    )
    section.add(f"  throughput {rate:,.0f} msg/s (batches of {BATCH})")
    return section


def _fit_predict(
    build: Callable[[list[str], list[str]], Callable[[list[str]], list[Any]]],
    train: list[Example],
    test: list[Example],
) -> list[Any]:
    predict = build([e.text for e in train], [e.label for e in train])
    return predict([e.text for e in test])


def _svm_baseline(texts: list[str], labels: list[str]) -> Callable[[list[str]], list[Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC(random_state=0))
    model.fit(texts, labels)
    return lambda batch: list(model.predict(batch))


def _lr_baseline(texts: list[str], labels: list[str]) -> Callable[[list[str]], list[Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    model.fit(texts, labels)
    return lambda batch: list(model.predict_proba(batch)[:, 1])
