"""``landrec bench edit``: the change-set cycle on a large store (issue 5).

For a split (a parcel cut through its centroid) and a merge (two adjacent parcels of one
holder), runs draft → validate → review → submit → approve through app.edit.changeset,
the clerk and the approver being two temporary person roles. Everything happens in ONE
transaction of the owner's connection that is rolled back at the end (roles, accounts,
drafts, approvals and their audit entries included), so the store is left unchanged; the
owner switches person with SET SESSION AUTHORIZATION, which changes session_user — the
identity every right, area and audit check reads — exactly as two sign-ins would.

The draft's reply carries the change set as it is after the draft (migration 0016), so
"draft" is everything the editor needs after an edit: the client does not reload.
Each case is timed twice: on a direct connection (server time: validation, apply) and
through the latency proxy (app/net, pitfall P6) at the given RTT; round trips per action
are (WAN time − direct time) / RTT, rounded, so the count is measured, not assumed.
A report, not a test: exits 0.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.conninfo
import shapely
from psycopg import sql
from shapely.geometry import LineString
from shapely.ops import split

from app.bench.rls import owner_and_proxy
from app.edit import changeset as cs
from app.errors import UserFacingError

Progress = Callable[[str], None]

ACTIONS = ("open", "draft", "validate", "review", "submit", "approve")
SERVER_TARGET_MS = 300.0  # validation + apply of a split or a merge (issue 5)
ROUND_TRIP_TARGET = 4  # per edit action at 40 ms RTT


@dataclass
class Case:
    name: str
    local_ms: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    wan_ms: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})

    def median(self, which: str, action: str) -> float | None:
        values = (self.local_ms if which == "local" else self.wan_ms)[action]
        return statistics.median(values) if values else None

    def server_ms(self) -> float | None:
        """Validation + apply on the server: draft (validates), submit, approve."""
        parts = [self.median("local", a) for a in ("draft", "submit", "approve")]
        return None if None in parts else sum(parts)  # type: ignore[arg-type]


@dataclass
class EditBenchReport:
    parcels: int
    runs: int
    rtt_ms: float
    cases: list[Case]


def _create_person(owner: psycopg.Connection, kind: str) -> str:
    role = f"bench_{secrets.token_hex(5)}"
    owner.execute(
        sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE lr_person, {}").format(
            sql.Identifier(role), sql.Identifier(f"lr_cadastral_{kind}")
        )
    )
    owner.execute(
        "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, whole_province,"
        " must_change_password, password_changed_at) VALUES (%s, %s, %s, %s, true, false, now())",
        (role, f"{secrets.randbelow(10**12):012d}", "Tài khoản đo hiệu năng", "LandRec"),
    )
    owner.execute("INSERT INTO sys.account_right VALUES (%s, 'cadastral', %s)", (role, kind))
    return role


def _pick(owner: psycopg.Connection, runs: int) -> tuple[list, list]:
    """Split candidates and merge pairs (same holders, sharing an edge), spread over the
    province: parcels near random points, found with the GiST index."""
    splits: list = []
    merges: list = []
    box = owner.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(frame) AS e FROM cad.map_sheet) s"
    ).fetchone()
    tries = 0
    while (len(splits) < runs or len(merges) < runs) and tries < 50 * runs:
        tries += 1
        x = box[0] + (box[2] - box[0]) * secrets.randbelow(10_000) / 10_000
        y = box[1] + (box[3] - box[1]) * secrets.randbelow(10_000) / 10_000
        rows = owner.execute(
            """
            WITH near AS (
                SELECT p.id, p.version, p.geom FROM cad.parcel p
                WHERE p.retired_at IS NULL AND ST_NumGeometries(p.geom) = 1
                  AND p.area_legal IS NOT NULL
                ORDER BY p.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), ST_SRID(p.geom))
                LIMIT 12)
            SELECT a.id, a.version, ST_AsBinary(a.geom), b.id, b.version, ST_AsBinary(b.geom)
            FROM near a LEFT JOIN LATERAL (
                SELECT n.* FROM near n
                WHERE n.id > a.id AND n.geom && a.geom
                  AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(n.geom))) > 1
                  AND (SELECT p.commune_id FROM cad.parcel p WHERE p.id = n.id)
                      = (SELECT p.commune_id FROM cad.parcel p WHERE p.id = a.id)
                  AND (SELECT array_agg(r.party_id ORDER BY r.party_id) FROM cad.land_right r
                       WHERE r.parcel_id = n.id AND r.valid_to IS NULL AND r.kind = 'su_dung')
                      IS NOT DISTINCT FROM
                      (SELECT array_agg(r.party_id ORDER BY r.party_id) FROM cad.land_right r
                       WHERE r.parcel_id = a.id AND r.valid_to IS NULL AND r.kind = 'su_dung')
                LIMIT 1) b ON true
            """,
            (x, y),
        ).fetchall()
        if len(splits) < runs and rows:
            pid, version, wkb = rows[0][:3]
            poly = shapely.from_wkb(bytes(wkb)).geoms[0]
            c = poly.centroid
            parts = list(split(poly, LineString([(poly.bounds[0] - 1, c.y),
                                                 (poly.bounds[2] + 1, c.y)])).geoms)  # fmt: skip
            if len(parts) == 2:
                splits.append((pid, version, parts))
        for a, va, wa, b, vb, wb in rows:
            if b is not None and len(merges) < runs:
                merged = shapely.from_wkb(bytes(wa)).union(shapely.from_wkb(bytes(wb)))
                if (
                    merged.geom_type in ("Polygon", "MultiPolygon")
                    and len(getattr(merged, "geoms", [merged])) == 1
                ):
                    merges.append(([a, b], [va, vb], merged))
                    break
    if len(splits) < runs or len(merges) < runs:
        raise UserFacingError("could not find enough parcels to split and merge")
    return splits, merges


def _cycle(conn: psycopg.Connection, clerk: str, approver: str, case: str, work,
           times: dict[str, list[float]]) -> None:  # fmt: skip
    """One draft → submit → approve cycle inside a savepoint that is rolled back."""

    def timed(action: str, fn):
        t0 = time.perf_counter()
        out = fn()
        times[action].append((time.perf_counter() - t0) * 1000)
        return out

    conn.execute("SAVEPOINT bench_cycle")
    try:
        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(clerk)))
        kind = "tach_thua" if case == "split" else "hop_thua"
        cs_id = timed("open", lambda: cs.open_change_set(conn, kind, "Đo hiệu năng", None))
        if case == "split":
            pid, version, parts = work
            problems = timed("draft", lambda: cs.draft_split(conn, cs_id, pid, version, parts))
        else:
            ids, versions, merged = work
            problems = timed("draft", lambda: cs.draft_merge(conn, cs_id, ids, versions, merged))
        if problems.item_id is None:
            raise UserFacingError(f"{case}: the draft was refused: {problems[0].message}")
        created = submit_and_approve(conn, cs_id, approver, timed)
        if not created:
            raise UserFacingError(f"{case}: the approval created no parcel")
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT bench_cycle")
        conn.execute("RESET SESSION AUTHORIZATION")


def submit_and_approve(
    conn: psycopg.Connection, cs_id: int, approver: str, timed: Callable[[str, Callable], Any]
) -> Any:
    """The end of every benchmark cycle: validate and submit as the clerk (the session's
    role now), then review and approve as ``approver``; each action timed. Returns what
    the approval returns."""
    timed("validate", lambda: cs.validate(conn, cs_id))
    timed("submit", lambda: cs.submit(conn, cs_id))
    conn.execute("RESET SESSION AUTHORIZATION")
    conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(approver)))
    timed("review", lambda: cs.review(conn, cs_id))
    return timed("approve", lambda: cs.approve(conn, cs_id, "Đồng ý"))


def run_edit_bench(
    dsn: str, runs: int = 5, rtt_ms: float = 40.0, progress: Progress = lambda _m: None
) -> EditBenchReport:
    """Measure (see the module doc). ``dsn`` is the store owner's (a superuser)."""
    runs = max(1, runs)
    local, proxy = owner_and_proxy(dsn, rtt_ms, 100.0, autocommit=False)  # rolled back
    cases = [Case("split"), Case("merge")]
    with local, proxy:
        wan = psycopg.connect(proxy.wrap_dsn(dsn), connect_timeout=10)
        with wan:
            row = local.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if not row[0]:
                raise UserFacingError("the benchmark needs the store owner's DSN (a superuser)")
            if (
                local.execute(
                    "SELECT to_regprocedure('api.cs_draft_reply(bigint, jsonb)')"
                ).fetchone()[0]
                is None
            ):
                raise UserFacingError(
                    "this store lacks migration 0016 (a draft's reply carries its change set): "
                    "run `landrec db migrate` on it, or measure a freshly migrated demo store"
                )
            total = local.execute(
                "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL"
            ).fetchone()[0]
            progress(f"{total:,} current parcels; choosing parcels …")
            splits, merges = _pick(local, runs + 1)
            # Everything below is rolled back: roles, accounts, drafts, approvals, audit.
            # One connection at a time: the audit chain's lock is held until rollback.
            local.commit()
            for conn, which in ((local, "local"), (wan, "wan")):
                try:
                    clerk = _create_person(conn, "editor")
                    approver = _create_person(conn, "approver")
                    for case, work in ((cases[0], splits), (cases[1], merges)):
                        times = case.local_ms if which == "local" else case.wan_ms
                        warm = {a: [] for a in ACTIONS}
                        _cycle(conn, clerk, approver, case.name, work[0], warm)
                        for i in range(runs):
                            progress(f"{case.name} {which} run {i + 1}/{runs}")
                            _cycle(conn, clerk, approver, case.name, work[i + 1], times)
                finally:
                    conn.rollback()
    return EditBenchReport(total, runs, rtt_ms, cases)


