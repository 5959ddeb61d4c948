"""Account text search reads a stored folded column instead of folding every account per
query under a planner override (issue 7).

Revision ID: 0023
"""

from app.store.sql_files import run_sql_file

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0023_account_search_column.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
