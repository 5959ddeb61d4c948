"""A one-glance summary of a LandRec store: versions, CRS, who is connected, record counts.

Qt-free; the desktop client calls :func:`fetch_summary` from a worker thread and
:func:`ping` every few seconds to show the connection state.

Everything is read with **one SQL statement** (one round trip, which matters over the
provincial WAN). Tables that do not exist yet, or that the connected role may not read,
are skipped without an error: each dynamic part goes through ``query_to_xml`` so that
the statement only ever names relations that exist and are readable.

Counts are exact (``count(*)``) while a table is estimated to hold fewer than
:data:`EXACT_COUNT_LIMIT` rows; larger tables report the planner's estimate
(``pg_class.reltuples`` scaled to the table's current size, as the planner does) and are
listed in :attr:`StoreSummary.approximate`. A count only ever sees the rows the role may
see (row-level security applies).
"""

from __future__ import annotations

import json
import re
import xml.sax.saxutils
from dataclasses import dataclass, field

import psycopg
from psycopg.conninfo import conninfo_to_dict

#: Tables summarised, in display order. Names are fixed by the schema (db/sql).
SUMMARY_TABLES: tuple[str, ...] = (
    "ref.admin_unit",
    "cad.map_sheet",
    "cad.parcel",
    "cad.party",
    "cad.certificate",
    "cad.land_right",
    "cad.mutation",
    "price.road_segment",
    "plan.zone",
    "inv.period",
    "doc.document",
)

#: Above this many (estimated) rows a table's count is the planner estimate, not count(*).
EXACT_COUNT_LIMIT = 200_000

#: Seconds allowed to open the connection (unreachable server) and to run the statement.
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 8_000


@dataclass(frozen=True)
class StoreSummary:
    """What the client shows before the map: which store, which CRS, how much data."""

    server_version: str  # e.g. "15.18 (Debian 15.18-0+deb12u1)"
    postgis_version: str | None  # extension version, None when PostGIS is not installed
    srid: int | None  # deployment CRS from sys.setting 'srid' (None: not set yet)
    database: str
    user: str  # session_user: the person signed in (audit identity)
    host: str  # as the client reached it ("127.0.0.1", a socket dir, a host name)
    port: int
    province: str | None = None  # name of the single province unit in force, if any
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows (present tables)
    approximate: frozenset[str] = frozenset()  # tables whose count is an estimate

    @property
    def address(self) -> str:
        """``user@host:port`` as shown in the status bar."""
        host = self.host
        if host.startswith("/"):  # Unix socket directory: say so rather than show a path
            host = "localhost"
        return f"{self.user}@{host}:{self.port}"


class StoreUnavailable(Exception):
    """The store could not be reached or refused the connection; ``str()`` says why."""

    def __init__(self, message: str, *, auth_failed: bool = False) -> None:
        super().__init__(message)
        #: True when the server rejected the credentials. Callers must then stop
        #: re-trying on a timer: repeated failed logins lock the account (DESIGN P5).
        self.auth_failed = auth_failed


