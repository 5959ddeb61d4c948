"""Party search in the database (api.search_parties: name without diacritics or document
number, area rule, masked documents, the parcels held) and household / couple members as a
change-set item (op 'party_members', api.cs_draft_party_members, applied at approval).

The SQL lives in db/sql/0029_party_search_members.sql.

Revision ID: 0029
"""

from app.store.sql_files import run_sql_file

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0029_party_search_members.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
