"""Benchmark: viewport reads under row-level security (DESIGN pitfall P2).

On a large store (the target is 1 000 000 parcels) it picks a window of about 20 000
current parcels well inside the commune holding the most parcels, and times, as the median
of N runs of "execute + fetch all rows" (binary format, as the map client reads):

  (a) the owner reading the window directly with ``geom && bbox`` (no RLS: the floor);
  (b) a whole-province viewer through ``api.parcels_in_bbox``;
  (c) a viewer of that commune through ``api.parcels_in_bbox``;
  (d) the same commune viewer with a plain ``SELECT … WHERE geom && bbox`` under RLS.

(a) and (d) run the same SELECT as the function's inner query, so the differences are the
cost of RLS and of the function. Target: (c) ≤ 1.5 × (a).

The two viewers are temporary LOGIN roles with sys.account rows, created like an
administrator would and dropped at the end, whatever happens.
"""

from __future__ import annotations

import math
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import psycopg.conninfo
from psycopg import sql

from app.errors import UserFacingError
from app.net.latency_proxy import ProxyProcess

Progress = Callable[[str], None]

#: The function's inner query (db/sql/0006_rls_api.sql), for the direct reads (a) and (d).
WINDOW_SQL = """
SELECT p.id, p.parcel_number, s.sheet_number,
       (SELECT lu.code FROM cad.land_use lu
        WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL
        ORDER BY lu.area DESC, lu.id LIMIT 1) AS land_use_code,
       coalesce(p.area_legal::float8, round(p.area_computed::numeric, 1)::float8) AS area,
       ST_AsTWKB(p.geom, 2) AS geom
FROM cad.parcel p
JOIN cad.map_sheet s ON s.id = p.sheet_id
WHERE p.geom && ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s, %(srid)s)
  AND p.retired_at IS NULL
"""
FUNCTION_SQL = "SELECT * FROM api.parcels_in_bbox(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s)"


@dataclass
class Case:
    label: str
    description: str
    rows: int = 0
    bytes: int = 0
    times_ms: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)


@dataclass
class RlsBenchReport:
    parcels_total: int
    commune: str
    commune_parcels: int
    bbox: tuple[float, float, float, float]
    window_parcels: int
    outside_commune: int
    runs: int
    cases: list[Case]
    plans: dict[str, str] = field(default_factory=dict)


def _one(conn: psycopg.Connection, query: str, params=None):
    return conn.execute(query, params).fetchone()


def owner_and_proxy(
    dsn: str, rtt_ms: float, mbit: float | None, *, autocommit: bool = True
) -> tuple[psycopg.Connection, ProxyProcess]:
    """The WAN benchmarks' start: an owner connection (autocommit unless the benchmark rolls
    its work back) and a latency proxy (not started) in front of the same server; clear
    messages for a dead store or a socket DSN."""
    try:
        owner = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise UserFacingError(f"cannot connect to the database: {exc}".strip()) from exc
    try:
        proxy = ProxyProcess.for_dsn(dsn, rtt_ms=rtt_ms, mbit=mbit)
    except ValueError as exc:
        owner.close()
        raise UserFacingError(f"{exc} (give a host:port DSN)") from None
    return owner, proxy


