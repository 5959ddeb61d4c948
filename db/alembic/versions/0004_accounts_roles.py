"""Accounts and the role model: owner role, group roles per subsystem and kind, accounts.

Revision ID: 0004
"""

from app.store.sql_files import run_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0004_accounts_roles.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
