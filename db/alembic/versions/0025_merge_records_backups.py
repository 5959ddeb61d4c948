"""Merge the parallel branches on 0021: the audit integrity check in server-side steps
(0022, issue 7), the accounts search on a stored folded column (0023, issue 7), and
rights transfers, mortgages and certificates as change-set items (0024, issue 5).

As after every merge, every table in an audited schema must carry the audit trigger.

Revision ID: 0025
"""

from alembic import op

revision = "0025"
down_revision = ("0022", "0023", "0024")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT audit.attach_all()")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
