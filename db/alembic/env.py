"""Alembic environment for LandRec.

Run through ``landrec db migrate`` (app/store/migrate.py), which hands us an open
SQLAlchemy connection and the deployment SRID in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

config = context.config
connection = config.attributes["connection"]

# The version table lives with the settings, away from the public schema.
connection.execute(text("CREATE SCHEMA IF NOT EXISTS sys"))
context.configure(
    connection=connection,
    version_table_schema="sys",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
