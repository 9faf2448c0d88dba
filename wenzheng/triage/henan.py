"""Evaluation on the Henan flood posts (#河南暴雨互助#): pleas for help (求救) against offers, logistics and chatter.

The source has no labels; the team hand-labelled a fixed sample (``labels/henan-flood-weibo-zh.tsv``, keyed by a
hash of the text so the posts themselves stay out of the repository). Half of the sample (by key) was open for
tuning the lexicon ("dev"); the other half is reported as "test".
"""

from __future__ import annotations

import csv
import hashlib
import re
from importlib import resources
from pathlib import Path

import numpy as np

from wenzheng.triage import datasets
from wenzheng.triage.metrics import Section, average_precision, binary_prf, run_batches, top_share
from wenzheng.triage.urgency import PLEA_INTENTS

# The keyword rule the issue names as the floor: a post is a plea when it says it needs rescue or help.
_KEYWORD_RULE = re.compile(r"求救|求助|被困|救援|救命")


def labels() -> dict[str, int]:
    """The hand labels: text key → 1 (plea) or 0."""
    text = (resources.files("wenzheng.triage") / "labels" / "henan-flood-weibo-zh.tsv").read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith(("#", "key"))]
    return {key: int(value) for key, value in rows}


def is_test_key(key: str, gold: dict[str, int]) -> bool:
    """Whether a labelled post belongs to the held-out test half (the other half is "dev", open for tuning)."""
    return key in gold and int(key, 16) % 2 == 0


def text_key(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def posts(data: Path) -> list[str]:
    """Distinct post texts, in file order."""
    with (datasets.require(data, datasets.HENAN) / "posts_unlabelled.csv").open(encoding="utf-8-sig") as handle:
        return list(dict.fromkeys(row["微博内容"].strip() for row in csv.DictReader(handle)))


def evaluate_henan(data: Path) -> Section:
    section = Section(f"{datasets.HENAN}: pleas for help (求救) vs offers, logistics, chatter")
    texts = posts(data)
    results, rate = run_batches(texts)
    by_key = {text_key(t): (t, r) for t, r in zip(texts, results, strict=True)}
    gold = labels()
    for part in ("test", "dev"):
        keys = [k for k in sorted(gold) if k in by_key and is_test_key(k, gold) == (part == "test")]
        truth = np.asarray([gold[k] == 1 for k in keys])
        ours = np.asarray([by_key[k][1].intent in PLEA_INTENTS for k in keys])
        rule = np.asarray([bool(_KEYWORD_RULE.search(by_key[k][0])) for k in keys])
        scores = np.asarray([by_key[k][1].score for k in keys])
        note = " (held out)" if part == "test" else " (its labels train the plea model: not a measurement)"
        section.add(f"  {part} half of the hand-labelled sample{note}: {len(keys)} posts, {int(truth.sum())} pleas")
        section.add(f"    triage (intent rescue|help|missing_person): {binary_prf(truth, ours)}")
        section.add(f"    baseline keyword rule (求救|求助|被困|救援|救命): {binary_prf(truth, rule)}")
        ap, top = average_precision(truth, scores), top_share(truth, scores)
        section.add(f"    triage score AP {ap:.3f}, share of the pleas in the top 10% of the queue {top:.1%}")
    levels = [r.urgency for r in results]
    section.add("  all posts by urgency: " + ", ".join(f"{u} {levels.count(u)}" for u in ("P0", "P1", "P2", "P3")))
    section.add(f"  throughput {rate:,.0f} msg/s (batches of 256, {len(texts)} posts)")
    return section