def choose_window(
    conn: psycopg.Connection, target: int, progress: Progress
) -> tuple[int, str, int, tuple[float, float, float, float], int, int]:
    """The commune with most current parcels and a square of ~target parcels inside it.

    The square is centred on the commune's pole of inaccessibility and kept inside the
    largest circle that fits in the commune, so every parcel in it belongs to the commune.
    """
    commune, name, code, n = _one(
        conn,
        """
        SELECT p.commune_id, u.name, u.code, count(*)
        FROM cad.parcel p JOIN ref.admin_unit u ON u.id = p.commune_id
        WHERE p.retired_at IS NULL GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 1
        """,
    )
    cx, cy, radius = _one(
        conn,
        """
        SELECT ST_X(c.center), ST_Y(c.center), c.radius
        FROM (SELECT (ST_MaximumInscribedCircle(coalesce(u.geom, e.hull))).*
              FROM ref.admin_unit u,
                   LATERAL (SELECT ST_ConvexHull(ST_Collect(ST_Centroid(geom))) AS hull
                            FROM cad.parcel WHERE commune_id = u.id) e
              WHERE u.id = %s) c
        """,
        (commune,),
    )
    srid = int(_one(conn, "SELECT value FROM sys.setting WHERE key = 'srid'")[0])

    def count(half: float) -> int:
        return _one(
            conn,
            "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL "
            "AND geom && ST_MakeEnvelope(%s, %s, %s, %s, %s)",
            (cx - half, cy - half, cx + half, cy + half, srid),
        )[0]

    lo, hi = 1.0, radius / math.sqrt(2)
    if count(hi) > target:
        for _ in range(25):  # bisection on the half-side
            mid = (lo + hi) / 2
            if count(mid) < target:
                lo = mid
            else:
                hi = mid
            if hi - lo < 0.5:
                break
    else:
        progress(f"the commune's inscribed square holds fewer than {target:,} parcels")
    half = hi
    bbox = (cx - half, cy - half, cx + half, cy + half)
    window, outside = _one(
        conn,
        "SELECT count(*), count(*) FILTER (WHERE commune_id <> %s) FROM cad.parcel "
        "WHERE retired_at IS NULL AND geom && ST_MakeEnvelope(%s, %s, %s, %s, %s)",
        (commune, *bbox, srid),
    )
    return commune, f"{name} ({code})", n, bbox, window, outside


def _create_viewer(owner: psycopg.Connection, whole: bool, commune: int | None) -> tuple[str, str]:
    role = f"bench_{secrets.token_hex(5)}"
    password = f"Bb-{secrets.token_urlsafe(18)}!9"
    owner.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE lr_person").format(
            sql.Identifier(role), sql.Literal(password)
        )
    )
    owner.execute(sql.SQL("GRANT lr_cadastral_viewer TO {}").format(sql.Identifier(role)))
    owner.execute(
        "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, whole_province,"
        " must_change_password, password_changed_at) VALUES (%s, %s, %s, %s, %s, false, now())",
        (role, f"{secrets.randbelow(10**12):012d}", "Tài khoản đo hiệu năng", "LandRec", whole),
    )
    owner.execute("INSERT INTO sys.account_right VALUES (%s, 'cadastral', 'viewer')", (role,))
    if commune is not None:
        owner.execute("INSERT INTO sys.account_area VALUES (%s, %s)", (role, commune))
    return role, password


def _drop_viewer(owner: psycopg.Connection, role: str) -> None:
    owner.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )
    owner.execute("DELETE FROM sys.account WHERE role_name = %s", (role,))
    owner.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    owner.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _time(conn: psycopg.Connection, query: str, params: dict, case: Case, runs: int) -> None:
    conn.execute(query, params, binary=True).fetchall()  # warm the cache and the plan
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = conn.execute(query, params, binary=True).fetchall()
        case.times_ms.append((time.perf_counter() - t0) * 1000)
    case.rows = len(rows)
    case.bytes = sum(len(r[5] or b"") for r in rows)


def _inner_plan(owner_dsn: str, role: str, query: str, params: dict) -> str:
    """The plan of the function's inner query, run as `role` (auto_explain, nested)."""
    notices: list[str] = []
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for setting in (
            "log_min_duration = 0",
            "log_nested_statements = on",
            "log_level = notice",
            "log_analyze = on",
            "log_timing = off",
        ):
            conn.execute(f"SET auto_explain.{setting}")
        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(role)))
        conn.execute(query, params).fetchall()
    inner = [n for n in notices if "FROM cad.parcel p" in n]
    return inner[-1] if inner else "\n".join(notices)


