"""``landrec bench admin``: the administration module's reads at the scale of a province.

In a scratch database of the store (created, migrated, loaded with a small demo province,
dropped afterwards) the benchmark writes 5 000 accounts (units in several spellings, all
states, rights and communes) and 200 000 audit entries spread over a year (data changes,
logins, failed logins, account events, hash-chained exactly like audit.append does), then
times, as a temporary administrator whose second factor was verified, the calls the
windows make: the accounts list (first page, filtered), the audit search (newest, by
person, by table, by period, by action, next page), the integrity check over the whole
log (one statement, and in the viewer's server-side steps: total and per step), and each
report over the year. Medians of ``runs`` runs on a loopback connection
(≈ server time). A report, not a test: exits 0.

The 5 000 accounts are rows of sys.account without LOGIN roles (roles are cluster-wide;
only the benchmark's administrator is a real role, dropped at the end).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import psycopg.conninfo
from psycopg import sql

from app.admin import api
from app.admin.forms import vn_today
from app.security import totp

#: Lists and searches should answer within this (issue 7 second pass).
TARGET_MS = 300.0

UNITS = (
    "Sở Nông nghiệp và Môi trường",
    "Văn phòng đăng ký đất đai",
    "Chi nhánh VPĐK đất đai Đồng Xoài",
    "Chi nhánh VPĐK đất đai Bù Đăng",
    "Trung tâm phát triển quỹ đất",
    "Phòng Kinh tế xã Tân Lập",
    "UBND xã Minh Hưng (công chức địa chính)",
    "Thanh tra Sở",
)


@dataclass
class Case:
    group: str
    name: str
    median_ms: float
    rows: int
    target_ms: float | None


def _median_ms(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def _db_dsn(owner_dsn: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(owner_dsn, dbname=name)


def populate(dsn: str, accounts: int, entries: int, progress: Callable[[str], None]) -> None:
    """Accounts and audit entries, as the owner (a superuser) in the scratch database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no audit of the seeding
        conn.execute(
            """
            INSERT INTO sys.account (role_name, person_id_number, full_name, unit, position,
                                     whole_province, issued_at, must_change_password,
                                     last_login_at, state, lock_reason, locked_at,
                                     access_until)
            SELECT format('bench_u%%s', g), (810000000000 + g)::text,
                   format('Nguyễn Văn Thử %%s', g),
                   -- one unit in three spellings: the report groups them
                   CASE g %% 3 WHEN 0 THEN u WHEN 1 THEN upper(u) ELSE ' ' || u || ' ' END,
                   'Chuyên viên', g %% 10 = 0, now() - make_interval(days => g %% 365), false,
                   CASE WHEN g %% 4 = 0 THEN NULL
                        ELSE now() - make_interval(hours => (g * 7) %% 2000) END,
                   CASE WHEN g %% 17 = 0 THEN 'locked' WHEN g %% 29 = 0 THEN 'disabled'
                        ELSE 'active' END,
                   CASE WHEN g %% 17 = 0 THEN 'Thử khóa' END,
                   CASE WHEN g %% 17 = 0 THEN now() END,
                   CASE WHEN g %% 13 = 0 THEN current_date + 30 END
            FROM generate_series(1, %s) g,
                 LATERAL (SELECT (%s::text[])[1 + (g / 3) %% %s] AS u) x
            """,
            (accounts, list(UNITS), len(UNITS)),
        )
        conn.execute(
            "INSERT INTO sys.account_right (role_name, subsystem, kind) "
            "SELECT role_name, 'cadastral', CASE WHEN random() < 0.3 THEN 'editor' "
            "ELSE 'viewer' END FROM sys.account WHERE role_name LIKE 'bench_u%'"
        )
        conn.execute(
            "INSERT INTO sys.account_area (role_name, commune_id) "
            "SELECT a.role_name, c.id FROM sys.account a "
            "CROSS JOIN LATERAL (SELECT u.id FROM ref.admin_unit u WHERE u.level = 'commune' "
            "AND u.valid_to IS NULL ORDER BY md5(a.role_name || u.id) LIMIT 2) c "
            "WHERE a.role_name LIKE 'bench_u%' AND NOT a.whole_province"
        )
        progress(f"{accounts:,} accounts written; chaining {entries:,} audit entries…")
        # Entries continue the committed chain with the same hash as audit.append, spread
        # over the last year in id order, so audit.verify walks a valid chain.
        conn.execute(
            """
            DO $seed$
            DECLARE
                v_head audit.chain_head;
                v_prev bytea;
                v_id bigint;
                v_n integer := __ENTRIES__;
                v_accounts integer := __ACCOUNTS__;
                v_at timestamptz;
                v_start timestamptz := now() - interval '365 days';
                v_actor name; v_action text; v_table text; v_key jsonb; v_old jsonb;
                v_new jsonb; v_target text; v_detail jsonb; k integer;
            BEGIN
                SELECT * INTO v_head FROM audit.chain_head;
                v_prev := v_head.last_hash;
                v_id := v_head.last_id;
                FOR i IN 1..v_n LOOP
                    v_id := v_id + 1;
                    v_at := v_start + (interval '365 days' - interval '1 hour') * i / v_n;
                    k := 1 + (i * 7919) % v_accounts;
                    v_actor := format('bench_u%s', 1 + (i * 31) % 400);  -- 400 active editors
                    v_table := NULL; v_key := NULL; v_old := NULL; v_new := NULL;
                    v_target := NULL; v_detail := NULL;
                    CASE
                        WHEN i % 20 < 12 THEN
                            v_action := 'UPDATE';
                            v_table := (ARRAY['cad.parcel', 'cad.owner', 'cad.certificate',
                                              'plan.zone', 'price.zone'])[1 + i % 5];
                            v_key := jsonb_build_object('id', i);
                            v_old := jsonb_build_object('id', i, 'land_use', 'ONT',
                                                        'area', 120.5);
                            v_new := jsonb_build_object('id', i, 'land_use', 'ODT',
                                                        'area', 120.5);
                        WHEN i % 20 < 15 THEN
                            v_action := 'INSERT';
                            v_table := 'cad.parcel';
                            v_key := jsonb_build_object('id', i);
                            v_new := jsonb_build_object('id', i, 'land_use', 'LUC');
                        WHEN i % 20 < 18 THEN
                            v_action := 'LOGIN'; v_actor := 'landrec';
                            v_target := format('bench_u%s', k);
                            v_detail := jsonb_build_object('client', '10.1.2.3');
                        WHEN i % 20 = 18 THEN
                            v_action := 'LOGIN_FAILED'; v_actor := 'landrec';
                            v_target := format('bench_u%s', k);
                            v_detail := jsonb_build_object('kind', 'password',
                                                           'client', '10.1.2.4');
                        ELSE
                            v_action := (ARRAY['ACCOUNT_CREATE', 'LOCK', 'UNLOCK',
                                               'RIGHTS_CHANGE'])[1 + i % 4];
                            v_target := format('bench_u%s', k);
                            v_detail := jsonb_build_object('reason', 'thử');
                    END CASE;
                    INSERT INTO audit.log (id, logged_at, actor, client_addr, application,
                                           change_set, action, table_name, row_key, old_row,
                                           new_row, target, detail, prev_hash, hash)
                    VALUES (v_id, v_at, v_actor, '10.0.0.1', 'landrec', NULL, v_action,
                            v_table, v_key, v_old, v_new, v_target, v_detail, v_prev,
                            audit.entry_hash(v_prev, v_at, v_actor, '10.0.0.1', 'landrec',
                                             NULL, v_action, v_table, v_key, v_old, v_new,
                                             v_target, v_detail))
                    RETURNING hash INTO v_prev;
                END LOOP;
                UPDATE audit.chain_head SET last_id = v_id, last_hash = v_prev;
            END
            $seed$
            """.replace("__ENTRIES__", str(int(entries))).replace(
                "__ACCOUNTS__", str(int(accounts))
            )
        )
        conn.execute("SET session_replication_role = origin")
        conn.execute("ANALYZE sys.account")
        conn.execute("ANALYZE sys.account_right")
        conn.execute("ANALYZE sys.account_area")
        conn.execute("ANALYZE audit.log")


