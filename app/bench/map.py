"""Benchmark: the map over a WAN (issue 4 §7, DESIGN §4).

Starts the latency proxy (app/net, pitfall P6) in front of the store, signs a temporary
whole-province viewer in through it (everything a person reads goes through their own
role and the area rule), and times at 1920×1080, as the median of N runs:

- a ~20 000-parcel viewport, request → painted image (target ≤ 300 ms);
- a ~200 000-parcel overview (≤ 1.5 s);
- a half-screen pan from that viewport (≤ 150 ms);
- the longest gap of a 10 ms QTimer probe on the main thread while the work above runs
  on a worker thread, as the canvas does it (≤ 50 ms).

Each view is rendered with the map engine's :func:`app.map.render.render_with` over one
kept connection (the canvas keeps its connection; connecting costs four round trips and
is shown on its own row) with the engine's cache cleared before each run, so every run
pays the full fetch. The pan re-renders the new view over the kept connection: the engine
fetches only the strips its cache (the viewport just drawn) does not cover.

The proxy runs in a child process: in-process it would share the client's GIL, and a
worker decoding a viewport would also hold up the bytes on the simulated wire.

The report is a report, not a test: it always exits 0.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import psycopg.conninfo

from app.bench.rls import _create_viewer, _drop_viewer, _one, owner_and_proxy
from app.errors import UserFacingError

Progress = Callable[[str], None]
BBox = tuple[float, float, float, float]
SIZE = (1920, 1080)


@dataclass
class Row:
    key: str
    work: str
    target_ms: float | None
    qgis: str  # DESIGN §4's QGIS 3.22 figure over the same link, or "—"
    times_ms: list[float] = field(default_factory=list)
    features: int = 0
    note: str = ""
    parts: dict[str, list[float]] = field(default_factory=dict)  # fetch/decode/paint ms

    def add(self, ms: float, timings: dict | None = None) -> None:
        self.times_ms.append(ms)
        if timings:
            self.features = int(timings.get("features", 0))
            for key in ("fetch_ms", "decode_ms", "paint_ms"):
                if key in timings:
                    self.parts.setdefault(key, []).append(float(timings[key]))

    def part(self, key: str) -> float | None:
        values = self.parts.get(key)
        return statistics.median(values) if values else None

    worst: bool = False  # the figure is the maximum over all runs, not the median

    @property
    def median_ms(self) -> float:
        if not self.times_ms:
            return float("nan")
        return max(self.times_ms) if self.worst else statistics.median(self.times_ms)

    @property
    def passed(self) -> bool | None:
        if self.target_ms is None or not self.times_ms:
            return None
        return self.median_ms <= self.target_ms


@dataclass
class MapBenchReport:
    parcels_total: int
    runs: int
    rtt_ms: float
    mbit: float | None
    rows: list[Row]
    viewport_bbox: BBox
    overview_bbox: BBox
    viewport_bytes: int = 0  # bytes down the link for one viewport fetch
    overview_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)


# -- choosing the views ------------------------------------------------------------------------
def _count(conn: psycopg.Connection, bbox: BBox, srid: int) -> int:
    return _one(
        conn,
        "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL "
        "AND geom && ST_MakeEnvelope(%s, %s, %s, %s, %s)",
        (*bbox, srid),
    )[0]


def view_holding(
    conn: psycopg.Connection, centre: tuple[float, float], target: int, srid: int, hi: float
) -> tuple[BBox, int]:
    """A 16:9 box around ``centre`` holding about ``target`` current parcels (bisection on
    its half-height, up to ``hi`` metres)."""
    aspect = SIZE[0] / SIZE[1]
    cx, cy = centre

    def box(h: float) -> BBox:
        return (cx - h * aspect, cy - h, cx + h * aspect, cy + h)

    lo = 1.0
    if _count(conn, box(hi), srid) > target:
        for _ in range(30):
            mid = (lo + hi) / 2
            if _count(conn, box(mid), srid) < target:
                lo = mid
            else:
                hi = mid
            if hi - lo < 0.5:
                break
    bbox = box(hi)
    return bbox, _count(conn, bbox, srid)


def choose_views(
    conn: psycopg.Connection, viewport_parcels: int, overview_parcels: int
) -> tuple[BBox, int, BBox, int, int]:
    """(viewport bbox, its parcels, overview bbox, its parcels, srid): both centred on the
    densest commune's parcels, as a clerk zooms out from their commune."""
    srid = int(_one(conn, "SELECT value FROM sys.setting WHERE key = 'srid'")[0])
    row = _one(
        conn,
        """
        WITH c AS (SELECT commune_id FROM cad.parcel WHERE retired_at IS NULL
                   GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
        SELECT ST_X(pt), ST_Y(pt) FROM (
            SELECT ST_Centroid(ST_Extent(geom)::geometry) AS pt
            FROM cad.parcel WHERE retired_at IS NULL AND commune_id = (SELECT * FROM c)) x
        """,
    )
    if row is None or row[0] is None:
        raise UserFacingError("the store holds no parcels to draw")
    centre = (float(row[0]), float(row[1]))
    ext = _one(
        conn,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM cad.parcel WHERE retired_at IS NULL) x",
    )
    reach = max(abs(centre[0] - ext[0]), abs(ext[2] - centre[0]), abs(centre[1] - ext[1]),
                abs(ext[3] - centre[1])) + 1.0  # fmt: skip
    vbox, vn = view_holding(conn, centre, viewport_parcels, srid, reach)
    obox, on = view_holding(conn, centre, overview_parcels, srid, reach)
    return vbox, vn, obox, on, srid


