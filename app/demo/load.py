"""Load a generated demo province into a migrated LandRec database.

Bulk rows go in with COPY (one round trip per table, geometry as hex EWKB); surrogate
keys are assigned here so rows can reference each other without reading ids back, and
the identity sequences are moved past them at the end. Everything happens in one
transaction: a failed load leaves the store as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import psycopg
import shapely

from app.errors import UserFacingError
from app.store.migrate import head_revision

Progress = Callable[[str], None]

#: Tables the demo fills, children before parents for deletion order (reversed to load).
DATA_TABLES = (
    "doc.document_link", "doc.document",
    "inv.result", "inv.period",
    "plan.zone", "plan.land_use_plan",
    "price.parcel_position", "price.depth_band", "price.zone_price", "price.segment_price",
    "price.price_table", "price.zone", "price.road_segment", "price.road",
    "cad.change_item_geom", "cad.change_item",
    "cad.mortgage", "cad.parcel_lineage", "cad.mutation_parcel", "cad.mutation",
    "cad.restriction",
    "cad.asset", "cad.land_right", "cad.certificate_parcel", "cad.certificate",
    "cad.party_member", "cad.party", "cad.land_use", "cad.parcel_old_key", "cad.parcel",
    "cad.map_sheet", "ref.admin_unit_succession", "ref.admin_unit",
)  # fmt: skip

#: Earlier versions of records (issue 3 history); emptied with the records on --replace.
HISTORY_TABLES = (
    "hist.parcel", "hist.land_use", "hist.land_right", "hist.certificate", "hist.mortgage",
)  # fmt: skip


@dataclass
class LoadReport:
    skipped: bool = False
    existing_parcels: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def ewkb_hex(geoms: np.ndarray, srid: int) -> np.ndarray:
    """Hex EWKB with the SRID, which COPY casts to geometry without a function call."""
    return shapely.to_wkb(shapely.set_srid(np.asarray(geoms), srid), hex=True, include_srid=True)


def copy_rows(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]
) -> int:
    """COPY rows into table(columns); returns the row count. None becomes NULL."""
    n = 0
    cols = ", ".join(columns)
    with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def check_migrated(conn: psycopg.Connection) -> None:
    version = None
    if conn.execute("SELECT to_regclass('sys.alembic_version')").fetchone()[0]:
        rows = conn.execute("SELECT version_num FROM sys.alembic_version").fetchall()
        version = "+".join(sorted(r[0] for r in rows)) or None
    if version != head_revision():
        raise UserFacingError(
            f"the database schema is at {version or 'nothing'}, not {head_revision()}; "
            "run 'landrec db migrate' first"
        )


def reset_identities(conn: psycopg.Connection) -> None:
    """Move every identity sequence of the demo tables past the ids we assigned."""
    for table in DATA_TABLES:
        seq = (
            conn.execute(
                "SELECT pg_get_serial_sequence(%s, 'id')",
                (table,),
            ).fetchone()[0]
            if _has_id(conn, table)
            else None
        )
        if seq:
            conn.execute(
                f"SELECT setval(%s, coalesce((SELECT max(id) FROM {table}), 0) + 1, false)",
                (seq,),
            )


def _has_id(conn: psycopg.Connection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        conn.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND column_name = 'id'",
            (schema, name),
        ).fetchone()
    )


def begin_versions(province) -> None:
    """Give demo records the version start a migration gives existing rows (issue 3
    history): a parcel's version began when it was created, its purposes and rights with
    it, a certificate on its issue date. Without this every demo record would begin at the
    load, and "as of" any earlier date would show an empty province."""
    tables = province.tables
    parcels = tables.get("cad.parcel")
    if parcels is None or "created_at" not in parcels.columns:
        return
    created = list(parcels.columns["created_at"])
    parcels.columns["version_from"] = created
    created_of = dict(zip(np.asarray(parcels.columns["id"]).tolist(), created, strict=True))
    for name in ("cad.land_use", "cad.land_right"):
        table = tables.get(name)
        if table is not None and len(table):
            ids = np.asarray(table.columns["parcel_id"]).tolist()
            table.columns["version_from"] = [created_of[i] for i in ids]
    certificates = tables.get("cad.certificate")
    if certificates is not None and len(certificates):
        certificates.columns["version_from"] = list(certificates.columns["issued_on"])


def load_demo_province(
    dsn: str,
    parcels: int = 30_000,
    seed: int = 1,
    if_empty: bool = False,
    replace: bool = False,
    progress: Progress = lambda _msg: None,
) -> LoadReport:
    report = LoadReport()
    # Autocommit outside the one explicit transaction, so ANALYZE can run after it.
    with psycopg.connect(dsn, connect_timeout=10, autocommit=True) as conn:
        check_migrated(conn)
        existing = conn.execute("SELECT count(*) FROM cad.parcel").fetchone()[0]
        if existing and if_empty:
            return LoadReport(skipped=True, existing_parcels=existing)
        if existing and not replace:
            raise UserFacingError(
                f"the store already holds {existing:,} parcels; use --replace to delete all "
                "records and load the demo again, or --if-empty to keep them"
            )
        srid = int(conn.execute("SELECT value FROM sys.setting WHERE key = 'srid'").fetchone()[0])

        t0 = time.perf_counter()
        progress(f"generating {parcels:,} parcels (seed {seed}, EPSG:{srid}) …")
        from app.demo.province import generate_province

        province = generate_province(parcels=parcels, seed=seed, srid=srid)
        begin_versions(province)
        report.timings["generate"] = time.perf_counter() - t0

        with conn.transaction():
            # A bulk load is one audited event, not one audit entry and history check per
            # COPYed row: replica mode switches off ordinary triggers (audit, history; also
            # foreign-key checks, so the generator's keys are trusted) for this transaction
            # only. It needs a superuser, which the demo loader is.
            conn.execute("SET LOCAL session_replication_role = replica")
            if existing:
                progress("deleting existing records …")
                # Accounts' areas name the communes being replaced: they go too (run
                # 'landrec demo-accounts' again); accounts themselves stay.
                conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)}, sys.account_area")
                # Versions of the deleted records would describe ids the new load reuses.
                conn.execute(f"TRUNCATE {', '.join(HISTORY_TABLES)}")
            t1 = time.perf_counter()
            from app.demo.tables import write_province

            report.rows = write_province(conn, province, srid, progress)
            reset_identities(conn)
            # The land-use trigger is off in replica mode: derive the map's codes once.
            conn.execute("SELECT cad.refresh_main_land_use(NULL)")
            conn.execute(
                "SELECT audit.log_event('BULK_LOAD', 'demo province', %s::jsonb)",
                (
                    json.dumps(
                        {
                            "parcels": parcels,
                            "seed": seed,
                            "replaced": existing,
                            "rows": report.rows,
                        }
                    ),
                ),
            )
            report.timings["copy"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        progress("analysing tables …")
        for table in DATA_TABLES:
            conn.execute(f"ANALYZE {table}")
        report.timings["analyse"] = time.perf_counter() - t2
    return report
