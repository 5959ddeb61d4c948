"""Scanned dossiers, polish (issue 6): version facts for the supersede UI, the folder
import's parcel lookup as a definer function (dossier editor right + area, no cadastral
read right needed), and prints/exports audited as part of the operation.

Revision ID: 0017
"""

from app.store.sql_files import run_sql_file

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0017_dossier_polish.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
