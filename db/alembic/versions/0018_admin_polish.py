"""Administration module, second pass: admin.update_account, Vietnamese state words in the
account messages, paged account list, indexed audit search, accounts report by normalised
unit, the lockout agent's heartbeat (issue 7).

Revision ID: 0018
"""

from app.store.sql_files import run_sql_file

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0018_admin_polish.sql")


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
