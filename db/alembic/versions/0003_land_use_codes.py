"""Reference data: land-use codes of TT 08/2024 and the legacy TT 27/2018 codes.

Loaded from db/ref/land_use_codes.csv (a copy of shared/domain/land_use_codes.csv).
Legacy rows ``legacy->X`` record the current code X they usually map to.

Revision ID: 0003
"""

import csv
from pathlib import Path

from alembic import op
from sqlalchemy import text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CSV_FILE = Path(__file__).resolve().parents[2] / "ref" / "land_use_codes.csv"


def read_codes() -> list[dict[str, str | None]]:
    with CSV_FILE.open(encoding="utf-8", newline="") as f:
        rows = []
        for row in csv.DictReader(f):
            status, _, maps_to = row["status"].partition("->")
            rows.append(
                {
                    "code": row["code"],
                    "name_vi": row["name_vi"],
                    "group_code": row["group"],
                    "group_name_vi": row["group_name_vi"],
                    "status": status,
                    "maps_to": maps_to or None,
                }
            )
    return rows


def upgrade() -> None:
    rows = read_codes()
    bind = op.get_bind()
    # Current codes first: legacy rows reference them.
    rows.sort(key=lambda r: r["status"] != "current")
    bind.execute(
        text(
            "INSERT INTO ref.land_use_code "
            "(code, name_vi, group_code, group_name_vi, status, maps_to) "
            "VALUES (:code, :name_vi, :group_code, :group_name_vi, :status, :maps_to)"
        ),
        rows,
    )


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