_SQL = """
WITH rel AS (
    -- Names resolved through the catalogs, never through regclass input: a schema the role
    -- may not use must be skipped, and to_regclass() would raise "permission denied".
    SELECT w.ord, w.name, c.oid, c.relkind
    FROM unnest(%(tables)s::text[]) WITH ORDINALITY AS w(name, ord)
    JOIN pg_namespace n ON n.nspname = split_part(w.name, '.', 1)
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = split_part(w.name, '.', 2)
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND has_schema_privilege(n.oid, 'USAGE')
      AND has_table_privilege(c.oid, 'SELECT')
), est AS (
    -- The planner's way: tuples per page at the last ANALYZE times the pages now.
    -- NULL when the table was never analysed (reltuples = -1) or is a view.
    SELECT r.*,
           (SELECT sum(CASE WHEN l.reltuples < 0 THEN NULL
                            WHEN l.relpages = 0 THEN l.reltuples
                            ELSE l.reltuples / l.relpages
                                 * (pg_relation_size(l.oid)
                                    / current_setting('block_size')::bigint)
                       END)
            FROM (SELECT r.oid AS relid WHERE r.relkind <> 'p'
                  UNION ALL  -- a partitioned table: add up its leaf partitions
                  SELECT t.relid FROM pg_partition_tree(r.oid) t
                  WHERE t.isleaf AND r.relkind = 'p') AS part
            JOIN pg_class l ON l.oid = part.relid
           ) AS estimate
    FROM rel r
), counted AS (
    SELECT e.ord, e.name,
           (%(count)s AND (e.estimate IS NULL OR e.estimate < %(limit)s)) AS exact,
           CASE WHEN NOT %(count)s THEN round(e.estimate)::bigint  -- NULL: left out
                WHEN e.estimate IS NULL OR e.estimate < %(limit)s THEN
                (xpath('/row/n/text()',
                       query_to_xml(format('SELECT count(*) AS n FROM %%s', e.oid::regclass),
                                    false, true, '')))[1]::text::bigint
                ELSE round(e.estimate)::bigint
           END AS n
    FROM est e
), readable AS (
    SELECT n.nspname || '.' || c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname, c.relname) IN (('sys', 'setting'), ('ref', 'admin_unit'))
      AND has_schema_privilege(n.oid, 'USAGE')
      AND has_table_privilege(c.oid, 'SELECT')
)
SELECT current_setting('server_version') AS server_version,
       (SELECT extversion FROM pg_extension WHERE extname = 'postgis') AS postgis_version,
       current_database() AS database,
       session_user AS "user",
       CASE WHEN EXISTS (SELECT FROM readable WHERE name = 'sys.setting') THEN
            (xpath('/row/v/text()', query_to_xml(
                 $q$SELECT value #>> '{}' AS v FROM sys.setting WHERE key = 'srid'$q$,
                 false, true, '')))[1]::text
       END AS srid,
       CASE WHEN EXISTS (SELECT FROM readable WHERE name = 'ref.admin_unit') THEN
            (xpath('/row/v/text()', query_to_xml(
                 $q$SELECT CASE WHEN count(*) = 1 THEN min(name) END AS v
                    FROM ref.admin_unit
                    WHERE level = 'province'
                      AND valid_from <= current_date
                      AND (valid_to IS NULL OR valid_to > current_date)$q$,
                 false, true, '')))[1]::text
       END AS province,
       (SELECT coalesce(json_agg(json_build_array(name, n, exact) ORDER BY ord), '[]')
        FROM counted) AS counts
"""


def _connect_kwargs(dsn: str, connect_timeout: int, statement_timeout_ms: int) -> dict:
    """The DSN's parameters plus our timeouts, keeping any ``options`` the DSN already has.

    Timeouts travel in the startup packet (``options``): no extra round trip. A lock wait
    (a migration holding ACCESS EXCLUSIVE) must not stall the summary either.
    """
    params = conninfo_to_dict(dsn)
    params.setdefault("connect_timeout", str(connect_timeout))
    params.setdefault("application_name", "landrec")
    ours = f"-c statement_timeout={statement_timeout_ms} -c lock_timeout=2000"
    params["options"] = f"{params['options']} {ours}" if params.get("options") else ours
    return params


_AUTH_FAILURE = re.compile(
    r"authentication failed|no pg_hba\.conf entry|role .* does not exist|no password supplied"
)


def _unavailable(exc: Exception) -> StoreUnavailable:
    text = str(exc).strip() or exc.__class__.__name__
    sqlstate = getattr(exc, "sqlstate", None)
    auth = sqlstate in ("28P01", "28000") or bool(_AUTH_FAILURE.search(text))
    return StoreUnavailable(text.splitlines()[0], auth_failed=auth)


