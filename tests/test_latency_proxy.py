"""The WAN proxy (DESIGN P6): latency per round trip, bandwidth, a dropped link."""

from __future__ import annotations

import socket
import threading
import time

import psycopg
import pytest

from app.net.latency_proxy import LatencyProxy, TokenBucket


@pytest.fixture
def echo_sink() -> tuple[str, int]:
    """A TCP server that reads everything and answers each connection's EOF with b"ok"."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                total = 0
                while chunk := conn.recv(65536):
                    total += len(chunk)
                conn.sendall(str(total).encode())

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()
    srv.close()


def test_select_1_costs_one_round_trip(migrated_db: str) -> None:
    with LatencyProxy.for_dsn(migrated_db, rtt_ms=40, mbit=100) as proxy:
        with psycopg.connect(proxy.wrap_dsn(migrated_db), autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()  # warm-up (type caches)
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                assert conn.execute("SELECT 1").fetchone() == (1,)
                times.append(time.perf_counter() - t0)
        assert min(times) >= 0.040 and max(times) < 0.080, times
        assert proxy.stats.connections == 1
        assert proxy.stats.bytes_up > 0 and proxy.stats.bytes_down > 0


def test_one_megabyte_at_10_mbit_takes_0_8_s(echo_sink) -> None:
    payload = b"x" * 1_000_000
    with (
        LatencyProxy(echo_sink, rtt_ms=0, mbit=10) as proxy,
        socket.create_connection(proxy.address, timeout=10) as s,
    ):
        t0 = time.perf_counter()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        answer = s.recv(64)
        elapsed = time.perf_counter() - t0
    assert answer == b"1000000"
    assert 0.6 <= elapsed <= 1.0, elapsed  # 8 Mbit / 10 Mbit/s = 0.8 s ± 25 %
    assert proxy.stats.bytes_up == 1_000_000
    assert proxy.stats.bytes_down == 7


def test_cut_drops_and_refuses_then_recovers(migrated_db: str) -> None:
    with LatencyProxy.for_dsn(migrated_db, rtt_ms=10, mbit=None) as proxy:
        dsn = proxy.wrap_dsn(migrated_db)
        conn = psycopg.connect(dsn, autocommit=True)
        assert conn.execute("SELECT 2").fetchone() == (2,)
        proxy.cut(0.6)
        assert proxy.is_cut
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 3")
        assert conn.closed
        with pytest.raises(psycopg.OperationalError, match=r"(?i)refused"):
            psycopg.connect(dsn, connect_timeout=2)
        time.sleep(0.7)
        assert not proxy.is_cut
        with psycopg.connect(dsn, autocommit=True) as again:
            assert again.execute("SELECT 4").fetchone() == (4,)
        assert proxy.stats.connections == 2


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(1000.0, burst=500)
    assert bucket.reserve(500, now=bucket._stamp) == bucket._stamp  # the burst goes at once
    t = bucket._stamp
    assert bucket.reserve(1000, now=t) == pytest.approx(t + 1.0)  # then 1 000 B/s


def test_wrap_dsn_keeps_credentials_and_refuses_unix_sockets() -> None:
    proxy = LatencyProxy(("127.0.0.1", 5432))
    proxy.port = 6000
    wrapped = proxy.wrap_dsn("host=db.example port=5432 user=u password=p dbname=x sslmode=require")
    assert "port=6000" in wrapped and "host=127.0.0.1" in wrapped
    assert "password=p" in wrapped and "sslmode=require" in wrapped
    with pytest.raises(ValueError):
        LatencyProxy.for_dsn("host=/tmp port=5432 dbname=x")


def test_proxy_process_and_command_line(migrated_db: str) -> None:
    from app.cli import build_parser
    from app.net.latency_proxy import ProxyProcess

    args = build_parser().parse_args(
        ["proxy", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5432", "--rtt-ms", "40",
         "--mbit", "100"]
    )  # fmt: skip
    assert (args.listen, args.target, args.rtt_ms, args.mbit) == (
        ("127.0.0.1", 0), ("127.0.0.1", 5432), 40.0, 100.0,
    )  # fmt: skip
    with ProxyProcess.for_dsn(migrated_db, rtt_ms=30, mbit=None) as proxy:
        conn = psycopg.connect(proxy.wrap_dsn(migrated_db), autocommit=True)
        conn.execute("SELECT 1")
        t0 = time.perf_counter()
        conn.execute("SELECT 1").fetchone()
        assert 0.030 <= time.perf_counter() - t0 < 0.070
        stats = proxy.stats
        assert stats.connections == 1 and stats.bytes_down > 0
        proxy.cut(0.3)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
