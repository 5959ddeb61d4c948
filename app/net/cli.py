"""``landrec proxy``: the WAN-simulating TCP proxy as a command (DESIGN pitfall P6)."""

from __future__ import annotations

import argparse

from app.errors import UserFacingError


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return (host or "127.0.0.1", int(port))


def register(subparsers) -> None:
    proxy = subparsers.add_parser(
        "proxy",
        help="TCP proxy that injects WAN latency and bandwidth limits",
        description="Forward --listen to --target, adding half of --rtt-ms in each "
        "direction and limiting each direction to --mbit. Runs until interrupted; prints "
        "the bytes moved when stopped.",
    )
    proxy.add_argument("--listen", type=_host_port, default=("127.0.0.1", 0), metavar="HOST:PORT")
    proxy.add_argument("--target", type=_host_port, required=True, metavar="HOST:PORT")
    proxy.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time added")
    proxy.add_argument(
        "--mbit", type=float, default=100.0, help="Mbit/s per direction (0 = no limit)"
    )
    proxy.set_defaults(func=run_proxy)


def run_proxy(args: argparse.Namespace) -> int:
    import time

    from app.net.latency_proxy import LatencyProxy

    proxy = LatencyProxy(args.target, listen=args.listen, rtt_ms=args.rtt_ms, mbit=args.mbit)
    try:
        proxy.start()
    except OSError as exc:
        raise UserFacingError(
            f"cannot listen on {args.listen[0]}:{args.listen[1]}: {exc}"
        ) from None
    host, port = proxy.address
    rate = f"{args.mbit:g} Mbit/s" if args.mbit else "no bandwidth limit"
    print(
        f"proxy {host}:{port} -> {args.target[0]}:{args.target[1]}, "
        f"RTT +{args.rtt_ms:g} ms, {rate} (Ctrl-C stops)",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        s = proxy.stats
        print(f"connections {s.connections}, up {s.bytes_up} B, down {s.bytes_down} B")
    return 0
