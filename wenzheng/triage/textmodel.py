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
        values = (1.0 + np.log(tallies.astype(np.float32))) * self.idf.take(columns)
        squares = np.bincount(rows, weights=values * values, minlength=len(texts))
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        return rows, columns, (values / norms[rows]).astype(np.float32)

    def warm(self) -> None:
        """Build the lookup tables of the model's own analyzer now (at load), not on the first message."""
        if self.analyzer == "en_words":
            self._word_grams.learn_vocabulary_words()
        _ = self._coef_by_feature

    @functools.cached_property
    def _char_grams(self) -> CharGramIndex:
        return CharGramIndex(self.vocabulary)

    @functools.cached_property
    def _word_grams(self) -> WordGramIndex:
        return WordGramIndex(self.vocabulary)

    @functools.cached_property
    def _coef_by_feature(self) -> np.ndarray:
        """features × classes, so that a feature's coefficients are one contiguous run to gather."""
        return np.ascontiguousarray(self.coef.T)

    def decision(self, texts: Sequence[str], precounted: Counts | None = None) -> np.ndarray:
        """Raw scores, shape ``(len(texts), len(classes))``."""
        if not texts:
            return np.zeros((0, len(self.classes)), np.float32)
        rows, columns, values = self._weights(texts, precounted)
        coefficients = self._coef_by_feature.take(columns, axis=0)
        # The products in float32, as ever, but written out in float64, the precision they are summed in.
        contributions = np.multiply(coefficients, values[:, None], out=np.empty(coefficients.shape), dtype=np.float32)
        return row_sums(rows, contributions, len(texts)).astype(np.float32) + self.intercept

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


def row_sums(rows: np.ndarray, addends: np.ndarray, n_rows: int) -> np.ndarray:
    """Each row's addends (float64, one column per class) summed one after another in the order given: what
    ``np.bincount(rows, weights=column)`` gives for each column.

    For a batch, all the columns in one pass, to the same bits: a sparse 0/1 matrix times ``addends``, a product
    scipy adds up entry after entry, row by row. For a few addends (one message), ``np.bincount`` itself, which
    costs less than building the matrix.
    """
    if len(rows) < 2048:
        return np.stack([np.bincount(rows, weights=column, minlength=n_rows) for column in addends.T], axis=1)
    if np.any(rows[1:] < rows[:-1]):
        order = np.argsort(rows, kind="stable")  # grouped by row, each row's addends still in their order
        rows, addends = rows[order], addends[order]
    indptr = np.zeros(n_rows + 1, np.int32)  # int32 indices, which scipy takes as they are (see _pair_order)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    entries = np.arange(len(rows), dtype=np.int32)
    picks = sparse.csr_matrix((np.ones(len(rows)), entries, indptr), shape=(n_rows, len(rows)))
    return picks @ addends


def _columns(vocabulary: dict[str, int]) -> int:
    """How many columns a vocabulary's numbers need: its size, unless some are left out (a column past the end
    would take scipy's counting sorts out of their arrays)."""
    return max(vocabulary.values(), default=-1) + 1


def _no_counts() -> Counts:
    empty = np.zeros(0, np.int64)
    return empty, empty, empty


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


