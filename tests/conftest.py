"""Test fixtures: a fresh migrated database per run (SQLite by default, PostgreSQL under make test-pg).

``WENZHENG_TEST_DATABASE_URL`` names a PostgreSQL server database to connect through (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the suite creates its own database beside it
and drops it at the end. Each test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from wenzheng import db as wz_db
from wenzheng.config import get_settings, reset_settings_cache
from wenzheng.migrate import upgrade
from wenzheng.models import Base

PG_ADMIN_URL = os.environ.get("WENZHENG_TEST_DATABASE_URL", "")


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"wz_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_ADMIN_URL:
        name, url = _create_pg_database(PG_ADMIN_URL)
        yield url
        wz_db.reset_engine()
        _drop_pg_database(PG_ADMIN_URL, name)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "wenzheng-test.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session", autouse=True)
def test_settings(database_url: str) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("WENZHENG_")}
    os.environ["WENZHENG_DATABASE_URL"] = database_url
    os.environ["WENZHENG_MODE"] = "test"
    os.environ["WENZHENG_JOBS_INLINE"] = "true"
    os.environ["WENZHENG_SQLITE_SYNCHRONOUS"] = "NORMAL"  # power-loss durability is not what the tests check
    reset_settings_cache()
    wz_db.reset_engine()
    upgrade(wz_db.get_engine())
    wz_db.session_factory()  # installs the session hooks every process has: the audit guard, the triage trigger
    yield
    wz_db.reset_engine()
    for key in [k for k in os.environ if k.startswith("WENZHENG_")]:
        del os.environ[key]
    os.environ.update(saved)
    reset_settings_cache()


@pytest.fixture
def engine() -> Engine:
    return wz_db.get_engine()


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Every test starts from an empty, migrated schema (and no cached channel bindings)."""
    from wenzheng.assessments.tasks import forget_cluster_indexes
    from wenzheng.autoreplies.match import forget_rules
    from wenzheng.cases.calendar import forget_calendars
    from wenzheng.channels.wechat.bindings import forget_bindings

    forget_bindings()
    forget_cluster_indexes()
    forget_calendars()
    forget_rules()
    yield
    engine = wz_db.get_engine()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(3):
        try:
            _empty(engine, tables)
            return
        except OperationalError as exc:
            # A live server's job thread may still be finishing a transaction (a bulletin delivery retrying, say):
            # PostgreSQL then breaks the deadlock by failing our TRUNCATE, which can simply run again.
            if "deadlock" not in str(exc).lower() or attempt == 2:
                raise


def _empty(engine: Engine, tables: list[str]) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db() -> Iterator[Session]:
    """A session for arranging and checking: each statement commits on its own, so the test never holds
    a transaction (or SQLite's write lock) while the app under test works, and always reads fresh data."""
    engine = wz_db.get_engine().execution_options(isolation_level="AUTOCOMMIT")
    session = Session(bind=engine, expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture
def tx_db() -> Iterator[Session]:
    """A session with real transactions, as the app uses them."""
    session = wz_db.session_factory()()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def with_a_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Jobs wait for a worker, as in production (the suite otherwise runs them inline)."""
    monkeypatch.setenv("WENZHENG_JOBS_INLINE", "false")
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture
def is_postgres() -> bool:
    return get_settings().database_url.startswith("postgresql")


@pytest.fixture
def client() -> Iterator[TestClient]:
    from wenzheng.app import create_app

    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    from wenzheng.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
