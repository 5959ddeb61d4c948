"""``landrec bench records``: transfers of rights, certificates and mortgages as change-set
items (migration 0024) on a large store.

Two cases, each a full cycle through app.edit.changeset as two temporary persons (clerk,
approver), like ``landrec bench edit`` and with its rules: ONE owner transaction rolled
back at the end (roles, accounts, drafts, approvals, new parties, audit entries), the
person switched with SET SESSION AUTHORIZATION, every cycle inside a savepoint:

* transfer — open, draft a transfer to a new person and an existing party (0,5 each),
  draft a certificate for the parcel (the old one becomes 'cap_doi'), validate, submit,
  review, approve;
* mortgage — open, draft a mortgage, validate, submit, review, approve;
* parties — api.search_parties (migration 0029, the editor's person search): a full name
  and its last words without diacritics and a document number as a whole-province clerk,
  the name as a commune officer of the biggest and of the smallest commune.

Timed on a direct connection (server time) and through the latency proxy at the given RTT;
round trips per action = (WAN − direct) / RTT, rounded. A report, not a test: exits 0.
"""

from __future__ import annotations

import datetime as dt
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from app.bench.edit import _create_person, submit_and_approve
from app.bench.rls import owner_and_proxy
from app.edit import changeset as cs
from app.edit.parties import find_parties
from app.errors import UserFacingError

Progress = Callable[[str], None]

ACTIONS = {
    "transfer": ("open", "draft rights", "draft cert", "validate", "submit", "review", "approve"),
    "mortgage": ("open", "draft", "validate", "submit", "review", "approve"),
    "parties": ("name", "last words", "document", "name, big commune", "name, small commune"),
}
SERVER_TARGET_MS = 300.0  # as for a split or merge (issue 5)
ROUND_TRIP_TARGET = 4


@dataclass
class Case:
    name: str
    local_ms: dict[str, list[float]] = field(default_factory=dict)
    wan_ms: dict[str, list[float]] = field(default_factory=dict)

    def median(self, which: str, action: str) -> float | None:
        values = (self.local_ms if which == "local" else self.wan_ms).get(action) or []
        return statistics.median(values) if values else None

    def server_ms(self) -> float | None:
        """Everything but open / review: the drafts (each validates), submit, approve. For
        the searches: the slowest one."""
        if self.name == "parties":
            worst = [self.median("local", a) for a in ACTIONS[self.name]]
            return None if None in worst else max(worst)  # type: ignore[type-var]
        parts = [self.median("local", a) for a in ACTIONS[self.name]
                 if a not in ("open", "review")]  # fmt: skip
        return None if None in parts else sum(parts)  # type: ignore[arg-type]


def _pick(owner: psycopg.Connection, n: int) -> list[tuple[int, int, int]]:
    """Parcels with holders and one certificate in force, spread over the province (near
    random points, GiST), each with another party to transfer half to."""
    box = owner.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(frame) AS e FROM cad.map_sheet) s"
    ).fetchone()
    out: list[tuple[int, int, int]] = []
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        x = box[0] + (box[2] - box[0]) * secrets.randbelow(10_000) / 10_000
        y = box[1] + (box[3] - box[1]) * secrets.randbelow(10_000) / 10_000
        row = owner.execute(
            """
            SELECT p.id, p.version,
                   (SELECT pa.id FROM cad.party pa WHERE pa.kind = 'ca_nhan'
                      AND pa.id NOT IN (SELECT r.party_id FROM cad.land_right r
                                        WHERE r.parcel_id = p.id)
                    ORDER BY pa.id LIMIT 1)
            FROM (SELECT p.id, p.version, p.geom FROM cad.parcel p WHERE p.retired_at IS NULL
                  ORDER BY p.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), ST_SRID(p.geom))
                  LIMIT 20) p
            WHERE EXISTS (SELECT 1 FROM cad.land_right r
                          WHERE r.parcel_id = p.id AND r.valid_to IS NULL)
              AND (SELECT count(*) FROM cad.certificate_parcel cp
                   JOIN cad.certificate c ON c.id = cp.certificate_id
                   WHERE cp.parcel_id = p.id AND c.status = 'hieu_luc') = 1
              AND NOT EXISTS (SELECT 1 FROM cad.restriction x WHERE x.parcel_id = p.id
                              AND x.valid_to IS NULL AND x.kind IN ('tranh_chap', 'ke_bien'))
              AND p.id <> ALL (%s)
            LIMIT 1
            """,
            (x, y, [o[0] for o in out]),
        ).fetchone()
        if row:
            out.append(row)
    if len(out) < n:
        raise UserFacingError("could not find enough parcels with holders and a certificate")
    return out


