"""Migrations: an empty database upgrades to head on this engine, and the models agree with it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from tests.conftest import PG_ADMIN_URL, _create_pg_database, _drop_pg_database
from wenzheng.db import make_engine
from wenzheng.migrate import alembic_config, current_revision, upgrade
from wenzheng.models import Base


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


EXPRESSION_INDEXES = {"ix_cases_queue_order"}
# Search structures each engine has and the models do not describe (migration 0015): SQLite's FTS5 table with
# its shadow tables, PostgreSQL's pg_trgm index.
SEARCH_OBJECTS = ("cases_summary_fts", "ix_cases_summary_trgm")


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    if engine.dialect.name == "sqlite":
        # SQLite's reflection reads a descending index column as a plain one, so an index with an expression
        # (ix_cases_queue_order's "score DESC") always looks changed there; PostgreSQL compares it for real.
        diff = [d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in EXPRESSION_INDEXES)]
    diff = [d for d in diff if not (d[0] in ("remove_table", "remove_index") and d[1].name.startswith(SEARCH_OBJECTS))]
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_revisions_are_numbered() -> None:
    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        assert script.revision.isdigit() and len(script.revision) == 4, script.revision


def test_empty_database_upgrades_to_head(tmp_path: object) -> None:
    if PG_ADMIN_URL:
        name, url = _create_pg_database(PG_ADMIN_URL)
    else:
        url = f"sqlite:///{tmp_path}/empty.db"
    fresh = make_engine(url=url)
    try:
        upgrade(fresh)
        upgrade(fresh)  # a second run is a no-op, not an error
        assert current_revision(fresh) == _head()
        tables = set(inspect(fresh).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
    finally:
        fresh.dispose()
        if PG_ADMIN_URL:
            _drop_pg_database(PG_ADMIN_URL, name)


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: object) -> None:
    sqlite = make_engine(url=f"sqlite:///{tmp_path}/pragmas.db")
    with sqlite.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    sqlite.dispose()
