"""The department router: the whole opening plus a separately weighted head block, self-trained on unlabelled text."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from wenzheng.errors import NotFound
from wenzheng.triage import TriageModels, triage
from wenzheng.triage.datasets import GOV, Example, gov_taxonomy
from wenzheng.triage.router import HEAD_CHARS, HeadRouter, head_chars
from wenzheng.triage.textmodel import LinearTextModel
from wenzheng.triage.train import fit_router

PAIRS = [
    ("学校老师收费 孩子在学校上课", "教育"),
    ("学生上课学校 老师布置作业太多", "教育"),
    ("公交车站牌 公交线路太少", "交通"),
    ("地铁公交线路 车站排队", "交通"),
    ("医院看病挂号 医生态度差", "卫生"),
    ("医生护士医院 看病排队", "卫生"),
]
EXAMPLES = [Example(str(i), text, label, "train") for i, (text, label) in enumerate(PAIRS * 5)]
UNLABELLED = ["学校食堂饭菜差", "公交车司机开得太快", "医院收费不透明", "学校放假时间"]


def _load(folder: Path) -> HeadRouter:
    def one(name: str) -> LinearTextModel:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        return LinearTextModel.from_arrays(meta, np.load(folder / f"{name}.npy").astype(np.float32))

    body = one("router_zh")
    return HeadRouter(**{f.name: getattr(body, f.name) for f in fields(LinearTextModel)}, head=one("router_zh_head"))


def test_head_analyzer_reads_only_the_first_characters() -> None:
    text = "学校" * 30
    assert head_chars(text) == head_chars(text[:HEAD_CHARS])
    assert len([g for g in head_chars(text) if len(g) == 1]) == HEAD_CHARS


def test_scores_are_the_body_plus_the_head() -> None:
    router = fit_router(EXAMPLES, UNLABELLED)
    assert router.head is not None
    texts = ["学校收费太高了，希望有关部门管一管公交", "公交线路太少 学校", ""]
    body = LinearTextModel.decision(router, texts)
    head = router.head.decision([t[:HEAD_CHARS] for t in texts]) - router.head.intercept
    assert np.allclose(router.decision(texts), body + head, atol=1e-5)
    assert not np.allclose(head[:2], 0.0)


def test_self_trained_router_is_byte_stable_and_round_trips(tmp_path: Path) -> None:
    fit_router(EXAMPLES, UNLABELLED).save(tmp_path)
    names = ("router_zh.json", "router_zh.npy", "router_zh_head.json", "router_zh_head.npy")
    first = [(tmp_path / name).read_bytes() for name in names]
    fit_router(EXAMPLES, UNLABELLED).save(tmp_path)
    assert [(tmp_path / name).read_bytes() for name in names] == first
    loaded = _load(tmp_path)
    probabilities = loaded.probabilities(["学校收费", "公交线路", "医院挂号"])
    assert [loaded.classes[i] for i in probabilities.argmax(axis=1)] == ["教育", "交通", "卫生"]
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_taxonomy_names_teach_the_router_what_its_letters_leave_open() -> None:
    """「排队」 is in letters about stations and about hospitals; the taxonomy's 挂号排队 (a 卫生 name) decides."""
    plain = fit_router(EXAMPLES, UNLABELLED)
    taught = fit_router(EXAMPLES, UNLABELLED, [("排队", "卫生"), ("挂号排队", "卫生"), ("土地征收", "国土资源")])
    assert taught.classes == plain.classes == ("交通", "卫生", "教育")  # no topic without labelled letters
    assert plain.classes[int(plain.probabilities(["排队太久了"]).argmax())] == "交通"
    assert taught.classes[int(taught.probabilities(["排队太久了"]).argmax())] == "卫生"


def test_taxonomy_keeps_names_of_one_topic_and_not_the_catch_all(tmp_path: Path) -> None:
    folder = tmp_path / GOV
    folder.mkdir()
    (folder / "label_taxonomy.csv").write_text(
        "一级分类,二级分类,三级分类\n"
        "商贸旅游,市场监管,物价监督\n商贸旅游,市场监管,其他\n城乡建设,安全生产,安全隐患\n交通运输,安全生产,事故处理\n",
        encoding="utf-8",
    )
    # 安全生产 belongs to two first-level topics and 其他 to every one: neither is kept.
    assert gov_taxonomy(tmp_path) == [
        ("事故处理", "交通运输"),
        ("安全隐患", "城乡建设"),
        ("市场监管", "商贸旅游"),
        ("物价监督", "商贸旅游"),
    ]


def test_a_data_folder_without_the_taxonomy_says_so(tmp_path: Path) -> None:
    (tmp_path / GOV).mkdir()
    with pytest.raises(NotFound) as missing:
        gov_taxonomy(tmp_path)
    assert missing.value.code == "data_not_found" and "label_taxonomy.csv" in str(missing.value)


def test_shipped_router_has_its_head_block(models: TriageModels) -> None:
    assert isinstance(models.router, HeadRouter) and models.router.head is not None
    assert models.router.head.classes == models.router.classes
    result = triage("A市某小学违规收取学生补课费 孩子在学校每学期都被要求交钱，家长负担很重。")
    assert result.department == "教育文体"


def test_the_router_learner_is_a_plain_svm_plus_svms_on_naive_bayes_scaled_features() -> None:
    """The NBSVM coefficients are folded into one linear scorer: its scores are the two learners' scores summed."""
    from scipy import sparse
    from sklearn.svm import LinearSVC

    from wenzheng.triage.train import ROUTER_C, ROUTER_NB_ALPHA, _svm_plus_nbsvm

    rng = np.random.default_rng(5)
    dense = rng.random((60, 40)) * (rng.random((60, 40)) < 0.2)
    labels = np.array(["a", "b", "c"] * 20)
    dense[:, 3] = labels == "b"  # a feature only class b has: the naive Bayes ratio favours it there
    features = sparse.csr_matrix(dense)
    weights = rng.uniform(0.3, 1.0, 60)
    scorer = _svm_plus_nbsvm(features, labels, weights)

    expected = LinearSVC(C=ROUTER_C, random_state=0).fit(features, labels, sample_weight=weights)
    expected_scores = expected.decision_function(features)
    present = (features > 0).toarray()
    for k, topic in enumerate(["a", "b", "c"]):
        ours = present[labels == topic].sum(axis=0) + ROUTER_NB_ALPHA
        theirs = present[labels != topic].sum(axis=0) + ROUTER_NB_ALPHA
        ratio = np.log((ours / ours.sum()) / (theirs / theirs.sum()))
        scaled = features.multiply(ratio).tocsr()
        binary = LinearSVC(C=ROUTER_C, random_state=0).fit(scaled, labels == topic, sample_weight=weights)
        expected_scores[:, k] += binary.decision_function(scaled)
    assert list(scorer.classes_) == ["a", "b", "c"]
    assert np.allclose(scorer.decision_function(features), expected_scores, atol=1e-9)
    assert scorer.coef_[1, 3] > max(scorer.coef_[0, 3], scorer.coef_[2, 3])