def _make_admin(dsn: str) -> tuple[str, str, bytes]:
    role = f"bench_adm_{uuid.uuid4().hex[:8]}"
    password = f"Bench-{uuid.uuid4().hex[:12]}!7"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT sys.create_account_internal(%s, %s, 'Quản Trị Đo', 'Sở Nông nghiệp và "
            'Môi trường\', NULL, NULL, NULL, \'{"admin": ["administrator"]}\', NULL, true, '
            "NULL, NULL)",
            (role, f"{uuid.uuid4().int % 10**12:012d}"),
        )
        conn.execute("SELECT sys.set_password_internal(%s, %s, false)", (role, password))
        uri = conn.execute("SELECT sys.issue_totp_internal(%s)", (role,)).fetchone()[0]
    return role, password, totp.secret_from_uri(uri)


def run_admin_bench(
    owner_dsn: str,
    runs: int = 5,
    accounts: int = 5_000,
    entries: int = 200_000,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[Case]:
    from app.demo.load import load_demo_province
    from app.store.migrate import migrate

    name = f"landrec_bench_admin_{uuid.uuid4().hex[:8]}"
    admin_role = None
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = _db_dsn(owner_dsn, name)
    try:
        progress(f"scratch database {name}: migrating…")
        migrate(dsn)
        load_demo_province(dsn, parcels=500, seed=3)
        populate(dsn, accounts, entries, progress)
        admin_role, password, secret = _make_admin(dsn)
        person = psycopg.conninfo.make_conninfo(dsn, user=admin_role, password=password)
        with psycopg.connect(person, autocommit=True) as conn:
            assert conn.execute("SELECT sys.verify_totp(%s)", (totp.totp(secret),)).fetchone()[0]
            return _measure(conn, runs, progress)
    finally:
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            if admin_role:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(admin_role)))


