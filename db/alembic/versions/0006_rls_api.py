"""Read rights, row-level security by area, the write API and viewport reads.

The SQL lives in db/sql/0006_rls_api.sql; this revision substitutes the deployment's CRS
(recorded in sys.setting by revision 0002) into the viewport functions.

Revision ID: 0006
"""

from alembic import op
from sqlalchemy import text

from app.store.sql_files import run_sql_file

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = op.get_bind().execute(text("SELECT value FROM sys.setting WHERE key = 'srid'")).scalar()
    run_sql_file("0006_rls_api.sql", {"@SRID@": str(int(srid))})


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