def run_rls_bench(
    dsn: str,
    runs: int = 7,
    window_parcels: int = 20_000,
    explain: bool = False,
    progress: Progress = lambda _m: None,
) -> RlsBenchReport:
    try:
        owner = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise UserFacingError(f"cannot connect to the database: {exc}".strip()) from exc
    with owner:
        if not _one(owner, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0]:
            raise UserFacingError("the benchmark needs the store owner's DSN (a superuser)")
        if not _one(owner, "SELECT to_regprocedure('api.parcels_in_bbox(float8, float8, "
                    "float8, float8, float8)') IS NOT NULL")[0]:  # fmt: skip
            raise UserFacingError("api.parcels_in_bbox is missing; run 'landrec db migrate' first")
        total = _one(owner, "SELECT count(*) FROM cad.parcel")[0]
        progress(f"{total:,} parcels in the store; choosing a window …")
        commune, name, in_commune, bbox, window, outside = choose_window(
            owner, window_parcels, progress
        )
        progress(
            f"window of {window:,} parcels in {name} ({in_commune:,} parcels), "
            f"{bbox[2] - bbox[0]:.0f} m wide"
        )
        srid = int(_one(owner, "SELECT value FROM sys.setting WHERE key = 'srid'")[0])
        params = dict(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True)) | {"srid": srid}

        cases = [
            Case("(a)", "owner, geom && bbox directly (no RLS)"),
            Case("(b)", "whole-province viewer, api.parcels_in_bbox"),
            Case("(c)", "commune viewer, api.parcels_in_bbox"),
            Case("(d)", "commune viewer, plain SELECT under RLS (P2)"),
        ]
        roles: list[str] = []
        plans: dict[str, str] = {}
        try:
            province_role, province_pw = _create_viewer(owner, True, None)
            roles.append(province_role)
            commune_role, commune_pw = _create_viewer(owner, False, commune)
            roles.append(commune_role)
            as_role = lambda r, pw: psycopg.conninfo.make_conninfo(dsn, user=r, password=pw)  # noqa: E731
            progress(f"(a) {cases[0].description} …")
            _time(owner, WINDOW_SQL, params, cases[0], runs)
            with psycopg.connect(as_role(province_role, province_pw), autocommit=True) as conn:
                progress(f"(b) {cases[1].description} …")
                _time(conn, FUNCTION_SQL, params, cases[1], runs)
            with psycopg.connect(as_role(commune_role, commune_pw), autocommit=True) as conn:
                progress(f"(c) {cases[2].description} …")
                _time(conn, FUNCTION_SQL, params, cases[2], runs)
                progress(f"(d) {cases[3].description} …")
                _time(conn, WINDOW_SQL, params, cases[3], runs)
                if explain:
                    plans["(d)"] = "\n".join(
                        r[0]
                        for r in conn.execute(
                            "EXPLAIN (ANALYZE, TIMING OFF) " + WINDOW_SQL, params
                        ).fetchall()
                    )
            if explain:
                plans["(c)"] = _inner_plan(dsn, commune_role, FUNCTION_SQL, params)
        finally:
            for role in roles:
                _drop_viewer(owner, role)
    return RlsBenchReport(
        parcels_total=total,
        commune=name,
        commune_parcels=in_commune,
        bbox=bbox,
        window_parcels=window,
        outside_commune=outside,
        runs=runs,
        cases=cases,
        plans=plans,
    )


def format_report(report: RlsBenchReport) -> str:
    base = report.cases[0].median_ms
    minx, miny, maxx, maxy = report.bbox
    lines = [
        "",
        f"Store: {report.parcels_total:,} parcels. Window: {report.window_parcels:,} current "
        f"parcels in {report.commune} ({report.commune_parcels:,} parcels; "
        f"{report.outside_commune} from other communes)",
        f"bbox: {minx:.1f} {miny:.1f} {maxx:.1f} {maxy:.1f}   median of {report.runs} runs",
        "",
        f"{'case':<5} {'what':<46} {'rows':>7} {'TWKB kB':>8} {'ms':>8} {'× (a)':>6}",
        f"{'-' * 5} {'-' * 46} {'-' * 7} {'-' * 8} {'-' * 8} {'-' * 6}",
    ]
    for case in report.cases:
        lines.append(
            f"{case.label:<5} {case.description:<46} {case.rows:>7,} {case.bytes / 1000:>8.0f} "
            f"{case.median_ms:>8.1f} {case.median_ms / base:>6.2f}"
        )
    c = report.cases[2].median_ms / base
    lines += ["", f"target (c) ≤ 1.5 × (a): {'met' if c <= 1.5 else 'NOT met'} ({c:.2f})"]
    for label, plan in report.plans.items():
        lines += ["", f"plan of {label}:", plan]
    return "\n".join(lines)
