"""Tamper-evident audit log (hash chain, partitioned by year) and versioned history.

Revision ID: 0005
"""

from app.store.sql_files import run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_audit_history.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
