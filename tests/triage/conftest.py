"""Triage is a pure library: its tests need no database, and the models load once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wenzheng.triage import TriageModels, load_models

LUSHAN_PLEA = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，我女朋友不见踪影，求大家救救我们！"
SPAM_LINE = "久久综合综合久久综合_六月丁香婷婷色狠狠久久_麻豆AV一区二区"


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the suite's per-test table cleanup: nothing here touches the database."""
    yield


@pytest.fixture(scope="session")
def models() -> TriageModels:
    return load_models()
