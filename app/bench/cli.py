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


def run_rls(args: argparse.Namespace) -> int:
    from app.bench.rls import format_report, run_rls_bench

    report = run_rls_bench(
        resolve_dsn(args.dsn, args.store_dir),
        runs=max(1, args.runs),
        window_parcels=args.parcels,
        explain=args.explain,
        progress=lambda msg: print(f"  {msg}", flush=True),
    )
    print(format_report(report))
    return 0
