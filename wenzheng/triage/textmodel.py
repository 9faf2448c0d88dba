"""A small linear text model stored as plain arrays: n-gram vocabulary, idf weights, coefficients.

No pickles: the artifacts are a JSON file (vocabulary, classes, settings) and a ``.npy`` file of weights, written
byte-for-byte the same from the same data, and read without scikit-learn. Training (``wenzheng.triage.train``)
fits scikit-learn's ``TfidfVectorizer`` with the analyzers below, so the features are the same at run time.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import sparse

_SPACES = re.compile(r"\s+")
_EN_TOKEN = re.compile(r"[a-z0-9']+")


ZH_CHARS = 400  # the title and opening say what a message is about; a cap keeps long letters cheap


def zh_chars(text: str) -> list[str]:
    """Character 1–3-grams of the first 400 characters, the best-scoring features for Chinese topic routing."""
    text = _SPACES.sub(" ", text[:ZH_CHARS].lower())
    grams = list(text)
    grams += [text[i : i + 2] for i in range(len(text) - 1)]
    grams += [text[i : i + 3] for i in range(len(text) - 2)]
    return grams


def en_words(text: str) -> list[str]:
    """Word uni- and bigrams plus 3–5-character pieces of each word (robust to the SMS misspellings)."""
    tokens = _EN_TOKEN.findall(text.lower())
    grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    for token in tokens:
        padded = f" {token} "
        for n in (3, 4, 5):
            grams += ["#" + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return grams


ANALYZERS: dict[str, Callable[[str], list[str]]] = {"zh_chars": zh_chars, "en_words": en_words}


@dataclass(frozen=True)
class LinearTextModel:
    """Sublinear TF-IDF features, l2-normalized, times a coefficient matrix: one score per class."""

    name: str
    analyzer: str
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # classes × features
    intercept: np.ndarray
    classes: tuple[str, ...]
    temperature: float = 1.0

    def features(self, texts: Sequence[str], precounted: Counts | None = None) -> sparse.csr_matrix:
        """L2-normalized sublinear TF-IDF rows, the same numbers scikit-learn's ``TfidfVectorizer`` gives.

        ``precounted`` (rows, columns, counts) may be given when they were computed once for several models.
        """
        rows, columns, values = self._weights(texts, precounted)
        return sparse.csr_matrix((values, (rows, columns)), shape=(len(texts), len(self.vocabulary)))

    def _weights(self, texts: Sequence[str], precounted: Counts | None) -> Counts:
        """(row, column, weight) of every non-zero feature, ordered by row."""
        if precounted is not None:
            rows, columns, tallies = precounted
        elif self.analyzer == "zh_chars":
            rows, columns, tallies = self._char_grams.count(texts)
        elif self.analyzer == "en_words":
            rows, columns, tallies = self._word_grams.count(texts)
        else:
            rows, columns, tallies = _count_generic(ANALYZERS[self.analyzer], self.vocabulary, texts)
        values = (1.0 + np.log(tallies.astype(np.float32))) * self.idf[columns]
        squares = np.bincount(rows, weights=values * values, minlength=len(texts))
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        return rows, columns, (values / norms[rows]).astype(np.float32)

    @functools.cached_property
    def _char_grams(self) -> CharGramIndex:
        return CharGramIndex(self.vocabulary)

    @functools.cached_property
    def _word_grams(self) -> WordGramIndex:
        return WordGramIndex(self.vocabulary)

    def decision(self, texts: Sequence[str], precounted: Counts | None = None) -> np.ndarray:
        """Raw scores, shape ``(len(texts), len(classes))``."""
        if not texts:
            return np.zeros((0, len(self.classes)), np.float32)
        rows, columns, values = self._weights(texts, precounted)
        # Sum each row's weighted coefficients without building a sparse matrix (cheaper, above all for one text).
        contributions = self.coef[:, columns] * values
        scores = [np.bincount(rows, weights=c, minlength=len(texts)) for c in contributions]
        return np.stack(scores, axis=1).astype(np.float32) + self.intercept

    def probabilities(self, texts: Sequence[str], precounted: Counts | None = None) -> np.ndarray:
        """Calibrated class probabilities: a softmax (or, for one class, a sigmoid) of the scaled scores."""
        scores = self.decision(texts, precounted) * self.temperature
        if len(self.classes) == 1:
            return 1.0 / (1.0 + np.exp(-scores))
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        """Write ``<name>.json`` and ``<name>.npy``; the same model always gives the same bytes."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta = {
            "name": self.name,
            "analyzer": self.analyzer,
            "classes": list(self.classes),
            "temperature": round(self.temperature, 6),
            "intercept": [round(float(x), 6) for x in self.intercept],
            "terms": terms,
        }
        (folder / f"{self.name}.json").write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n")
        weights = np.vstack([self.idf[None, :], self.coef]).astype(np.float16)
        buffer = io.BytesIO()
        np.save(buffer, weights, allow_pickle=False)
        (folder / f"{self.name}.npy").write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, name: str) -> LinearTextModel:
        """Load a model shipped in ``wenzheng/triage/artifacts``."""
        folder = resources.files("wenzheng.triage") / "artifacts"
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        weights = np.load(io.BytesIO((folder / f"{name}.npy").read_bytes()), allow_pickle=False).astype(np.float32)
        return cls.from_arrays(meta, weights)

    @classmethod
    def from_arrays(cls, meta: dict[str, object], weights: np.ndarray) -> LinearTextModel:
        terms = meta["terms"]
        assert isinstance(terms, list)
        return cls(
            name=str(meta["name"]),
            analyzer=str(meta["analyzer"]),
            vocabulary={term: i for i, term in enumerate(terms)},
            idf=weights[0],
            coef=weights[1:],
            intercept=np.asarray(meta["intercept"], np.float32),
            classes=tuple(str(c) for c in meta["classes"]),  # type: ignore[attr-defined]
            temperature=float(meta["temperature"]),  # type: ignore[arg-type]
        )


