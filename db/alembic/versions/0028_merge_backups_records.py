"""Merge the parallel branches on 0025: the administrators' backup report (0026) and
official records changed only through approved change sets, with party corrections as
change-set items (0027).

As after every merge, every table in an audited schema must carry the audit trigger.

Revision ID: 0028
"""

from alembic import op

revision = "0028"
down_revision = ("0026", "0027")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT audit.attach_all()")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