# -- the UI-thread probe --------------------------------------------------------------------
def run_probed(work: Callable[[], object]) -> tuple[object, float]:
    """Run ``work`` on a worker thread while a 10 ms QTimer ticks on this (main) thread;
    returns (result, longest gap between ticks in ms). Exceptions are re-raised here."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    box: dict[str, object] = {}

    def worker() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # re-raised on the main thread
            box["error"] = exc

    loop = QEventLoop()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    last = [time.perf_counter()]
    gap = [0.0]
    thread = threading.Thread(target=worker, name="bench-map-worker", daemon=True)

    def tick() -> None:
        now = time.perf_counter()
        gap[0] = max(gap[0], now - last[0])
        last[0] = now
        if not thread.is_alive():
            loop.quit()

    timer.timeout.connect(tick)
    timer.start()
    last[0] = time.perf_counter()
    thread.start()
    loop.exec()
    timer.stop()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("result"), gap[0] * 1000


# -- the benchmark --------------------------------------------------------------------------
def run_map_bench(
    dsn: str,
    runs: int = 5,
    rtt_ms: float = 40.0,
    mbit: float | None = 100.0,
    viewport_parcels: int = 20_000,
    overview_parcels: int = 200_000,
    progress: Progress = lambda _m: None,
) -> MapBenchReport:
    """Measure (see the module doc). ``dsn`` is the store owner's (a superuser): the
    benchmark creates a temporary viewer role and drops it afterwards."""
    from app.map.fetch import Fetcher
    from app.map.qtpaint import ensure_app
    from app.map.render import render_map, render_with
    from app.map.style import load_style
    from app.map.viewport import Viewport

    runs = max(1, runs)
    owner, proxy = owner_and_proxy(dsn, rtt_ms, mbit)
    with owner:
        if not _one(owner, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0]:
            raise UserFacingError("the benchmark needs the store owner's DSN (a superuser)")
        total = _one(owner, "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL")[0]
        progress(f"{total:,} current parcels; choosing the views …")
        vbox, vn, obox, on, _srid = choose_views(owner, viewport_parcels, overview_parcels)
        progress(f"viewport {vn:,} parcels, {vbox[2] - vbox[0]:.0f} m wide; "
                 f"overview {on:,} parcels, {obox[2] - obox[0]:.0f} m wide")  # fmt: skip
        rows = [
            Row("viewport", f"viewport of {vn:,} parcels", 300.0, "1.95 s"),
            Row("overview", f"overview of {on:,} parcels", 1500.0, "11.5 s"),
            Row("pan", "half-screen pan from the viewport", 150.0, "—"),
            Row("pan_full", "  … the new view complete", None, "—"),
            Row("ui_gap", "UI thread: longest gap of a 10 ms probe", 50.0, "—", worst=True),
            Row("cold", "viewport, new connection (render_map)", None, "—"),
        ]
        report = MapBenchReport(total, runs, rtt_ms, mbit, rows, vbox, obox)
        role, password = _create_viewer(owner, True, None)
        try:
            from PySide6.QtWidgets import QApplication

            # A QApplication (not just the engine's QGuiApplication): the canvas is a widget.
            if QApplication.instance() is None:
                if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
                    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen needed
                QApplication([])
            ensure_app()
            with proxy:
                person = psycopg.conninfo.make_conninfo(
                    proxy.wrap_dsn(dsn), user=role, password=password
                )
                try:
                    import app.ui.map_canvas  # noqa: F401  (the canvas, when it is there)
                except ImportError:
                    _measure(report, proxy, person, runs, progress, Fetcher, load_style,
                             render_with, render_map, Viewport)  # fmt: skip
                else:
                    _measure_canvas(report, proxy, person, runs, progress)
        finally:
            _drop_viewer(owner, role)
    return report


def _measure(report, proxy, person, runs, progress, Fetcher, load_style, render_with,
             render_map, Viewport) -> None:  # fmt: skip
    conn = psycopg.connect(person, autocommit=True)
    fetcher = Fetcher(lambda: conn)
    try:
        style = load_style(conn)
        view = Viewport.fit(report.viewport_bbox, SIZE)
        panned = view.panned(SIZE[0] / 2, 0)
        gaps: list[float] = []
        worst_by: dict[str, float] = {}

        def probe_gap(key: str, gap: float) -> None:
            gaps.append(gap)
            worst_by[key] = max(worst_by.get(key, 0.0), gap)

        def timed(bbox: BBox) -> tuple[float, dict]:
            t0 = time.perf_counter()
            image, timings = render_with(fetcher, style, bbox, SIZE)
            elapsed = (time.perf_counter() - t0) * 1000
            assert image.width() == SIZE[0]
            return elapsed, timings

        render_with(fetcher, style, report.viewport_bbox, SIZE)  # warm-up (caches, plans)
        for i in range(runs):
            progress(f"run {i + 1}/{runs}")
            fetcher.clear_cache()
            before = proxy.stats.bytes_down
            (ms, t), gap = run_probed(lambda: timed(report.viewport_bbox))
            report.viewport_bytes = proxy.stats.bytes_down - before
            report.row("viewport").add(ms, t)
            probe_gap("viewport", gap)
            # The pan starts from the viewport just drawn (its data in the cache).
            (ms, t), gap = run_probed(lambda: timed(panned.bbox))
            report.row("pan").add(ms, t)
            probe_gap("pan", gap)
            fetcher.clear_cache()
            (ms, t), gap = run_probed(lambda: timed(report.overview_bbox))
            report.row("overview").add(ms, t)
            probe_gap("overview", gap)
            (_img, t), gap = run_probed(lambda: render_map(person, report.viewport_bbox, SIZE))
            report.row("cold").add(t["total_ms"], t)
            probe_gap("cold", gap)
        report.row("ui_gap").times_ms.extend(gaps)
        report.row("ui_gap").note = (
            f"the worst of {len(gaps)} renders, not a median (median "
            f"{statistics.median(gaps):.0f} ms; worst by case: "
            + ", ".join(f"{k} {v:.0f}" for k, v in worst_by.items())
            + ")"
        )
        report.row("pan").note = "the strips the cached viewport does not cover, then paint"
        report.row("cold").note = "connect + style + render: 4 round trips more"
    finally:
        fetcher.close()
        conn.close()


def _measure_canvas(report: MapBenchReport, proxy, person: str, runs: int, progress) -> None:
    """Drive the real canvas (app/ui/map_canvas.py) on this, the main, thread: it fetches
    and paints on its worker; a 10 ms QTimer probe measures the main thread's gaps."""
    import dataclasses

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.map.fetch import Fetcher
    from app.map.layers import LayerModel, default_layers
    from app.map.render import DEFAULT_LAYERS, render_map
    from app.map.style import load_style
    from app.map.viewport import Viewport
    from app.ui.map_canvas import MapCanvas

    app = QApplication.instance() or QApplication([])
    assert app is not None
    conn = psycopg.connect(person, autocommit=True)
    fetcher = Fetcher(lambda: conn)
    # The cadastral layers at every scale (the overview is beyond the parcels' declared
    # range; the benchmark measures drawing them there, as render_map does).
    layers = LayerModel(
        [dataclasses.replace(d, min_scale=None, max_scale=None) for d in default_layers()]
    )
    layers.only(DEFAULT_LAYERS)
    # No debounce: it only coalesces the moves of a drag; the request starts at once.
    canvas = MapCanvas(fetcher, layers, load_style(conn), debounce_ms=0)
    canvas.resize(*SIZE)
    canvas.show()
    app.processEvents()

    gap = {"max": 0.0, "last": time.perf_counter()}
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)

    def tick() -> None:
        now = time.perf_counter()
        gap["max"] = max(gap["max"], now - gap["last"])
        gap["last"] = now

    probe.timeout.connect(tick)
    probe.start()

    def reset_gap() -> None:
        app.processEvents()
        gap["max"], gap["last"] = 0.0, time.perf_counter()

    def show(view: Viewport, t0: float | None = None) -> tuple[float, dict]:
        """set_view → the finished image painted on the widget; (ms, timings)."""
        loop = QEventLoop()
        got: dict = {}

        def done(timings: dict) -> None:
            got.update(timings)
            loop.quit()

        canvas.rendered.connect(done)
        try:
            if t0 is None:
                t0 = time.perf_counter()
                canvas.set_view(view, record=False)
            QTimer.singleShot(120_000, loop.quit)
            loop.exec()
            canvas.repaint()
            return (time.perf_counter() - t0) * 1000, got
        finally:
            canvas.rendered.disconnect(done)

    gaps: list[float] = []
    worst_by: dict[str, float] = {}
    set_view_ms: list[float] = []

    def probe_gap(key: str) -> None:
        gaps.append(gap["max"] * 1000)
        worst_by[key] = max(worst_by.get(key, 0.0), gap["max"] * 1000)

    try:
        view = Viewport.fit(report.viewport_bbox, SIZE)
        overview = Viewport.fit(report.overview_bbox, SIZE)
        panned = view.panned(SIZE[0] / 2, 0)
        if (canvas.width(), canvas.height()) != SIZE:
            report.notes.append(f"canvas is {canvas.width()}×{canvas.height()}, not {SIZE}")
        show(overview)  # warm-up (plans, caches of the server)
        for i in range(runs):
            progress(f"run {i + 1}/{runs}")
            fetcher.clear_cache()
            reset_gap()
            before = proxy.stats.bytes_down
            ms, t = show(view)
            report.viewport_bytes = proxy.stats.bytes_down - before
            report.row("viewport").add(ms, t)
            probe_gap("viewport")
            # Pan: the previous image is drawn shifted at once; the new view follows.
            reset_gap()
            t0 = time.perf_counter()
            canvas.set_view(panned, record=False)
            set_view_ms.append((time.perf_counter() - t0) * 1000)
            canvas.repaint()
            report.row("pan").times_ms.append((time.perf_counter() - t0) * 1000)
            ms, t = show(panned, t0)
            report.row("pan_full").add(ms, t)
            report.row("pan").features = report.row("pan_full").features
            probe_gap("pan")
            fetcher.clear_cache()
            reset_gap()
            before = proxy.stats.bytes_down
            ms, t = show(overview)
            report.overview_bytes = proxy.stats.bytes_down - before
            report.row("overview").add(ms, t)
            probe_gap("overview")
            (_img, t), g = run_probed(lambda: render_map(person, report.viewport_bbox, SIZE))
            report.row("cold").add(t["total_ms"], t)
            gaps.append(g)
            worst_by["cold"] = max(worst_by.get("cold", 0.0), g)
    finally:
        probe.stop()
        canvas.close()
        canvas.deleteLater()
        fetcher.close()
        conn.close()
    report.row("ui_gap").times_ms.extend(gaps)
    report.row("ui_gap").note = (
        f"the worst of {len(gaps)} renders, not a median (median "
        f"{statistics.median(gaps):.0f} ms; worst by case: "
        + ", ".join(f"{k} {v:.0f}" for k, v in worst_by.items())
        + ")"
    )
    report.row("pan").note = (
        "the canvas draws its last image shifted at once (time to that repaint; of it, "
        f"set_view() itself took {statistics.median(set_view_ms):.0f} ms on the UI thread); "
        "the next row is the new view complete: the uncovered strips fetched, merged with "
        "the cached viewport, painted"
    )
    report.row("cold").note = "render_map: connect + style + render, 4 round trips more"
    report.notes.append(
        "measured on app.ui.map_canvas.MapCanvas (worker-thread fetch and paint, debounce 0)"
    )