Counts = tuple[np.ndarray, np.ndarray, np.ndarray]


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and how often each occurs (``np.unique`` without its per-call overhead)."""
    if not len(values):
        return values, np.zeros(0, np.int64)
    ordered = np.sort(values)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def _count_generic(analyze: Callable[[str], list[str]], vocabulary: dict[str, int], texts: Sequence[str]) -> Counts:
    rows: list[int] = []
    columns: list[int] = []
    counts: list[int] = []
    for row, text in enumerate(texts):
        found = Counter(map(vocabulary.get, analyze(text)))
        found.pop(None, None)
        rows.extend([row] * len(found))
        columns.extend(found)  # type: ignore[arg-type]
        counts.extend(found.values())
    return np.asarray(rows, np.int64), np.asarray(columns, np.int64), np.asarray(counts, np.int64)


class CharGramIndex:
    """:func:`zh_chars` counts for a whole batch in a few numpy operations.

    Each 1–3-gram is packed into an integer (21 bits per code point) and looked up by binary search in the
    sorted keys of the vocabulary, so no Python loop runs per character.
    """

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.size = len(vocabulary)
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in (1, 2, 3):
            terms = [(self._key(term), index) for term, index in vocabulary.items() if len(term) == n]
            terms.sort()
            keys = np.asarray([k for k, _ in terms], np.uint64)
            self.tables[n] = (keys, np.asarray([i for _, i in terms], np.int64))

    @staticmethod
    def _key(term: str) -> int:
        key = 0
        for ch in term:
            key = (key << 21) | ord(ch)
        return key

    def count(self, texts: Sequence[str]) -> Counts:
        prepared = [_SPACES.sub(" ", text[:ZH_CHARS].lower()) for text in texts]
        points = np.frombuffer("".join(prepared).encode("utf-32-le"), np.uint32).astype(np.uint64)
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), [len(p) for p in prepared])
        found_rows, found_columns = [], []
        for n, (keys, columns) in self.tables.items():
            width = len(points) - n + 1
            if width <= 0 or not len(keys):
                continue
            key = points[:width].copy()
            for offset in range(1, n):
                key = (key << np.uint64(21)) | points[offset : offset + width]
            inside = owner[:width] == owner[n - 1 : n - 1 + width]  # no gram across two messages
            key, rows = key[inside], owner[:width][inside]
            position = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            hit = keys[position] == key
            found_rows.append(rows[hit])
            found_columns.append(columns[position[hit]])
        if not found_rows:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        flat = np.concatenate(found_rows) * self.size + np.concatenate(found_columns)
        unique, counts = unique_counts(flat)
        return unique // self.size, unique % self.size, counts


class SharedCharGrams:
    """Character-gram counts computed once for several ``zh_chars`` models (the router and the plea model)."""

    def __init__(self, models: Sequence[LinearTextModel]) -> None:
        union: dict[str, int] = {}
        for model in models:
            for term in model.vocabulary:
                union.setdefault(term, len(union))
        self.index = CharGramIndex(union)
        self.maps = {}
        for model in models:
            mapping = np.full(len(union), -1, np.int64)
            for term, column in model.vocabulary.items():
                mapping[union[term]] = column
            self.maps[model.name] = mapping

    def count(self, texts: Sequence[str]) -> dict[str, Counts]:
        """Counts in each model's own columns, keyed by model name."""
        rows, columns, counts = self.index.count(texts)
        result = {}
        for name, mapping in self.maps.items():
            own = mapping[columns]
            keep = own >= 0
            result[name] = (rows[keep], own[keep], counts[keep])
        return result


class WordGramIndex:
    """:func:`en_words` counts with each word's features (the word and its 3–5-character pieces) cached."""

    _CACHE_LIMIT = 200_000

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self.cache: dict[str, tuple[int, ...]] = {}

    def _word_features(self, token: str) -> tuple[int, ...]:
        cached = self.cache.get(token)
        if cached is None:
            padded = f" {token} "
            pieces = [token] + ["#" + padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
            cached = tuple(i for i in map(self.vocabulary.get, pieces) if i is not None)
            if len(self.cache) < self._CACHE_LIMIT:
                self.cache[token] = cached
        return cached

    def count(self, texts: Sequence[str]) -> Counts:
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        lookup = self.vocabulary.get
        for row, text in enumerate(texts):
            tokens = _EN_TOKEN.findall(text.lower())
            found: Counter[int] = Counter()
            for token in tokens:
                found.update(self._word_features(token))
            bigrams = (lookup(f"{a} {b}") for a, b in itertools.pairwise(tokens))
            found.update(i for i in bigrams if i is not None)
            rows.extend([row] * len(found))
            columns.extend(found)
            counts.extend(found.values())
        return np.asarray(rows, np.int64), np.asarray(columns, np.int64), np.asarray(counts, np.int64)
