"""Indexed account text search in admin.account_page (issue 7); change sets carry their
author's and decider's full name and unit (issue 5).

Revision ID: 0021
"""

from app.store.sql_files import run_sql_file

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0021_names_and_search.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
