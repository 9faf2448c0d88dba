"""SQLite's write lock: a writer that finds it taken polls for it finely, takes it once it is free, and gives up
with the usual error after the busy timeout."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from wenzheng import db as wz_db
from wenzheng.config import get_settings


@pytest.fixture
def sqlite_file(is_postgres: bool) -> Iterator[Path]:
    if is_postgres:
        pytest.skip("SQLite's single write lock is what this is about")
    path = get_settings().sqlite_path()
    assert path is not None
    yield path


@pytest.fixture
def another_writer(sqlite_file: Path) -> Iterator[sqlite3.Connection]:
    """Another process in the middle of a write."""
    holder = sqlite3.connect(sqlite_file, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.rollback()
    holder.close()


def test_a_writer_takes_the_lock_once_it_is_free(
    another_writer: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    polling = threading.Event()

    def pause(seconds: float) -> None:
        polling.set()
        time.sleep(seconds)

    monkeypatch.setattr(wz_db, "time", SimpleNamespace(monotonic=time.monotonic, sleep=pause))
    began: list[bool] = []

    def write() -> None:
        with wz_db.session_factory()() as session:
            session.connection()  # BEGIN IMMEDIATE
            began.append(True)
            session.rollback()

    writer = threading.Thread(target=write)
    writer.start()
    assert polling.wait(timeout=30)  # it found the lock taken, and waits for it
    assert not began
    another_writer.rollback()  # the other writer is done
    writer.join(timeout=30)
    assert began == [True]


def test_a_writer_gives_up_after_the_busy_timeout(another_writer: sqlite3.Connection) -> None:
    engine = wz_db.make_engine(get_settings().model_copy(update={"sqlite_busy_timeout_ms": 50}))
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), engine.begin():
            pass
        assert time.monotonic() - started < 5
        another_writer.rollback()
        with engine.begin() as connection:  # free now; and the connection keeps its busy timeout
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 50
    finally:
        engine.dispose()


@pytest.mark.parametrize(("setting", "pragma"), [("FULL", 2), ("NORMAL", 1)])
def test_commits_reach_the_disk_as_the_setting_says(
    tmp_path: Path, is_postgres: bool, setting: str, pragma: int
) -> None:
    """FULL by default: an acknowledged message must survive a power loss, not only a crash of the process."""
    if is_postgres:
        pytest.skip("a SQLite pragma")
    from wenzheng.config import Settings

    assert Settings.model_fields["sqlite_synchronous"].default == "FULL"  # the tests themselves run with NORMAL
    settings = Settings(database_url=f"sqlite:///{tmp_path}/sync.db", sqlite_synchronous=setting)
    engine = wz_db.make_engine(settings)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == pragma
    finally:
        engine.dispose()
