"""api.search: the owner-name step split per path so officers' searches stop at the
limit (issue 4, search speed).

Revision ID: 0014
"""

from app.store.sql_files import run_sql_file

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0014_search_speed.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
