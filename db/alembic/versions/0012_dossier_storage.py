"""Scanned dossiers: chunked content-addressed file storage, resumable uploads, document
versions and the dossier API (issue 6).

Revision ID: 0012
"""

from app.store.sql_files import run_sql_file

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0012_dossier_storage.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
