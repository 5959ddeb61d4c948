"""Merge the three security branches of issue 3 (audit/history, RLS/API, account policies).

They were written in parallel on top of 0004; whatever order Alembic applied them in,
every table in an audited schema must carry the audit trigger afterwards.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = ("0005", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT audit.attach_all()")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
