"""A user-space TCP proxy that behaves like a WAN link (DESIGN pitfall P6: no netem here).

Each direction is a pipe with one-way delay ``rtt_ms / 2`` and a bandwidth limit: a
request and its response cost one round trip, and a large result set arrives at the link's
rate. Bytes are read as they come, stamped with the time they would leave the far end
(token bucket for the rate, then the one-way delay) and written at that time, so pipelined
traffic overlaps as on a real link instead of paying the delay once per chunk.

``cut(seconds)`` simulates a dropped link: every open connection is aborted (the client
sees "server closed the connection") and new ones are refused until the link comes back.

Runs an asyncio loop in a daemon thread; the public API is plain methods, safe to call
from any thread::

    with LatencyProxy(("127.0.0.1", 5432), rtt_ms=40, mbit=100) as proxy:
        dsn = proxy.wrap_dsn(store_dsn)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict, make_conninfo

#: Largest piece read at once: small enough that the rate limit is smooth.
CHUNK = 16 * 1024
#: Queued pieces per direction before the reader waits (bounded memory, like a socket
#: buffer: the sender is slowed down rather than buffered without limit).
QUEUE_PIECES = 256


class TokenBucket:
    """Bytes per second with a burst allowance; ``reserve(n)`` says when n bytes may go."""

    def __init__(self, bytes_per_s: float, burst: int = CHUNK) -> None:
        self.rate = float(bytes_per_s)
        self.burst = float(burst)
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def reserve(self, n: int, now: float) -> float:
        """Take ``n`` tokens (possibly into debt); the time at which they are covered."""
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= n
        if self._tokens >= 0:
            return now
        return now - self._tokens / self.rate


@dataclass
class ProxyStats:
    connections: int = 0  # accepted since start
    refused: int = 0  # refused while the link was cut
    bytes_up: int = 0  # client → target
    bytes_down: int = 0  # target → client


class LatencyProxy:
    """Forward ``listen`` → ``target`` with WAN latency and bandwidth (see module doc)."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        rtt_ms: float = 40.0,
        mbit: float | None = 100.0,
    ) -> None:
        self.target = (str(target[0]), int(target[1]))
        self._listen = (str(listen[0]), int(listen[1]))
        self.rtt_ms = float(rtt_ms)
        self.mbit = mbit if mbit and mbit > 0 else None
        self.stats = ProxyStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut_until = 0.0
        self._reopening: asyncio.Future | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LatencyProxy:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=main, name="latency-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return (self._listen[0], self.port)

    def wrap_dsn(self, dsn: str) -> str:
        """``dsn`` with host and port replaced by this proxy's (TLS settings kept)."""
        params = conninfo_to_dict(dsn)
        params.pop("hostaddr", None)
        params["host"], params["port"] = self._listen[0], str(self.port)
        return make_conninfo(**params)

    @classmethod
    def for_dsn(cls, dsn: str, **kwargs) -> LatencyProxy:
        """A proxy in front of the TCP server a DSN names (not started)."""
        params = conninfo_to_dict(dsn)
        host = str(params.get("hostaddr") or params.get("host") or "127.0.0.1")
        if host.startswith("/") or "," in host:
            raise ValueError("the proxy needs one TCP host in the DSN, not a Unix socket")
        return cls((host, int(params.get("port") or 5432)), **kwargs)

    # -- the dropped link ---------------------------------------------------------------------
    def cut(self, seconds: float) -> None:
        """Drop every connection now and refuse new ones for ``seconds``."""
        self._call(self._cut, float(seconds))

    def restore(self) -> None:
        """End a cut early."""
        self._call(self._restore)

    @property
    def is_cut(self) -> bool:
        return time.monotonic() < self._cut_until

    def _call(self, fn: Callable, *args) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("proxy not started")
        asyncio.run_coroutine_threadsafe(fn(*args), loop).result(10)

    async def _cut(self, seconds: float) -> None:
        self._cut_until = time.monotonic() + seconds
        if self._server is not None:  # refused, as a link that is down (no listener)
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        asyncio.get_running_loop().call_later(seconds, self._reopen)

    def _reopen(self) -> None:
        if time.monotonic() + 1e-3 >= self._cut_until and self._server is None:
            self._reopening = asyncio.ensure_future(self._serve())  # keep a reference

    async def _restore(self) -> None:
        self._cut_until = 0.0
        if self._server is None:
            await self._serve()

    # -- forwarding ---------------------------------------------------------------------------
    async def _serve(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self._listen[0], self.port or self._listen[1], reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter):
        if self.is_cut:
            self.stats.refused += 1
            c_writer.transport.abort()
            return
        try:
            t_reader, t_writer = await asyncio.open_connection(*self.target)
        except OSError:
            c_writer.transport.abort()
            return
        self.stats.connections += 1
        self._writers.update((c_writer, t_writer))
        up = asyncio.ensure_future(self._pipe(c_reader, t_writer, "bytes_up"))
        down = asyncio.ensure_future(self._pipe(t_reader, c_writer, "bytes_down"))
        try:
            done, pending = await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
            # A clean end of one direction is a half-close (passed on with write_eof): the
            # other direction may still carry the answer. An error ends both.
            if pending and all(task.result() for task in done):
                await asyncio.wait(pending)
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            for task in (up, down):
                task.cancel()
            for writer in (c_writer, t_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: str
    ) -> bool:
        """One direction: a reader that stamps pieces, a writer that sends them when due.

        True when it ended with the sender's EOF, False when a side failed.
        """
        delay = self.rtt_ms / 2000.0
        bucket = TokenBucket(self.mbit * 1e6 / 8) if self.mbit else None
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_PIECES)

        async def send() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    if writer.can_write_eof() and not writer.transport.is_closing():
                        wait = due - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                        writer.write_eof()
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
                setattr(self.stats, counter, getattr(self.stats, counter) + len(data))

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(CHUNK)
                now = time.monotonic()
                # Leaves the near end when the bucket covers it, arrives one delay later.
                due = (bucket.reserve(len(data), now) if bucket and data else now) + delay
                if queue.full():  # wait for room, unless the sending side has failed
                    put = asyncio.ensure_future(queue.put((due, data)))
                    await asyncio.wait((put, sender), return_when=asyncio.FIRST_COMPLETED)
                    if not put.done():
                        put.cancel()
                        await sender  # raises the sender's error
                        return False
                else:
                    queue.put_nowait((due, data))
                if not data:  # EOF: forwarded after the data queued before it
                    break
            await sender
            return True
        except (OSError, asyncio.IncompleteReadError):
            return False  # a side went away (or the link was cut): the handler closes both
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


