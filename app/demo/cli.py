"""``landrec demo-data``: generate the deterministic demo province and load it."""

from __future__ import annotations

import argparse
import sys
import time

from app.store.dsn import add_dsn_arguments, resolve_dsn


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo-data",
        help="generate and load the demo province",
        description="Generate a realistic, deterministic demo province (Bình Phước-like, "
        "EPSG:9212) and load it into a migrated LandRec database.",
    )
    add_dsn_arguments(p)
    p.add_argument("--parcels", type=int, default=30_000, help="about how many parcels")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--if-empty", action="store_true", help="do nothing if the store already holds parcels"
    )
    mode.add_argument("--replace", action="store_true", help="delete all records first, then load")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.demo.load import load_demo_province

    if args.parcels < 100:
        print("landrec demo-data: --parcels must be at least 100", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = load_demo_province(
        resolve_dsn(args.dsn, args.store_dir),
        parcels=args.parcels,
        seed=args.seed,
        if_empty=args.if_empty,
        replace=args.replace,
        progress=lambda msg: print(f"  {msg}", flush=True),
    )
    if report.skipped:
        print(f"The store already holds {report.existing_parcels:n} parcels; nothing loaded.")
        return 0
    print(f"Loaded the demo province in {time.perf_counter() - started:.1f} s:")
    width = max(len(t) for t in report.rows)
    for table, n in report.rows.items():
        print(f"  {table:<{width}}  {n:>10,}")
    for step, seconds in report.timings.items():
        print(f"  time {step:<{width - 5}}  {seconds:>9.1f} s")
    return 0
