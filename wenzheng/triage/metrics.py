"""Metrics and the batch runner shared by the evaluations (kept apart so each dataset's module can use them)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from wenzheng.triage.models import TriageResult
from wenzheng.triage.pipeline import triage_batch

BATCH = 256


@dataclass
class Section:
    """The figures for one dataset, as printable lines."""

    title: str
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


def run_batches(texts: Sequence[str], countries: Sequence[str] = ()) -> tuple[list[TriageResult], float]:
    """Triage texts in batches of 256; returns the results and the throughput in messages per second."""
    started = time.perf_counter()
    results: list[TriageResult] = []
    for start in range(0, len(texts), BATCH):
        chunk = texts[start : start + BATCH]
        results += triage_batch([{"id": str(start + i), "text": t} for i, t in enumerate(chunk)], countries=countries)
    return results, len(texts) / max(time.perf_counter() - started, 1e-9)


def per_class(truth: Sequence[str], predicted: Sequence[str | None], classes: Sequence[str]) -> list[str]:
    """Precision, recall and F1 per class, then macro-F1."""
    lines, f1s = [], []
    for label in classes:
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        precision = tp / max(1, sum(p == label for p in predicted))
        recall = tp / max(1, sum(t == label for t in truth))
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        f1s.append(f1)
        lines.append(
            f"  {label:<12} P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}  (n={sum(t == label for t in truth)})"
        )
    lines.append(f"  macro-F1 {np.mean(f1s):.3f}")
    return lines


def macro_f1(truth: Sequence[str], predicted: Sequence[str | None]) -> float:
    classes = sorted(set(truth))
    line = per_class(truth, predicted, classes)[-1]
    return float(line.split()[-1])


def average_precision(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision–recall curve, stepwise (as scikit-learn computes it); ties broken by order."""
    order = np.argsort(-scores, kind="stable")
    hits = truth[order].astype(float)
    if not hits.sum():
        return 0.0
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision_at * hits).sum() / hits.sum())


def top_share(truth: np.ndarray, scores: np.ndarray, fraction: float = 0.1) -> float:
    """The share of all positives that sit in the top ``fraction`` of the queue when sorted by score."""
    k = max(1, round(len(scores) * fraction))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(truth[top].sum() / max(1, truth.sum()))


def binary_prf(truth: np.ndarray, predicted: np.ndarray) -> str:
    tp = int((truth & predicted).sum())
    precision, recall = tp / max(1, int(predicted.sum())), tp / max(1, int(truth.sum()))
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return f"P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}"