def _pair_order(rows: np.ndarray, columns: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions of the (row, column) pairs ordered by row, then column, then position; and the pairs' rows and
    columns in that order. ``rows`` must be ascending.

    For a batch, turning a sparse matrix into columns and back: two stable counting sorts, in time linear in the
    pairs and the vocabulary, several times cheaper than ``np.sort`` of the packed pairs (50,000 pairs a batch). The
    indices are int32 (a batch has far fewer than 2**31 grams), so scipy neither checks nor converts them. For a few
    pairs (one message), a stable sort of the packed pairs, which does not pass over every column.
    """
    if len(columns) * 8 < size:
        order = np.argsort(rows * size + columns, kind="stable")
        return order, rows[order], columns[order]
    n_rows = int(rows[-1]) + 1
    indptr = np.zeros(n_rows + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    positions = np.arange(len(columns), dtype=np.int32)
    matrix = sparse.csr_matrix((positions, columns.astype(np.int32, copy=False), indptr), shape=(n_rows, size))
    matrix = matrix.tocsc().tocsr()
    return matrix.data, np.repeat(np.arange(n_rows), np.diff(matrix.indptr)), matrix.indices


def _run_starts(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Where each distinct (row, column) pair's run begins in pairs ordered by :func:`_pair_order`."""
    changes = np.ones(len(rows), bool)
    changes[1:] = (columns[1:] != columns[:-1]) | (rows[1:] != rows[:-1])
    return np.flatnonzero(changes)


def tally_sorted(rows: np.ndarray, columns: np.ndarray, size: int) -> Counts:
    """Distinct (row, column) pairs ordered by row and column, with how often each occurs; ``rows`` ascending."""
    if not len(rows):
        return _no_counts()
    order, sorted_rows, sorted_columns = _pair_order(rows, columns, size)
    starts = _run_starts(sorted_rows, sorted_columns)
    counts = np.diff(np.append(starts, len(order)))
    return sorted_rows[starts].astype(np.int64), sorted_columns[starts].astype(np.int64), counts


def tally_in_order(rows: np.ndarray, columns: np.ndarray, size: int) -> Counts:
    """Distinct (row, column) pairs in the order each first occurs, with how often: a ``Counter`` per row, at once.

    The order is the one a ``Counter`` gives, so the weights are summed in the same order and to the same bits.
    """
    if not len(rows):
        return _no_counts()
    order, sorted_rows, sorted_columns = _pair_order(rows, columns, size)
    starts = _run_starts(sorted_rows, sorted_columns)
    tallies = np.zeros(len(order), np.int64)
    tallies[order[starts]] = np.diff(np.append(starts, len(order)))  # a pair's count lands on its first position
    first = np.flatnonzero(tallies)
    return rows[first], columns[first], tallies[first]


_END = 0x1F_FFFF  # 21 bits but above every code point (at most 0x10FFFF): written after each message
# Whether a code point is whitespace as \s (str.isspace) has it, none above U+3000; the last slot for all the others.
_WHITESPACE = np.array([chr(point).isspace() for point in range(0x3001)] + [False])


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`zh_chars` reads of each message, as one array of code points with an end mark after each message
    and two more at the end; and the message each position but those two belongs to.

    The whitespace runs are made one space here, on the array, rather than by a regular expression per message.
    """
    lowered = [text[:ZH_CHARS].lower() for text in texts]
    spans = np.fromiter(map(len, lowered), np.int64, len(lowered)) + 1
    joined = np.frombuffer("\n".join(lowered).encode("utf-32-le"), np.uint32)
    points = np.empty(len(joined) + 1, np.uint64)
    points[:-1] = joined
    points[np.cumsum(spans) - 1] = _END  # where the join put newlines (whitespace, which would be collapsed)
    space = _WHITESPACE.take(np.minimum(points, len(_WHITESPACE) - 1).astype(np.intp))
    points[space] = ord(" ")
    keep = np.concatenate(([True], ~(space[1:] & space[:-1])))  # the first of each run
    owner = np.repeat(np.arange(len(texts)), spans)[keep]
    return np.concatenate((points[keep], np.full(2, _END, np.uint64))), owner


def _pack(term: str) -> int:
    """An n-gram as one integer, 21 bits per code point (every code point fits in 21 bits)."""
    key = 0
    for ch in term:
        key = (key << 21) | ord(ch)
    return key


class GramTable:
    """Packed n-gram keys → vocabulary columns: an open-addressing hash table probed for a whole array at once.

    A binary search (``np.searchsorted``) in 27,000 sorted keys takes 15 dependent steps per gram; in a table four
    to eight times the vocabulary's size nearly every gram, in the vocabulary or not, is settled at its first slot,
    and the others within the few slots after it that any key was moved on by (``reach``), looked at all at once.
    """

    _EMPTY = 2**64 - 1  # no gram packs to it: three code points take 63 bits
    _FIBONACCI = 0x9E37_79B9_7F4A_7C15  # 2**64 / golden ratio: its top bits spread neighbouring keys evenly

    def __init__(self, columns_by_key: dict[int, int]) -> None:
        bits = max(4, (4 * len(columns_by_key)).bit_length())
        self._shift = 64 - bits
        keys = np.fromiter(columns_by_key, np.uint64, len(columns_by_key))
        columns = np.fromiter(columns_by_key.values(), np.int32, len(columns_by_key))
        size = 1 << bits
        slots = self._placed(keys, size)
        self.reach = int(np.max(slots - self._home(keys), initial=0))  # how far any key was moved on
        self.keys = np.full(size + self.reach, self._EMPTY, np.uint64)
        self.columns = np.full(size + self.reach, -1, np.int32)
        self.keys[slots % size], self.columns[slots % size] = keys, columns
        # The first `reach` slots again after the last, so that a walk past the end reads on without wrapping round.
        self.keys[size:], self.columns[size:] = self.keys[: self.reach], self.columns[: self.reach]

    def _home(self, keys: np.ndarray) -> np.ndarray:
        """The slot where a key's walk starts: the top bits of key × 2**64/φ (the product wraps mod 2**64)."""
        return ((keys * np.uint64(self._FIBONACCI)) >> np.uint64(self._shift)).astype(np.intp)

    def _placed(self, keys: np.ndarray, size: int) -> np.ndarray:
        """Each key's slot by linear probing, for all the keys at once: a key moves on only past a slot that is
        taken, before or now by another key; the slot numbers go on past the end (a walk there wraps round)."""
        placed = np.zeros(len(keys), np.intp)
        taken = np.zeros(size, bool)
        waiting, slots = np.arange(len(keys)), self._home(keys)
        while len(waiting):
            free = np.flatnonzero(~taken[slots % size])
            claimed, first = np.unique(slots[free] % size, return_index=True)  # one key per free slot
            taken[claimed] = True
            placed[waiting[free[first]]] = slots[free[first]]
            left = np.ones(len(waiting), bool)
            left[free[first]] = False
            waiting, slots = waiting[left], slots[left] + 1
        return placed

    def columns_of(self, keys: np.ndarray) -> np.ndarray:
        """Each key's column, or -1 for a gram not in the vocabulary."""
        slots = self._home(keys)
        stored = self.keys.take(slots)
        columns = np.where(stored == keys, self.columns.take(slots), -1)
        # A key that met another key at its first slot lies, if anywhere, in the `reach` slots after it; one that
        # met an empty slot is in no slot.
        probing = np.flatnonzero((stored != keys) & (stored != self._EMPTY))
        if len(probing) and self.reach:
            walk = slots[probing, None] + np.arange(1, self.reach + 1)
            found, step = np.nonzero(self.keys.take(walk) == keys[probing, None])  # a key is in one slot of a walk
            columns[probing[found]] = self.columns.take(walk[found, step])
        return columns


class CharGramIndex:
    """:func:`zh_chars` counts for a whole batch in a few numpy operations.

    The batch's code points go into one array, each message followed by an end mark that is in no gram of the
    vocabulary, so no gram across two messages is found. 1-grams are looked up by code point in a plain table,
    2- and 3-grams packed into integers (21 bits per code point) in hash tables: no Python loop runs per character.
    """

    _FEW_CHARACTERS = 160  # up to this many in a batch (one title, one short post), counted in Python

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self.size = _columns(vocabulary)
        unigrams = {ord(term): column for term, column in vocabulary.items() if len(term) == 1}
        # One slot per code point up to the vocabulary's highest and one more, -1, where every other lands.
        self.unigrams = np.full(max(unigrams, default=-1) + 2, -1, np.int32)
        self.unigrams[list(unigrams)] = list(unigrams.values())
        self.bigrams, self.trigrams = (
            GramTable({_pack(term): column for term, column in vocabulary.items() if len(term) == n}) for n in (2, 3)
        )

    def count(self, texts: Sequence[str]) -> Counts:
        if not texts:
            return _no_counts()
        if sum(min(len(text), ZH_CHARS) for text in texts) <= self._FEW_CHARACTERS:
            return self._count_few(texts)
        points, owner = _code_points(texts)
        positions, columns = self._found(points)
        return tally_sorted(owner.take(positions), columns, self.size)

    def _count_few(self, texts: Sequence[str]) -> Counts:
        """:func:`zh_chars` and a Counter per message, ordered by row and column like :meth:`count`: on a few
        characters, cheaper than the array operations' fixed cost (some twenty of them, a few µs each)."""
        rows, columns, counts = _count_generic(zh_chars, self.vocabulary, texts)
        order = np.lexsort((columns, rows))
        return rows[order], columns[order], counts[order]

    def _found(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start position and column of every 1–3-gram in the vocabulary, in text order."""
        width = len(points) - 2  # the last two points are end marks, so every position starts a 3-gram
        first = points[:width]
        pairs = (first << np.uint64(21)) | points[1 : width + 1]
        triples = (pairs << np.uint64(21)) | points[2:]
        by_position = np.stack(
            [
                self.unigrams.take(np.minimum(first, len(self.unigrams) - 1).astype(np.intp)),
                self.bigrams.columns_of(pairs),
                self.trigrams.columns_of(triples),
            ],
            axis=1,
        ).ravel()
        hits = np.flatnonzero(by_position >= 0)
        return hits // 3, by_position.take(hits)


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
            mapping = np.full(len(union), -1, np.int32)  # int32: half the memory to gather from
            for term, column in model.vocabulary.items():
                mapping[union[term]] = column
            self.maps[model.name] = mapping

    def count(self, texts: Sequence[str]) -> dict[str, Counts]:
        """Counts in each model's own columns, keyed by model name."""
        rows, columns, counts = self.index.count(texts)
        result = {}
        for name, mapping in self.maps.items():
            own = mapping.take(columns)
            keep = np.flatnonzero(own >= 0)
            result[name] = (rows.take(keep), own.take(keep).astype(np.int64), counts.take(keep))
        return result


class WordColumns(dict[str, np.ndarray]):
    """A word's columns (the word and its 3–5-character pieces), worked out the first time the word is seen.

    Looked up with ``map(words.__getitem__, tokens)``, a word seen before costs no Python call; at most ``limit``
    words are kept, so a flood of misspellings cannot grow it without bound.
    """

    def __init__(self, vocabulary: dict[str, int], limit: int) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        self.limit = limit

    def __missing__(self, word: str) -> np.ndarray:
        return self.learn(word)

    def learn(self, word: str) -> np.ndarray:
        """Work out a word's columns and keep them (while under the limit)."""
        padded = f" {word} "
        pieces = [word] + ["#" + padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
        columns = np.array([i for i in map(self.vocabulary.get, pieces) if i is not None], np.int64)
        if len(self) < self.limit:
            self[word] = columns
        return columns


class WordGramIndex:
    """:func:`en_words` counts for a whole batch: each word's columns cached, the word bigrams looked up in numpy as
    pairs of word numbers (no joined string per pair), and all the columns counted at once."""

    _CACHE_LIMIT = 200_000

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self.size = _columns(vocabulary)
        self.words = WordColumns(vocabulary, self._CACHE_LIMIT)
        # A term with one space is a bigram ("trapped under"): its two words are numbered, and it is kept as the
        # pair of numbers. A token that is in no bigram has no number, and no pair with it is looked up.
        bigrams = {term: column for term, column in vocabulary.items() if term.count(" ") == 1}
        words = list(itertools.chain.from_iterable(term.split(" ") for term in bigrams))
        self.paired_words = {word: number for number, word in enumerate(dict.fromkeys(words))}
        numbers = np.array(list(map(self.paired_words.__getitem__, words)), np.int64).reshape(-1, 2)
        keys = self._pair_keys(numbers[:, 0], numbers[:, 1]).tolist()
        self.bigrams = GramTable(dict(zip(keys, bigrams.values(), strict=True)))

    def learn_vocabulary_words(self) -> None:
        """Work out the columns of every word the vocabulary holds, at load: common words then cost no Python call
        from the first message on (with an empty cache the first few thousand English messages counted about
        1.6 times slower: most of their words were new to it)."""
        for term in self.vocabulary:
            if " " not in term and not term.startswith("#"):
                self.words.learn(term)

    def _pair_keys(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return (first * len(self.paired_words) + second).astype(np.uint64)

    def count(self, texts: Sequence[str]) -> Counts:
        pieces: list[np.ndarray] = []  # each token's columns
        piece_spans: list[int] = []
        numbers: list[int] = []  # each token's number in the bigrams, or -1
        token_spans: list[int] = []
        for text in texts:
            tokens = _EN_TOKEN.findall(text.lower())
            words = list(map(self.words.__getitem__, tokens))
            pieces += words
            piece_spans.append(sum(map(len, words)))
            numbers += map(self.paired_words.get, tokens, itertools.repeat(-1))
            token_spans.append(len(tokens))
        word_rows = np.repeat(np.arange(len(texts)), piece_spans)
        bigram_rows, bigram_columns = self._bigrams(
            np.array(numbers, np.int64), np.repeat(np.arange(len(texts)), token_spans)
        )
        # Each token's columns (the word, then its pieces), then the bigrams: the order the weights have always been
        # summed in (a Counter per row, filled in this order), which the float sums depend on to the last bit.
        rows = np.concatenate((word_rows, bigram_rows))
        order = np.argsort(2 * rows + (np.arange(len(rows)) >= len(word_rows)), kind="stable")  # merges two runs
        columns = np.concatenate([*pieces, bigram_columns])
        return tally_in_order(rows[order], columns[order], self.size)

    def _bigrams(self, numbers: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of each word bigram in the vocabulary, in text order."""
        first, second = numbers[:-1], numbers[1:]
        at = np.flatnonzero((first >= 0) & (second >= 0) & (rows[:-1] == rows[1:]))
        columns = self.bigrams.columns_of(self._pair_keys(first[at], second[at]))
        found = columns >= 0
        return rows.take(at[found]), columns[found]