def format_table(report: MapBenchReport) -> str:
    link = f"{report.rtt_ms:g} ms RTT, " + (
        f"{report.mbit:g} Mbit/s" if report.mbit else "no bandwidth limit"
    )
    head = (
        f"{'work':<44} {'parcels':>8} {'median ms':>10} {'target':>9} "
        f"{'QGIS 3.22':>10} {'result':>7}   {'fetch':>6} {'decode':>6} {'paint':>6}"
    )
    lines = [
        "",
        f"landrec bench map — {SIZE[0]}×{SIZE[1]}, proxy {link}, median of {report.runs} "
        f"runs, store of {report.parcels_total:,} parcels",
        "",
        head,
        "-" * len(head),
    ]
    for r in report.rows:
        target = f"≤ {r.target_ms:g}" if r.target_ms is not None else "—"
        result = {True: "pass", False: "FAIL", None: "info"}[r.passed]
        feats = f"{r.features:,}" if r.features else ""
        parts = " ".join(
            f"{v:>6.0f}" if (v := r.part(k)) is not None else f"{'':>6}"
            for k in ("fetch_ms", "decode_ms", "paint_ms")
        )
        lines.append(
            f"{r.work:<44} {feats:>8} {r.median_ms:>10.1f} {target:>9} {r.qgis:>10} "
            f"{result:>7}   {parts}"
        )
    lines.append("")
    lines.append(
        f"bytes down the link: viewport {report.viewport_bytes / 1e6:.2f} MB, "
        f"overview {report.overview_bytes / 1e6:.2f} MB"
    )
    for r in report.rows:
        if r.note:
            lines.append(f"{r.key}: {r.note}")
    lines.extend(report.notes)
    return "\n".join(lines)
