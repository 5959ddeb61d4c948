"""VN-2000 TM-3 coordinate systems missing from PostGIS 3.3 (DESIGN P3).

PostGIS 3.3 ships EPSG 5897–5899 but not 9205–9218. We take their definitions from PROJ
(pyproj) and add the VN-2000 → WGS 84 shift in position-vector form, which is what
PostGIS' own 5897–5899 rows use (many public snippets have the rotation signs wrong).

Revision ID: 0001
"""

import warnings

from alembic import op
from pyproj import CRS
from sqlalchemy import text

from app.config import VN2000_TM3_SRIDS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TOWGS84 = (
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,"
    "0.00928836,-0.01975479,0.00427372,0.252906278"
)


def proj4_with_datum_shift(crs: CRS) -> str:
    with warnings.catch_warnings():  # "you will likely lose information": we add it back
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    parts = [p for p in proj4.split() if p not in ("+type=crs", "+no_defs")]
    return " ".join([*parts, TOWGS84, "+no_defs"])


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    for srid in VN2000_TM3_SRIDS:
        crs = CRS.from_epsg(srid)
        bind.execute(
            text(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                "VALUES (:srid, 'EPSG', :srid, :wkt, :proj4) ON CONFLICT (srid) DO NOTHING"
            ),
            {
                "srid": srid,
                "wkt": crs.to_wkt("WKT1_GDAL"),
                "proj4": proj4_with_datum_shift(crs),
            },
        )


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
