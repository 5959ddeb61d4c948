"""Backups and restores in the administrators' reports, with the age of the newest backup
(the regulations ask for daily backups and logged restores).

Revision ID: 0026
"""

from app.store.sql_files import run_sql_file

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0026_backup_report.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
