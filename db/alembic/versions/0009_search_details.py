"""Search and the parcel panel: api.search, api.parcel_details, api.reveal_personal_id,
api.parcel_history and the indexes they need (issue 4).

Revision ID: 0009
"""

from app.store.sql_files import run_sql_file

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0009_search_details.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
