"""The department router: character n-grams of a message's opening, with its first characters counted again.

A message's title and first words say most plainly what it is about (「A市西湖建筑集团占道施工有安全隐患」), so the
router adds a second, separately normalized block of character 1–3-grams of the first ``HEAD_CHARS`` characters
to the usual block of the first 400. Both blocks are plain :class:`LinearTextModel` arrays: ``router_zh`` (the
whole opening, with the intercept) and ``router_zh_head`` (the head, its coefficients already scaled by the block
weight). Scores add up, so the router is still one linear model over TF-IDF features; numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

import numpy as np

from wenzheng.triage.textmodel import Counts, LinearTextModel, zh_chars

ROUTER = "router_zh"
ROUTER_HEAD = "router_zh_head"
HEAD_CHARS = 20  # about a title's length (median 19 characters in the government messages)
HEAD_WEIGHT = 0.5  # the head block's weight next to the whole opening, chosen by cross-validation


def head_chars(text: str) -> list[str]:
    """Character 1–3-grams of the first ``HEAD_CHARS`` characters (the training analyzer of the head block)."""
    return zh_chars(text[:HEAD_CHARS])


@dataclass(frozen=True)
class HeadRouter(LinearTextModel):
    """``router_zh`` plus the head block: the scores of both, softmax-calibrated with the router's temperature."""

    head: LinearTextModel | None = None

    def decision(self, texts: Sequence[str], precounted: Counts | None = None) -> np.ndarray:
        scores = super().decision(texts, precounted)
        if self.head is None or not len(texts):
            return scores
        return scores + (self.head.decision([text[:HEAD_CHARS] for text in texts]) - self.head.intercept)

    def save(self, folder: Path) -> None:
        """Write both blocks (``router_zh.*`` and ``router_zh_head.*``)."""
        super().save(folder)
        if self.head is not None:
            self.head.save(folder)


def load_router() -> HeadRouter:
    """The shipped router (``router_zh`` and, when present, ``router_zh_head``)."""
    body = LinearTextModel.load(ROUTER)
    folder = resources.files("wenzheng.triage") / "artifacts"
    head = LinearTextModel.load(ROUTER_HEAD) if (folder / f"{ROUTER_HEAD}.npy").is_file() else None
    return HeadRouter(**{f.name: getattr(body, f.name) for f in fields(LinearTextModel)}, head=head)