def fetch_summary(
    dsn: str,
    *,
    connect_timeout: int = CONNECT_TIMEOUT_S,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    tables: tuple[str, ...] = SUMMARY_TABLES,
    exact_limit: int = EXACT_COUNT_LIMIT,
) -> StoreSummary:
    """Read the summary of the store at ``dsn`` in one round trip.

    Raises :class:`StoreUnavailable` when the store cannot be reached, refuses the
    login, or the statement times out.
    """
    try:
        with psycopg.connect(
            **_connect_kwargs(dsn, connect_timeout, statement_timeout_ms), autocommit=True
        ) as conn:
            params = {"tables": list(tables), "limit": exact_limit, "count": True}
            try:
                row = conn.execute(_SQL, params).fetchone()
            except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable):
                # A count(*) was too slow (a view, a table never analysed, a lock held by a
                # migration): fall back to the catalogue estimates alone.
                row = conn.execute(_SQL, {**params, "count": False}).fetchone()
            host, port = conn.info.host, conn.info.port
    except psycopg.Error as exc:
        raise _unavailable(exc) from exc
    assert row is not None
    server_version, postgis_version, database, user, srid, province, counts_json = row
    counts: dict[str, int] = {}
    approximate: set[str] = set()
    entries = counts_json if isinstance(counts_json, list) else json.loads(counts_json)
    for name, n, exact in entries:
        if n is None:  # no estimate available and counting was abandoned
            continue
        counts[name] = int(n)
        if not exact:
            approximate.add(name)
    return StoreSummary(
        server_version=server_version,
        postgis_version=postgis_version,
        srid=_as_int(srid),
        database=database,
        user=user,
        host=host,
        port=int(port),
        province=None if province is None else _xml_unescape(province),
        counts=counts,
        approximate=frozenset(approximate),
    )


def ping(dsn: str, *, connect_timeout: int = CONNECT_TIMEOUT_S) -> str:
    """Open a connection and run ``SELECT 1``; return ``user@host:port``.

    Raises :class:`StoreUnavailable` (check ``auth_failed`` before retrying on a timer).
    """
    try:
        with psycopg.connect(
            **_connect_kwargs(dsn, connect_timeout, 3_000), autocommit=True
        ) as conn:
            (user,) = conn.execute("SELECT session_user").fetchone() or ("?",)
            host, port = conn.info.host, conn.info.port
    except psycopg.Error as exc:
        raise _unavailable(exc) from exc
    if host.startswith("/"):
        host = "localhost"
    return f"{user}@{host}:{port}"


def _xml_unescape(text: str) -> str:
    """``xpath(...)::text`` keeps XML escapes ("Bà Rịa &amp; Vũng Tàu"): undo them."""
    return xml.sax.saxutils.unescape(text, {"&quot;": '"', "&apos;": "'"})


def _as_int(value: str | None) -> int | None:
    try:
        return None if value is None else int(str(value).strip().strip('"'))
    except ValueError:
        return None


#: Central meridians of the VN-2000 / TM-3 CRSs (k = 0.9999, false easting 500 000).
TM3_MERIDIANS: dict[int, str] = {
    5896: "102°00′",
    9205: "103°00′",
    9206: "104°00′",
    9207: "104°30′",
    9208: "104°45′",
    5897: "105°00′",
    9209: "105°30′",
    9210: "105°45′",
    9211: "106°00′",
    9212: "106°15′",
    9213: "106°30′",
    9214: "107°00′",
    9215: "107°15′",
    9216: "107°30′",
    5899: "107°45′",
    5898: "108°00′",
    9217: "108°15′",
    9218: "108°30′",
}


def crs_label(srid: int) -> str:
    """9212 → "VN-2000 / TM-3 106°15′ (EPSG:9212)"."""
    if srid in TM3_MERIDIANS:
        return f"VN-2000 / TM-3 {TM3_MERIDIANS[srid]} (EPSG:{srid})"
    if srid == 4756:
        return "VN-2000 (EPSG:4756)"
    return f"EPSG:{srid}"
