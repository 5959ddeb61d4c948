"""Change sets (biến động): drafts, one server-side validation, submit, approve/reject
with atomic apply, optimistic version checks (issue 5).

The SQL lives in db/sql/0011_change_sets.sql; this revision substitutes the deployment's
CRS (recorded in sys.setting by revision 0002) into the draft geometry table.

Revision ID: 0011
"""

from alembic import op
from sqlalchemy import text

from app.store.sql_files import run_sql_file

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = op.get_bind().execute(text("SELECT value FROM sys.setting WHERE key = 'srid'")).scalar()
    run_sql_file("0011_change_sets.sql", {"@SRID@": str(int(srid))})


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
