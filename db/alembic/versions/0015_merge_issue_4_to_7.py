"""Merge the branches written in parallel on top of 0009: map and search speed (0010,
0014, issue 4), change sets (0011, issue 5), scanned dossier storage (0012, issue 6) and
the administration reports (0013, issue 7).

Whatever order Alembic applied them in, every table in an audited schema must carry the
audit trigger afterwards (the dossier bytes live in doc_blob, outside the audited
schemas, on purpose: see 0012).

Revision ID: 0015
"""

from alembic import op

revision = "0015"
down_revision = ("0011", "0012", "0013", "0014")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT audit.attach_all()")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
