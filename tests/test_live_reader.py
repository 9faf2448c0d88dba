"""Live streams authenticate on a read-only session: they answer while another writer holds SQLite's lock."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import create_tenant, login
from wenzheng.config import get_settings


def test_the_live_queue_answers_while_the_database_is_being_written(
    client: TestClient, db: Session, is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("SQLite's single write lock is what this is about")
    tenant = create_tenant(db, "live")
    login(client, tenant.operator.username)
    path = get_settings().sqlite_path()
    assert path is not None
    writer = sqlite3.connect(path, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        with client.stream("GET", f"/console/agencies/{tenant.agency.id}/cases/events") as stream:
            assert stream.status_code == 200
            first = next(stream.iter_lines())
    finally:
        writer.rollback()
        writer.close()
    assert first == "retry: 1000"


def test_the_live_queue_still_needs_a_login(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "live2")
    answer = client.get(f"/console/agencies/{tenant.agency.id}/cases/events", headers={"Accept": "application/json"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
