"""Transfers of rights, mortgages and certificates as change-set items (issue 5 gap):
cad.mortgage with history, audit and the area rule; approving a split or merge revokes the
parents' certificates.

The SQL lives in db/sql/0024_rights_mortgages_certificates.sql.

Revision ID: 0024
"""

from app.store.sql_files import run_sql_file

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0024_rights_mortgages_certificates.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
