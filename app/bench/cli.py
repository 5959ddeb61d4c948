"""``landrec bench``: on-demand benchmarks. Each benchmark adds its own action here."""

from __future__ import annotations

import argparse

from app.store.dsn import add_dsn_arguments, resolve_dsn


def register(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="run a benchmark against a store")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    rls = bench_sub.add_parser(
        "rls",
        help="viewport reads under row-level security (pitfall P2)",
        description="Time a ~20 000-parcel viewport read four ways: the owner reading the "
        "window directly, a whole-province viewer and a commune viewer through "
        "api.parcels_in_bbox, and the commune viewer with a plain SELECT under RLS. The "
        "DSN must be the store owner's (a superuser): the benchmark creates two temporary "
        "person roles and drops them afterwards.",
    )
    add_dsn_arguments(rls)
    rls.add_argument("--runs", type=int, default=7, help="timed runs per case (median)")
    rls.add_argument(
        "--parcels", type=int, default=20_000, help="about how many parcels the window holds"
    )
    rls.add_argument("--explain", action="store_true", help="also print the plans of (c) and (d)")
    rls.set_defaults(func=run_rls)

    mapb = bench_sub.add_parser(
        "map",
        help="the map over a WAN: viewport, overview, pan, UI-thread gaps (issue 4)",
        description="Start the latency proxy in front of the store and time, at 1920×1080 "
        "as a temporary whole-province viewer: a ~20 000-parcel viewport, a ~200 000-parcel "
        "overview, a half-screen pan and the longest UI-thread gap; prints medians against "
        "the targets and DESIGN §4's QGIS figures. The DSN must be the store owner's. A "
        "report, not a test: exits 0.",
    )
    add_dsn_arguments(mapb)
    mapb.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    mapb.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time added")
    mapb.add_argument("--mbit", type=float, default=100.0, help="Mbit/s per direction (0 = none)")
    mapb.add_argument("--parcels", type=int, default=20_000, help="parcels in the viewport")
    mapb.add_argument("--overview", type=int, default=200_000, help="parcels in the overview")
    mapb.set_defaults(func=run_map)

    dossier = bench_sub.add_parser(
        "dossier",
        help="scanned dossiers over a WAN: first page of a 50-page TIFF, cached reopen (issue 6)",
        description="Upload a generated 50-page 300 dpi CCITT G4 TIFF, then open it through "
        "the latency proxy as a temporary viewer: time to the first page, the whole file, "
        "and a cached reopen; prints medians against the targets. The DSN must be the store "
        "owner's; the benchmark removes what it created. A report, not a test: exits 0.",
    )
    add_dsn_arguments(dossier)
    dossier.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    dossier.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time added")
    dossier.add_argument("--mbit", type=float, default=100.0, help="Mbit/s per direction")
    dossier.add_argument(
        "--verify-mb", type=int, default=0, help="also time the server's hash check of N MB"
    )
    dossier.add_argument(
        "--upload-mb", type=int, default=100,
        help="time an N MB upload through the proxy, one call per chunk vs pipelined (0 = skip)",
    )  # fmt: skip
    dossier.add_argument(
        "--export-pages", type=int, default=100,
        help="time and peak memory of exporting N pages at 300 dpi to PDF and TIFF (0 = skip)",
    )  # fmt: skip
    dossier.set_defaults(func=run_dossier)

    searchb = bench_sub.add_parser(
        "search",
        help="api.search server time as a province viewer and two commune officers (issue 4)",
        description="Run name (without diacritics, with a typo, common prefix), ID number, "
        "serial, (commune, sheet, parcel), national ID and address searches drawn from the "
        "store as three temporary viewers; prints median and worst against 100 ms. The DSN "
        "must be the store owner's; the viewers are dropped afterwards.",
    )
    add_dsn_arguments(searchb)
    searchb.add_argument("--runs", type=int, default=10, help="timed runs per query")
    searchb.set_defaults(func=run_search)

    adminb = bench_sub.add_parser(
        "admin",
        help="administration module reads: 5 000 accounts, 200 000 audit entries (issue 7)",
        description="In a scratch database of the store (dropped afterwards), write 5 000 "
        "accounts and 200 000 hash-chained audit entries, then time as a temporary "
        "administrator: the accounts list pages, audit searches, the integrity check and "
        "each report; prints medians against 300 ms. The DSN must be the store owner's.",
    )
    add_dsn_arguments(adminb)
    adminb.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    adminb.add_argument("--accounts", type=int, default=5_000, help="accounts to write")
    adminb.add_argument("--entries", type=int, default=200_000, help="audit entries to write")
    adminb.set_defaults(func=run_admin)

    edit = bench_sub.add_parser(
        "edit",
        help="change sets: split and merge cycles, server time and round trips (issue 5)",
        description="Draft, validate, review, submit and approve a split and a merge as two "
        "temporary persons, on a direct connection and through the latency proxy; all in "
        "one transaction rolled back at the end, so the store is unchanged. The DSN must be "
        "the store owner's. A report, not a test: exits 0.",
    )
    add_dsn_arguments(edit)
    edit.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    edit.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time added")
    edit.set_defaults(func=run_edit)

    records = bench_sub.add_parser(
        "records",
        help="change sets: transfer + certificate and mortgage cycles (migration 0024)",
        description="Draft, validate, submit, review and approve a transfer of rights with a "
        "new certificate, and a mortgage, as two temporary persons, direct and through the "
        "latency proxy; one transaction rolled back. The DSN must be the store owner's.",
    )
    add_dsn_arguments(records)
    records.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    records.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time added")
    records.set_defaults(func=run_records)

    # The WAN proxy is a top-level command (landrec proxy), registered with the benchmarks
    # it serves.
    from app.net import cli as net_cli

    net_cli.register(subparsers)


