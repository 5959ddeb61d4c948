"""Schema v1: reference data, cadastral records, land price, planning, inventory, documents.

The SQL lives in db/sql/0001_schema_v1.sql; this revision substitutes the deployment's
province CRS, which must be a projected VN-2000 CRS known to spatial_ref_sys.

Revision ID: 0002
"""

from alembic import context, op
from sqlalchemy import text

from app.store.sql_files import run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = int(context.config.attributes["srid"])
    bind = op.get_bind()
    known = bind.execute(
        text("SELECT srtext LIKE 'PROJCS[\"VN-2000%' FROM spatial_ref_sys WHERE srid = :s"),
        {"s": srid},
    ).scalar()
    if not known:
        raise ValueError(
            f"EPSG:{srid} is not a VN-2000 projected CRS known to this store; "
            "choose the province's VN-2000 / TM-3 zone (e.g. 9212 for Bình Phước)"
        )
    run_sql_file("0001_schema_v1.sql", {"@SRID@": str(srid)})


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
