"""``landrec render``: a map image of a box with JSON timings (headless)."""

from __future__ import annotations

import argparse
import json
import statistics


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render",
        help="render a map image of a box and print JSON timings",
        description="Render the map of a box (province CRS, metres) to a PNG as the person "
        "of --dsn sees it, and print fetch/decode/paint/total milliseconds and the number "
        "of parcels drawn as JSON.",
    )
    p.add_argument("--dsn", required=True, help="connection string (the person's own role)")
    p.add_argument("--bbox", required=True, help="minx,miny,maxx,maxy in the province CRS")
    p.add_argument("--size", default="1920x1080", help="WxH pixels (default 1920x1080)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument(
        "--layers",
        help="comma-separated layer ids or parcels,sheets,admin (default: those three)",
    )
    p.add_argument("--repeat", type=int, default=1, help="render N times; print medians")
    p.set_defaults(func=run)


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    from app.errors import UserFacingError

    try:
        parts = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or parts[0] >= parts[2] or parts[1] >= parts[3]:
        raise UserFacingError(f"--bbox must be minx,miny,maxx,maxy with min < max, got {text!r}")
    return parts[0], parts[1], parts[2], parts[3]


def _parse_size(text: str) -> tuple[int, int]:
    from app.errors import UserFacingError

    w, _, h = text.lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        size = (0, 0)
    if not (0 < size[0] <= 16384 and 0 < size[1] <= 16384):
        raise UserFacingError(f"--size must be WxH, e.g. 1920x1080, got {text!r}")
    return size


def run(args: argparse.Namespace) -> int:
    import psycopg

    from app.errors import UserFacingError
    from app.map.render import parse_layers, render_map

    bbox, size = _parse_bbox(args.bbox), _parse_size(args.size)
    runs = []
    image = None
    try:
        for _ in range(max(1, args.repeat)):
            image, timings = render_map(args.dsn, bbox, size, parse_layers(args.layers))
            runs.append(timings)
    except KeyError as exc:
        raise UserFacingError(f"unknown layer {exc.args[0]}") from None
    except psycopg.Error as exc:  # the server's own (Vietnamese) message, no traceback
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise UserFacingError(first) from None
    if image is None or not image.save(args.out, "PNG"):
        raise UserFacingError(f"could not write {args.out}")
    out = dict(runs[-1])
    if len(runs) > 1:
        for key in ("fetch_ms", "decode_ms", "paint_ms", "total_ms", "connect_ms"):
            out[key] = round(statistics.median(r[key] for r in runs), 1)
        out["runs"] = len(runs)
    out["out"] = args.out
    out["size"] = [size[0], size[1]]
    print(json.dumps(out, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m app.map.cli render …`` — the same as ``landrec render …``."""
    from app.cli import main_with

    return main_with(register, argv)


if __name__ == "__main__":
    raise SystemExit(main())
