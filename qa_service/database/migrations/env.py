"""Alembic environment: always given a connection by qa_service.database.migrate.upgrade."""

from __future__ import annotations

from alembic import context

from qa_service.database.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through qa_service.database.migrate.upgrade")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
