"""Administration module reads: account overview, duplicate-person lookup, rights preview,
policies, audit search and verification, account/activity/login reports (issue 7).

Revision ID: 0013
"""

from app.store.sql_files import run_sql_file

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0013_admin_reports.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
