"""api.search: when neither the typed nor the corrected name finds anyone, try the
words with one swapped for a near syllable (a typo that made another real syllable).

Revision ID: 0019
"""

from app.store.sql_files import run_sql_file

revision = "0019"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0019_search_typos.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
