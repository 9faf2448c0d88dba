"""Searching the case queue by words: found through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL),
the same cases as reading every summary would find, kept in step as summaries change."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from tests.cases.helpers import write_in
from tests.factories import SYSTEM, create_tenant
from wenzheng.cases import access
from wenzheng.cases.access import QueueFilter, queue_of_agency, summary_contains
from wenzheng.cases.models import Case

TEXTS = (
    "龙门乡青龙场村道路塌方，车辆无法通行",
    "龙门乡中心校安置点缺饮用水和帐篷，约40人",
    'Road to "Baoxing" blocked at km 12, 100% closed',
    "太平镇有三位老人行动不便，需要转移",
)


def _found(db: Session, agency_id: int, words: str) -> list[str]:
    return sorted(c.summary for c in queue_of_agency(db, SYSTEM, agency_id, QueueFilter(text=words)))


def test_search_finds_what_reading_every_summary_finds(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "sr")
    for words in TEXTS:
        write_in(client, db, tenant, words)
    agency_id = tenant.agency.id
    summaries = [c.summary for c in db.execute(select(Case)).scalars()]
    insensitive = db.bind is not None and db.bind.dialect.name == "sqlite"  # LIKE there ignores ASCII case
    for words in (
        "龙门乡",
        "龙门",
        "道路塌方",
        "baoxing",
        '"Baoxing"',
        "100%",
        "0%",
        "km 1",
        "无此词语",
        "太平镇有三位老人",
    ):
        # What reading every summary finds: the words as a substring, taken literally ('%' is no wildcard).
        expected = sorted(s for s in summaries if (words.lower() in s.lower() if insensitive else words in s))
        assert _found(db, agency_id, words) == expected, words


def test_a_common_word_is_found_as_a_rare_one_is(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = create_tenant(db, "sc")
    for words in TEXTS:
        write_in(client, db, tenant, words)
    rare = _found(db, tenant.agency.id, "龙门乡")  # two cases: read by id
    monkeypatch.setattr(access, "RARE_MATCHES", 1)  # now "common": the plain condition
    assert _found(db, tenant.agency.id, "龙门乡") == rare and len(rare) == 2
    first = db.execute(select(Case).order_by(Case.id).limit(1)).scalar_one()
    assert _found(db, tenant.agency.id, first.ref) == [first.summary]  # a reference finds its case either way
    monkeypatch.setattr(access, "RARE_MATCHES", 1000)
    assert _found(db, tenant.agency.id, first.ref) == [first.summary]
    other = create_tenant(db, "so")
    assert _found(db, other.agency.id, "龙门乡") == []  # the index spans agencies; the queue does not


def test_the_index_follows_summaries_that_change_or_go(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "su")
    case, _ = write_in(client, db, tenant, "龙门乡青龙场村道路塌方")
    agency_id = tenant.agency.id
    db.execute(update(Case).where(Case.id == case.id).values(summary="宝兴县灵关镇缺帐篷"))
    assert _found(db, agency_id, "龙门乡") == [] and _found(db, agency_id, "灵关镇") == ["宝兴县灵关镇缺帐篷"]
    db.execute(delete(Case).where(Case.id == case.id))
    assert _found(db, agency_id, "灵关镇") == []


def test_the_search_reads_the_index_not_every_summary(db: Session) -> None:
    query = summary_contains("龙门乡")
    if db.bind.dialect.name == "sqlite":
        compiled = query.compile(db.bind, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "cases_summary_fts VIRTUAL TABLE INDEX" in plan, plan
        return
    with db.bind.connect() as connection:  # type: ignore[union-attr]
        connection.execute(text("SET enable_seqscan = off"))  # an empty table: ask whether the index can serve
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_cases_summary_trgm" in plan, plan
