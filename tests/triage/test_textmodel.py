from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from wenzheng.triage import TriageModels
from wenzheng.triage.textmodel import ANALYZERS, LinearTextModel, en_words, zh_chars
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