def _measure(conn: psycopg.Connection, runs: int, progress: Callable[[str], None]) -> list[Case]:
    cases: list[Case] = []

    def case(group: str, label: str, fn: Callable[[], object], target: float | None) -> None:
        fn()  # warm (plans, cache)
        ms, result = _median_ms(fn, runs)
        rows = (
            len(result.rows)
            if isinstance(result, api.AccountPage)
            else (len(result) if isinstance(result, (list, tuple)) else 1)
        )
        if isinstance(result, tuple) and len(result) == 2:  # run_report → (names, rows)
            rows = len(result[1])
        if isinstance(result, dict):  # facets
            rows = sum(len(v) for v in result.values())
        cases.append(Case(group, label, ms, rows, target))
        progress(f"{group} / {label}: {ms:.1f} ms")

    facets = api.account_facets(conn)
    unit = facets["unit"][0].key
    commune = int(facets["commune"][0].key) if facets["commune"] else None
    page = lambda **kw: lambda: api.account_page(conn, api.AccountFilter(**kw))  # noqa: E731
    case("accounts", "first page (200), no filter", page(), TARGET_MS)
    case("accounts", "first page, unit", page(unit=unit), TARGET_MS)
    case("accounts", "first page, commune", page(commune=commune), TARGET_MS)
    case("accounts", "first page, state locked", page(state="locked"), TARGET_MS)
    case("accounts", "first page, text 'thu 4321'", page(text="thu 4321"), TARGET_MS)
    case("accounts", "first page, short text 'an'", page(text="an"), TARGET_MS)
    case("accounts", "page 20 (offset 3 800)", page(offset=3_800), TARGET_MS)
    # The rights dialog's account search: one page of 21, a text matching every account.
    case("accounts", "chooser (21), text 'nguyen van thu'", page(text="nguyen van thu", limit=21),
         TARGET_MS)  # fmt: skip
    case("accounts", "filter lists (facets)", lambda: api.account_facets(conn), TARGET_MS)
    case("accounts", "all at once (account_overview)", lambda: api.list_accounts(conn), None)

    audit = lambda **kw: lambda: api.audit_entries(conn, api.AuditFilter(**kw))  # noqa: E731
    year_ago = vn_today() - timedelta(days=365)
    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    mid = datetime.combine(year_ago + timedelta(days=180), datetime.min.time(), vn)
    newest = api.audit_entries(conn, api.AuditFilter(limit=500))
    case("audit", "newest 500", audit(), TARGET_MS)
    case("audit", "next page (before id)", audit(before_id=newest[-1].id), TARGET_MS)
    case("audit", "by person (editor, actor)", audit(person="bench_u32"), TARGET_MS)
    target = conn.execute(
        "SELECT target FROM audit.log WHERE action = 'LOGIN_FAILED' ORDER BY id LIMIT 1"
    ).fetchone()
    target = target[0] if target else "bench_u1"
    case("audit", f"by person (target only: {target})", audit(person=target), TARGET_MS)
    case("audit", "by table cad.owner", audit(table_name="cad.owner"), TARGET_MS)
    case(
        "audit",
        "by period (one month, 6 months ago)",
        audit(since=mid, until=mid + timedelta(days=30)),
        TARGET_MS,
    )
    case("audit", "by action LOGIN_FAILED", audit(action="LOGIN_FAILED"), TARGET_MS)
    case(
        "audit",
        "person + table + period",
        audit(person="bench_u32", table_name="cad.parcel", since=mid),
        TARGET_MS,
    )
    case("audit", "filter lists (facets)", lambda: api.audit_facets(conn), TARGET_MS)

    ms, result = _median_ms(lambda: api.audit_verify(conn), max(1, min(runs, 3)))
    cases.append(Case("audit", f"verify whole chain ({result.checked:,} entries)", ms, 1, None))
    progress(f"audit / verify: {ms:.0f} ms, ok={result.ok}")
    _measure_chunked_verify(conn, max(1, min(runs, 3)), cases, progress)

    today = vn_today()
    start = today - timedelta(days=365)
    for key in ("accounts", "activity", "logins", "login_summary"):
        case(
            "reports",
            f"{key} (one year)",
            (lambda k: lambda: api.run_report(conn, k, start, today))(key),
            None,
        )
    return cases