def _area_viewer(owner: psycopg.Connection, commune: int) -> str:
    """A commune officer (cadastral viewer of one commune), inside the rolled-back work."""
    role = f"bench_{secrets.token_hex(5)}"
    owner.execute(
        sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE lr_person, lr_cadastral_viewer").format(
            sql.Identifier(role)
        )
    )
    owner.execute(
        "INSERT INTO sys.account (role_name, person_id_number, full_name, unit, whole_province,"
        " must_change_password, password_changed_at) VALUES (%s, %s, %s, %s, false, false, now())",
        (role, f"{secrets.randbelow(10**12):012d}", "Tài khoản đo hiệu năng", "LandRec"),
    )
    owner.execute("INSERT INTO sys.account_right VALUES (%s, 'cadastral', 'viewer')", (role,))
    owner.execute("INSERT INTO sys.account_area VALUES (%s, %s)", (role, commune))
    return role


def _search_cycle(conn: psycopg.Connection, clerk: str, officers: tuple[str, str],
                  work: tuple[int, int, int], times: dict[str, list[float]]) -> None:  # fmt: skip
    """The person search of the editor's forms, one call per action (one round trip)."""
    name, number = conn.execute(
        "SELECT ref.fold_vi(full_name), id_number FROM cad.party WHERE id = %s", (work[2],)
    ).fetchone()
    words = " ".join(name.split()[-2:])
    calls = [(clerk, "name", name), (clerk, "last words", words),
             (clerk, "document", number or "079000000000"),
             (officers[0], "name, big commune", name),
             (officers[1], "name, small commune", name)]  # fmt: skip
    for role, action, text in calls:
        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(role)))
        try:
            t0 = time.perf_counter()
            find_parties(conn, text, 20)
            times.setdefault(action, []).append((time.perf_counter() - t0) * 1000)
        finally:
            conn.execute("RESET SESSION AUTHORIZATION")


def _cycle(conn: psycopg.Connection, clerk: str, approver: str, case: str,
           work: tuple[int, int, int], times: dict[str, list[float]]) -> None:  # fmt: skip
    def timed(action: str, fn):
        t0 = time.perf_counter()
        out = fn()
        times.setdefault(action, []).append((time.perf_counter() - t0) * 1000)
        return out

    pid, version, other = work
    conn.execute("SAVEPOINT bench_cycle")
    try:
        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(clerk)))
        if case == "transfer":
            cs_id = timed("open", lambda: cs.open_change_set(conn, "chuyen_quyen", "Đo", None))
            holders = [
                cs.Holder("0.5", party=cs.NewParty(
                    "ca_nhan", "Người Đo Hiệu Năng", "cccd", f"{secrets.randbelow(10**12):012d}")),
                cs.Holder("0.5", party_id=other),
            ]  # fmt: skip
            done = [
                timed("draft rights", lambda: cs.draft_rights(conn, cs_id, pid, version, holders))
            ]
            cert = cs.Certificate(f"ZZ {secrets.randbelow(10**8):08d}", "DO 1",
                                  dt.date.today(), "Sở Nông nghiệp và Môi trường")  # fmt: skip
            draft_cert = lambda: cs.draft_certificate(conn, cs_id, {pid: version}, cert)  # noqa: E731
            done.append(timed("draft cert", draft_cert))
        else:
            cs_id = timed("open", lambda: cs.open_change_set(conn, "the_chap", "Đo", None))
            m = cs.Mortgage("Ngân hàng Đo Hiệu Năng", f"HD-{secrets.token_hex(4)}",
                            dt.date.today(), 1_000_000_000)  # fmt: skip
            done = [timed("draft", lambda: cs.draft_mortgage(conn, cs_id, pid, version, m))]
        for problems in done:
            if problems.item_id is None:
                raise UserFacingError(f"{case}: the draft was refused: {problems[0].message}")
        submit_and_approve(conn, cs_id, approver, timed)
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT bench_cycle")
        conn.execute("RESET SESSION AUTHORIZATION")


