"""Party corrections and household members are applied at approval in one stated order
(one trigger), not in the order two triggers' names happen to sort (issue 5).

Revision ID: 0030
"""

from app.store.sql_files import run_sql_file

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0030_party_apply_order.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
