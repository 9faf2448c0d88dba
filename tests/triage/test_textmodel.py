from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from wenzheng.triage import TriageModels
from wenzheng.triage.textmodel import (
    _EN_TOKEN,
    _SPACES,
    _WHITESPACE,
    ANALYZERS,
    ZH_CHARS,
    CharGramIndex,
    Counts,
    GramTable,
    LinearTextModel,
    WordGramIndex,
    en_words,
    row_sums,
    zh_chars,
)
from wenzheng.triage.train import fit_router


def test_analyzers() -> None:
    assert zh_chars("救命") == ["救", "命", "救命"]
    assert en_words("Help us")[:3] == ["help", "us", "help us"]


def test_shipped_models_load_with_their_classes(models: TriageModels) -> None:
    assert set(models.router.classes) >= {"城乡建设", "教育文体", "交通运输", "卫生计生"}
    assert models.life_safety.classes == ("life_safety",)
    assert models.version.startswith("triage-")


def test_fit_save_load_round_trip_is_byte_stable(tmp_path: Path) -> None:
    from wenzheng.triage.datasets import Example

    examples = [
        Example(str(i), text, label, "train")
        for i, (text, label) in enumerate(
            [
                ("学校老师收费", "教育"),
                ("学生上课学校", "教育"),
                ("公交车站牌", "交通"),
                ("地铁公交线路", "交通"),
                ("医院看病挂号", "卫生"),
                ("医生护士医院", "卫生"),
            ]
            * 5
        )
    ]
    model = fit_router(examples)
    model.save(tmp_path)
    first = (tmp_path / "router_zh.npy").read_bytes(), (tmp_path / "router_zh.json").read_bytes()
    fit_router(examples).save(tmp_path)
    assert ((tmp_path / "router_zh.npy").read_bytes(), (tmp_path / "router_zh.json").read_bytes()) == first
    meta_loaded = LinearTextModel.from_arrays(
        json.loads(first[1]), np.load(tmp_path / "router_zh.npy").astype(np.float32)
    )
    probabilities = meta_loaded.probabilities(["学校收费", "公交线路", "医院挂号"])
    assert [meta_loaded.classes[i] for i in probabilities.argmax(axis=1)] == ["教育", "交通", "卫生"]
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_batch_featurizers_match_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from wenzheng.triage.train import _as_model

    zh = ["学校 老师收费", "公交车站牌，公交", "医院看病挂号难", "Delmas 33 有人被困"]
    en = ["We are trapped, please help us", "no food no water", "Trapped trapped TRAPPED!"]
    for analyzer, texts in (("zh_chars", zh), ("en_words", en)):
        vectorizer = TfidfVectorizer(analyzer=ANALYZERS[analyzer], sublinear_tf=True, dtype=np.float32)
        expected = vectorizer.fit_transform(texts)
        model = _as_model("m", analyzer, vectorizer, np.zeros((1, expected.shape[1])), np.zeros(1), ["x"], 1.0)
        assert abs(model.features([*texts, ""])[: len(texts)] - expected).max() < 1e-6
        assert model.features([""]).nnz == 0


# Inputs that have tripped n-gram counters: nothing, one or two characters, characters outside the BMP, letters
# whose lowercase is longer, whitespace runs of several kinds and at the ends, grams repeated and overlapping, and
# messages longer than the cap with different text on either side of it.
TRICKY_ZH = [
    "",
    "救",
    "救命",
    "𠀀",
    "𠀀𠀁𠀀𠀁𠀀",
    "哈哈哈哈哈哈哈",
    "  学校\t\n 收费\u3000\u3000问题  ",
    " ",
    "\n\n",
    "İstanbul ABC abc 好人",
    "人好",
    "好" * (ZH_CHARS - 1) + "人人人",
    "学校收费" * 150,
    "Delmas 33 有人被困，求救！",
]
TRICKY_EN = [
    "",
    "a",
    "a b",
    "Help HELP help",
    "help me help me help me",
    "don't can't won't 'tis",
    "We are trapped, please help us!!! trapped",
    "no food no water 72h",
    "ÉCOLE école",
    "   ",
    "x  y x y",
]


def _plain_counts(analyze: Callable[[str], list[str]], vocabulary: dict[str, int], texts: Sequence[str]) -> list:
    """(row, column, count) by a Counter over the analyzer's grams: the definition the fast counters must meet."""
    triples = []
    for row, text in enumerate(texts):
        found = Counter(vocabulary[gram] for gram in analyze(text) if gram in vocabulary)
        triples += [(row, column, count) for column, count in found.items()]
    return triples


def _word_order(text: str) -> list[str]:
    """:func:`en_words`'s grams in the order the word counter meets them: each token with its pieces, then the
    bigrams (the order the weights are summed in, so the order the float sums depend on)."""
    tokens = _EN_TOKEN.findall(text.lower())
    grams = [gram for token in tokens for gram in en_words(token)] + [f"{a} {b}" for a, b in pairwise(tokens)]
    assert Counter(grams) == Counter(en_words(text))
    return grams


def _triples(counts: Counts) -> list:
    assert all(array.dtype == np.int64 for array in counts)
    return list(zip(*(array.tolist() for array in counts), strict=True))


def _vocabulary(grams: list[str], extra: list[str]) -> dict[str, int]:
    """Every other gram of the texts (so some are missing), plus terms no text yields, in a shuffled numbering."""
    terms = sorted(set(sorted(set(grams))[::2] + extra))
    numbers = np.random.default_rng(7).permutation(len(terms))
    return {term: int(number) for term, number in zip(terms, numbers, strict=True)}