def run_records_bench(
    dsn: str, runs: int = 5, rtt_ms: float = 40.0, progress: Progress = lambda _m: None
) -> tuple[int, list[Case]]:
    """Measure (see the module doc). ``dsn`` is the store owner's (a superuser)."""
    runs = max(1, runs)
    local, proxy = owner_and_proxy(dsn, rtt_ms, 100.0, autocommit=False)  # rolled back
    cases = [Case("transfer"), Case("mortgage"), Case("parties")]
    with local, proxy:
        wan = psycopg.connect(proxy.wrap_dsn(dsn), connect_timeout=10)
        with wan:
            if not local.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()[0]:
                raise UserFacingError("the benchmark needs the store owner's DSN (a superuser)")
            if local.execute("SELECT to_regclass('cad.mortgage')").fetchone()[0] is None:
                raise UserFacingError(
                    "this store lacks migration 0024 (rights, mortgages, certificates): run "
                    "`landrec db migrate` on it, or measure a freshly migrated demo store"
                )
            total = local.execute(
                "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL"
            ).fetchone()[0]
            progress(f"{total:,} current parcels; choosing parcels …")
            work = _pick(local, runs + 1)
            local.commit()
            # Everything below is rolled back; one connection at a time (audit chain lock).
            for conn, which in ((local, "local"), (wan, "wan")):
                try:
                    clerk = _create_person(conn, "editor")
                    approver = _create_person(conn, "approver")
                    big, small = conn.execute(
                        "SELECT (array_agg(commune_id ORDER BY n DESC))[1], "
                        "(array_agg(commune_id ORDER BY n))[1] FROM "
                        "(SELECT commune_id, count(*) AS n FROM cad.parcel GROUP BY 1) c"
                    ).fetchone()
                    officers = (_area_viewer(conn, big), _area_viewer(conn, small))
                    for case in cases:
                        times = case.local_ms if which == "local" else case.wan_ms
                        for i in range(runs + 1):  # the first is a warm-up
                            progress(f"{case.name} {which} run {i}/{runs}")
                            if case.name == "parties":
                                _search_cycle(conn, clerk, officers, work[i],
                                              times if i else {})  # fmt: skip
                            else:
                                _cycle(conn, clerk, approver, case.name, work[i],
                                       times if i else {})  # fmt: skip
                finally:
                    conn.rollback()
    return total, cases


def format_table(total: int, cases: list[Case], runs: int, rtt_ms: float) -> str:
    lines = [
        f"landrec bench records — {total:,} current parcels, median of {runs} runs, "
        f"WAN = latency proxy at {rtt_ms:.0f} ms RTT; store rolled back",
        f"{'case':<10}{'action':<22}{'direct ms':>11}{'WAN ms':>10}{'round trips':>13}",
    ]
    for case in cases:
        for action in ACTIONS[case.name]:
            lo, wa = case.median("local", action), case.median("wan", action)
            rts = round((wa - lo) / rtt_ms) if lo is not None and wa is not None else None
            ok = "" if rts is None else ("ok" if rts <= ROUND_TRIP_TARGET else "SLOW")
            lines.append(f"{case.name:<10}{action:<22}{lo or 0:>11.1f}{wa or 0:>10.1f}"
                         f"{'' if rts is None else rts:>13} {ok}")  # fmt: skip
        server = case.server_ms()
        verdict = "ok" if server is not None and server <= SERVER_TARGET_MS else "SLOW"
        what = ("slowest search" if case.name == "parties"
                else "drafts + validate + submit + approve")  # fmt: skip
        lines.append(f"{case.name:<10}{'server':<22}{server or 0:>11.1f}"
                     f"   ≤ 300 ms {verdict} ({what})")  # fmt: skip
    return "\n".join(lines)