def format_table(report: EditBenchReport) -> str:
    lines = [
        f"landrec bench edit — {report.parcels:,} current parcels, median of {report.runs} "
        f"runs, WAN = latency proxy at {report.rtt_ms:.0f} ms RTT; store rolled back",
        f"{'case':<8}{'action':<10}{'direct ms':>11}{'WAN ms':>10}{'round trips':>13}"
        f"{'target':>10}",
    ]
    for case in report.cases:
        for action in ACTIONS:
            lo, wa = case.median("local", action), case.median("wan", action)
            rts = round((wa - lo) / report.rtt_ms) if lo is not None and wa is not None else None
            ok = "" if rts is None else ("ok" if rts <= ROUND_TRIP_TARGET else "SLOW")
            lines.append(
                f"{case.name:<8}{action:<10}{lo or 0:>11.1f}{wa or 0:>10.1f}"
                f"{'' if rts is None else rts:>13}{'≤ 4 RT ' + ok:>10}"
            )
        server = case.server_ms()
        verdict = "ok" if server is not None and server <= SERVER_TARGET_MS else "SLOW"
        lines.append(
            f"{case.name:<8}{'server':<10}{server or 0:>11.1f}{'':>10}{'':>13}"
            f"{'≤ 300 ms ' + verdict:>10}   (draft + submit + approve: validation ×3, apply)"
        )
    return "\n".join(lines)
