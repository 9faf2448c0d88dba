"""The database: engine, sessions, the declarative base and the types every model shares.

SQLite is the embedded default (WAL, foreign keys on, a busy timeout); PostgreSQL is the engine for
scale. Both are reached through the same SQLAlchemy 2 code.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from wenzheng.config import Settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both engines (SQLite keeps no zone, so it is stored as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, synchronous: str = "FULL") -> None:
    """WAL, foreign keys, a busy timeout, and transactions SQLAlchemy controls (needed for SAVEPOINT)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: a commit reaches the disk before it returns, so a message acknowledged to its channel survives a
        # power loss, not only a crash of the process (NORMAL in WAL mode may lose the last commits). The intake
        # writer commits pushes in batches, so the fsync is paid once per batch, with the GIL released.
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        if options.get("wz_read_only"):
            connection.exec_driver_sql("BEGIN")  # a reader in WAL takes no lock and blocks no writer
            return
        # IMMEDIATE takes the write lock at the start, so two writers queue on the busy timeout
        # instead of failing half-way with "database is locked".
        _begin_immediate(connection, busy_timeout_ms)


WRITE_LOCK_POLL_SECONDS = 0.0005


def _begin_immediate(connection: Any, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting for another writer by polling every half millisecond.

    SQLite's own busy handler naps in growing steps (up to 100 ms at a time), so a writer that has waited a
    while keeps missing the moments the lock is free, and a process that writes back to back (a worker going
    from job to job) starves the others (the intake writer: its pushes unanswered for seconds). Polling finely
    takes the lock within a fraction of a millisecond of its release, whoever held it.
    """
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + busy_timeout_ms / 1000
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    break
            time.sleep(WRITE_LOCK_POLL_SECONDS)
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # once more, to fail as SQLAlchemy reports it
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def make_engine(settings: Settings | None = None, *, url: str | None = None, **kwargs: Any) -> Engine:
    settings = settings or get_settings()
    url = url or settings.database_url
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms, settings.sqlite_synchronous)
        return engine
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("application_name", f"wenzheng:{os.getpid()}")
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


_engine: Engine | None = None
_session_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = make_engine()
    return _engine


def session_factory() -> sessionmaker[Session]:
    global _session_factory
    if _session_factory is None:
        from wenzheng.assessments.tasks import install_triage_trigger
        from wenzheng.audit.actions import install_audit_guard

        install_audit_guard()
        install_triage_trigger()
        _session_factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    return _session_factory


def reset_engine() -> None:
    """Drop the cached engine (after the settings change, in tests and the CLI)."""
    global _engine, _session_factory
    if _engine is not None:
        _engine.dispose()
    _engine = None
    _session_factory = None


@contextmanager
def read_scope() -> Iterator[Session]:
    """A session for reading only (long-lived pollers): on SQLite it never takes the write lock."""
    session = Session(bind=get_engine().execution_options(wz_read_only=True), expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for work outside a request: commits on success, rolls back on any error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: object) -> int:
    """Rows an INSERT, UPDATE or DELETE touched (a CursorResult's rowcount; typed as the plain Result it comes as)."""
    return int(getattr(result, "rowcount", 0) or 0)
