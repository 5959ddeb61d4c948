"""Change-set polish (issue 5): draft replies carry the change set (one round trip per
edit action); a split's or merge's children carry the parents' restrictions in force.

The SQL lives in db/sql/0016_change_set_polish.sql.

Revision ID: 0016
"""

from app.store.sql_files import run_sql_file

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0016_change_set_polish.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
