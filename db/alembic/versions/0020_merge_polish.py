"""Merge the second round of parallel branches on 0015: change-set replies and carried
restrictions (0016, issue 5), pipelined dossier uploads and audited outputs (0017,
issue 6), account editing and paged administration lists (0018, issue 7), and search
typos (0019, issue 4).

As after every merge, every table in an audited schema must carry the audit trigger.

Revision ID: 0020
"""

from alembic import op

revision = "0020"
down_revision = ("0016", "0017", "0018", "0019")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT audit.attach_all()")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
