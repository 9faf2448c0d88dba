"""case summary search: a trigram index, so that a rare word is found without reading every case

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:10:00

SQLite: an FTS5 table with the trigram tokenizer over cases.summary (external content: it keeps the index,
not a second copy of the text), kept in step by triggers. A later migration that rebuilds ``cases`` on SQLite
(batch_alter_table) drops the triggers with the old table and must create them again (``_TRIGGERS``).
PostgreSQL: a GIN index with pg_trgm's operator class, which LIKE '%…%' uses by itself. pg_trgm is a trusted
extension from PostgreSQL 13; where the role may not create it, the index is left out and search still works,
by reading every summary.
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

_TRIGGERS = (
    """CREATE TRIGGER cases_summary_fts_insert AFTER INSERT ON cases BEGIN
        INSERT INTO cases_summary_fts(rowid, summary) VALUES (new.id, new.summary);
    END""",
    """CREATE TRIGGER cases_summary_fts_delete AFTER DELETE ON cases BEGIN
        INSERT INTO cases_summary_fts(cases_summary_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
    END""",
    """CREATE TRIGGER cases_summary_fts_update AFTER UPDATE OF summary ON cases BEGIN
        INSERT INTO cases_summary_fts(cases_summary_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
        INSERT INTO cases_summary_fts(rowid, summary) VALUES (new.id, new.summary);
    END""",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE cases_summary_fts USING fts5("
            "summary, content='cases', content_rowid='id', tokenize='trigram')"
        )
        op.execute("INSERT INTO cases_summary_fts(cases_summary_fts) VALUES ('rebuild')")
        for trigger in _TRIGGERS:
            op.execute(trigger)
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as error:
        logger.warning("pg_trgm is not available (%s): case search will read every summary", error.orig)
        return
    op.execute("CREATE INDEX ix_cases_summary_trgm ON cases USING gin (summary gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS cases_summary_fts_{name}")
        op.execute("DROP TABLE IF EXISTS cases_summary_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_cases_summary_trgm")
