"""Official records change only through an approved change set: the direct write API of
issue 3 (api.update_parcel, set_land_uses, create_party, update_party, grant_right,
end_right, issue_certificate) refuses with 42501 and points to the change sets; correcting a
party's details becomes a change-set item (op 'party', api.cs_draft_party).

The SQL lives in db/sql/0027_records_only_through_change_sets.sql.

Revision ID: 0027
"""

from app.store.sql_files import run_sql_file

revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0027_records_only_through_change_sets.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