def _progress(msg: str) -> None:
    """The benchmarks' progress lines, indented under the command and shown at once."""
    print(f"  {msg}", flush=True)


def run_rls(args: argparse.Namespace) -> int:
    from app.bench.rls import format_report, run_rls_bench

    report = run_rls_bench(
        resolve_dsn(args.dsn, args.store_dir),
        runs=max(1, args.runs),
        window_parcels=args.parcels,
        explain=args.explain,
        progress=_progress,
    )
    print(format_report(report))
    return 0


def run_map(args: argparse.Namespace) -> int:
    from app.bench.map import format_table, run_map_bench

    report = run_map_bench(
        resolve_dsn(args.dsn, args.store_dir),
        runs=max(1, args.runs),
        rtt_ms=args.rtt_ms,
        mbit=args.mbit or None,
        viewport_parcels=args.parcels,
        overview_parcels=args.overview,
        progress=_progress,
    )
    print(format_table(report))
    return 0


def run_search(args: argparse.Namespace) -> int:
    from app.bench.search import format_table, run_search_bench

    runs = max(1, args.runs)
    total, cases = run_search_bench(
        resolve_dsn(args.dsn, args.store_dir),
        runs=runs,
        progress=_progress,
    )
    print(format_table(total, runs, cases))
    return 0


def run_dossier(args: argparse.Namespace) -> int:
    from app.bench.dossier import main

    return main(args)


def run_edit(args: argparse.Namespace) -> int:
    from app.bench.edit import format_table, run_edit_bench

    report = run_edit_bench(
        resolve_dsn(args.dsn, args.store_dir),
        runs=max(1, args.runs),
        rtt_ms=args.rtt_ms,
        progress=_progress,
    )
    print(format_table(report))
    return 0


def run_records(args: argparse.Namespace) -> int:
    from app.bench.records import format_table, run_records_bench

    runs = max(1, args.runs)
    total, cases = run_records_bench(
        resolve_dsn(args.dsn, args.store_dir), runs=runs, rtt_ms=args.rtt_ms, progress=_progress
    )
    print(format_table(total, cases, runs, args.rtt_ms))
    return 0


def run_admin(args: argparse.Namespace) -> int:
    from app.bench.admin import format_table, run_admin_bench

    cases = run_admin_bench(
        resolve_dsn(args.dsn, args.store_dir),
        runs=max(1, args.runs),
        accounts=args.accounts,
        entries=args.entries,
        progress=_progress,
    )
    print(format_table(cases, max(1, args.runs), args.accounts, args.entries))
    return 0
