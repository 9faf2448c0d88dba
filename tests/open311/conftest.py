from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.open311.helpers import Jurisdiction, make_jurisdiction


@pytest.fixture
def yaan(db: Session) -> Jurisdiction:
    return make_jurisdiction(db, "yaan")


@pytest.fixture
def other(db: Session) -> Jurisdiction:
    return make_jurisdiction(db, "other")
