"""The map's land-use code stored on the parcel (cad.parcel.main_land_use), kept by a
cad.land_use trigger, read by api.parcels_in_bbox (issue 4, map speed).

Revision ID: 0010
"""

from alembic import op
from sqlalchemy import text

from app.store.sql_files import run_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = op.get_bind().execute(text("SELECT value FROM sys.setting WHERE key = 'srid'")).scalar()
    run_sql_file("0010_map_land_use.sql", {"@SRID@": str(int(srid))})


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