def test_whitespace_table_is_what_the_analyzer_collapses() -> None:
    everything = "".join(map(chr, range(0x110000)))
    collapsed = {ord(ch) for run in _SPACES.findall(everything) for ch in run}
    assert collapsed == set(np.flatnonzero(_WHITESPACE).tolist())  # and none past the table's end


@pytest.mark.parametrize("few", [-1, 10**9], ids=["arrays", "python"])
def test_char_gram_counts_match_a_plain_count(few: int) -> None:
    texts = TRICKY_ZH
    # Terms no message yields: across two messages ("好人" ends one, "人好" starts the next), with the newline
    # the batch is joined by, astral 1-grams and 2-grams, and 4-grams the counter ignores.
    extra = ["人人好", "学校 ", "a\n", "\n", "𠀁", "𠀀𠀂", "学校收费", "救命救"]
    vocabulary = _vocabulary([gram for text in texts for gram in zh_chars(text)], extra)
    index = CharGramIndex(vocabulary)
    index._FEW_CHARACTERS = few  # every batch counted by the array operations, or every one in Python
    expected = sorted(_plain_counts(zh_chars, vocabulary, texts))  # ordered by row, then column
    assert _triples(index.count(texts)) == expected
    for i, text in enumerate(texts):  # alone and in pairs, so each is at the start and at the end of a batch
        assert _triples(index.count([text])) == sorted(_plain_counts(zh_chars, vocabulary, [text]))
        pair = [text, texts[i - 1]]
        assert _triples(index.count(pair)) == sorted(_plain_counts(zh_chars, vocabulary, pair))
    assert _triples(index.count([])) == []
    assert _triples(CharGramIndex({}).count(texts)) == []


def test_word_gram_counts_match_a_plain_count_in_its_order() -> None:
    texts = TRICKY_EN
    # Terms with one space that are no bigram of tokens, and a bigram across two messages ("trapped" ends one).
    extra = ["# ab", "x  y", " a", "a b c", "trapped no", "#zz "]
    vocabulary = _vocabulary([gram for text in texts for gram in en_words(text)], extra)
    expected = _plain_counts(_word_order, vocabulary, texts)
    index = WordGramIndex(vocabulary)
    assert _triples(index.count(texts)) == expected
    assert _triples(index.count(texts)) == expected  # again, every word from the cache
    index.words.limit = 0  # a full cache: words worked out each time
    index.words.clear()
    assert _triples(index.count(texts)) == expected
    assert _triples(index.count([])) == []
    assert _triples(index.count(["", "!!!"])) == []


def test_shipped_vocabularies_count_as_the_analyzers_do(models: TriageModels) -> None:
    from tests.triage.conftest import LUSHAN_PLEA, SPAM_LINE

    zh = [*TRICKY_ZH, LUSHAN_PLEA, SPAM_LINE]
    for model in (models.router, models.plea, models.router.head):
        counted = model._char_grams.count(zh)  # type: ignore[union-attr]
        assert _triples(counted) == sorted(_plain_counts(zh_chars, model.vocabulary, zh))  # type: ignore[union-attr]
    shared = models.zh_grams.count(zh)  # ordered by the shared index's columns, not the model's
    for model in (models.router, models.plea):
        assert sorted(_triples(shared[model.name])) == sorted(_plain_counts(zh_chars, model.vocabulary, zh))
    en = [*TRICKY_EN, "We are trapped under the rubble in Delmas 33, please send help"]
    # Every word of the vocabulary was worked out at load, so the first English messages find them cached.
    known = {term for term in models.life_safety.vocabulary if " " not in term and not term.startswith("#")}
    assert len(known) > 5_000 and known <= models.life_safety._word_grams.words.keys()
    assert _triples(models.life_safety._word_grams.count(en)) == _plain_counts(
        _word_order, models.life_safety.vocabulary, en
    )


def test_gram_table_finds_exactly_its_keys() -> None:
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(0, 2**63, 3000, dtype=np.uint64))
    table = GramTable({int(key): column for column, key in enumerate(keys)})
    absent = np.setdiff1d(rng.integers(0, 2**63, 3000, dtype=np.uint64), keys)
    asked = np.concatenate([keys, absent, keys[::-1]])
    expected = [*range(len(keys)), *[-1] * len(absent), *range(len(keys))[::-1]]
    assert table.columns_of(asked).tolist() == expected
    # Keys whose first slot is the last one: found after the walk wraps round to the table's start.
    homed_last = [key for key in range(2000) if GramTable({1: 0, 2: 1, 3: 2})._home(np.array([key], np.uint64)) == 15]
    crowded = GramTable({key: column for column, key in enumerate(homed_last[:3])})  # 16 slots, like the one above
    assert crowded.columns_of(np.array(homed_last[:5], np.uint64)).tolist() == [0, 1, 2, -1, -1]
    assert np.flatnonzero(crowded.keys[:16] != GramTable._EMPTY).tolist() == [0, 1, 15]  # two wrapped round
    assert GramTable({}).columns_of(np.zeros(0, np.uint64)).tolist() == []


@pytest.mark.parametrize(("size", "ascending"), [(20_000, True), (20_000, False), (300, True)])
def test_row_sums_are_bincount_to_the_bit(size: int, ascending: bool) -> None:
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 40, size)
    if ascending:
        rows.sort()
    addends = rng.standard_normal((len(rows), 3)).astype(np.float32).astype(np.float64) * 10.0 ** rng.integers(
        -6, 6, (len(rows), 1)
    )
    sums = row_sums(rows, addends, 41)
    for k in range(3):
        assert np.array_equal(sums[:, k], np.bincount(rows, weights=addends[:, k], minlength=41))