def _measure_chunked_verify(
    conn: psycopg.Connection, runs: int, cases: list[Case], progress: Callable[[str], None]
) -> None:
    """The integrity check as the audit viewer runs it: server-side steps, sized to take
    ≈ 0.2 s each (api.next_step_size), timed whole and step by step."""
    totals: list[float] = []
    steps: list[float] = []
    counts: list[int] = []
    result = None
    for _ in range(runs):
        times: list[float] = []
        last = [time.perf_counter()]

        def tick(_p: api.VerifyProgress, times=times, last=last) -> None:
            now = time.perf_counter()
            times.append((now - last[0]) * 1000)
            last[0] = now

        t0 = time.perf_counter()
        result = api.audit_verify_chunks(conn, progress=tick)
        totals.append((time.perf_counter() - t0) * 1000)
        steps += times
        counts.append(len(times))
    assert result is not None
    n = f"{result.checked:,}"
    cases.append(Case("audit", f"verify in steps: total ({n} entries)", statistics.median(totals),
                      int(statistics.median(counts)), None))  # fmt: skip
    cases.append(Case("audit", "verify in steps: one step (median)", statistics.median(steps),
                      1, None))  # fmt: skip
    cases.append(Case("audit", "verify in steps: slowest step", max(steps), 1, None))
    progress(f"audit / verify in steps: {statistics.median(totals):.0f} ms in "
             f"{statistics.median(counts):.0f} steps (median step "
             f"{statistics.median(steps):.0f} ms), ok={result.ok}")  # fmt: skip


def format_table(cases: list[Case], runs: int, accounts: int, entries: int) -> str:
    lines = [
        f"landrec bench admin — {accounts:,} accounts, {entries:,} audit entries, median of "
        f"{runs} runs, loopback (≈ server time); target ≤ {TARGET_MS:.0f} ms for lists and "
        "searches",
        "",
        f"{'group':9} {'case':44} {'rows':>6} {'median ms':>10}  result",
        "-" * 84,
    ]
    for c in cases:
        verdict = "" if c.target_ms is None else ("pass" if c.median_ms <= c.target_ms else "FAIL")
        lines.append(f"{c.group:9} {c.name:44} {c.rows:>6} {c.median_ms:>10.1f}  {verdict}")
    return "\n".join(lines)