class ProxyProcess:
    """A :class:`LatencyProxy` in a child process, driven over its stdin/stdout.

    Benchmarks use it so the proxy does not share the measured client's GIL: in-process,
    a worker decoding a viewport would also stall the bytes on the "wire". Same API as
    the in-process proxy for what the benchmark needs: ``start``/``stop``, ``wrap_dsn``,
    ``cut``, ``stats``.
    """

    def __init__(
        self, target: tuple[str, int], *, rtt_ms: float = 40.0, mbit: float | None = 100.0
    ) -> None:
        self.target = (str(target[0]), int(target[1]))
        self.rtt_ms = rtt_ms
        self.mbit = mbit
        self.port = 0
        self._proc = None

    @classmethod
    def for_dsn(cls, dsn: str, **kwargs) -> ProxyProcess:
        proxy = LatencyProxy.for_dsn(dsn)  # validates the DSN's host
        return cls(proxy.target, **kwargs)

    def start(self) -> ProxyProcess:
        import subprocess
        import sys

        self._proc = subprocess.Popen(
            [sys.executable, "-m", "app.net.latency_proxy", f"{self.target[0]}:{self.target[1]}",
             str(self.rtt_ms), str(self.mbit or 0)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self.port = int(self._ask("port"))
        return self

    def _ask(self, command: str) -> str:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("proxy not started")
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        answer = proc.stdout.readline()
        if not answer:
            raise RuntimeError("the proxy process ended")
        return answer.strip()

    @property
    def stats(self) -> ProxyStats:
        import json

        return ProxyStats(**json.loads(self._ask("stats")))

    def cut(self, seconds: float) -> None:
        self._ask(f"cut {float(seconds)}")

    def wrap_dsn(self, dsn: str) -> str:
        params = conninfo_to_dict(dsn)
        params.pop("hostaddr", None)
        params["host"], params["port"] = "127.0.0.1", str(self.port)
        return make_conninfo(**params)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # EOF: the child stops its proxy and exits
            proc.wait(10)
        except Exception:
            proc.kill()
            proc.wait()

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_main(argv: list[str]) -> int:
    """``python -m app.net.latency_proxy HOST:PORT RTT_MS MBIT``: serve :class:`ProxyProcess`
    commands on stdin (port, stats, cut N) until EOF."""
    import dataclasses
    import json
    import sys

    host, _, port = argv[0].rpartition(":")
    proxy = LatencyProxy((host, int(port)), rtt_ms=float(argv[1]), mbit=float(argv[2]) or None)
    proxy.start()
    try:
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "port":
                answer = str(proxy.port)
            elif command == "stats":
                answer = json.dumps(dataclasses.asdict(proxy.stats))
            elif command == "cut":
                proxy.cut(float(arg))
                answer = "ok"
            else:
                answer = "?"
            print(answer, flush=True)
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_child_main(sys.argv[1:]))
