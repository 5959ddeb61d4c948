"""The audit chain's integrity check in short, cancellable steps whose state the server
keeps (admin.audit_verify_start / _step / _cancel, issue 7 polish).

Revision ID: 0022
"""

from app.store.sql_files import run_sql_file

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0022_audit_verify_chunks.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
