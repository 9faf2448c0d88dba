"""Alembic environment: runs against the connection handed in by ``wenzheng.migrate``, or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import wenzheng.models  # noqa: F401 - registers every table on the metadata
from wenzheng.db import Base, make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with make_engine().connect() as fresh:
        _run(fresh)
