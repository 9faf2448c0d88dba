"""The urgency counts beside the queue: exact under the index-covered filters, capped for a text search."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.helpers import write_in
from tests.factories import SYSTEM, create_tenant
from wenzheng.cases import access
from wenzheng.cases.access import MORE, QueueFilter, queue_counts, queue_of_agency


def test_counts_follow_the_filters_and_a_text_search_says_when_it_stopped_counting(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = create_tenant(db, "qc")
    texts = (
        "龙门乡青龙场村道路塌方，车辆无法通行",
        "龙门乡中心校安置点缺饮用水和帐篷，约40人",
        "请问龙门乡的捐赠物资在哪里登记？",
        "太平镇有三位老人行动不便，需要转移",
    )
    for text in texts:
        write_in(client, db, tenant, text)
    agency_id = tenant.agency.id

    everything = queue_counts(db, SYSTEM, agency_id, QueueFilter())
    assert sum(everything.values()) == 4 and MORE not in everything
    searched = queue_counts(db, SYSTEM, agency_id, QueueFilter(text="龙门乡"))
    assert sum(searched.values()) == 3 and MORE not in searched

    monkeypatch.setattr(access, "TEXT_COUNT_CAP", 2)
    capped = queue_counts(db, SYSTEM, agency_id, QueueFilter(text="龙门乡"))
    assert capped[MORE] == 1 and sum(v for k, v in capped.items() if k != MORE) == 3  # counted up to cap + 1
    # The queue itself is never capped by the counting.
    assert len(queue_of_agency(db, SYSTEM, agency_id, QueueFilter(text="龙门乡"))) == 3
