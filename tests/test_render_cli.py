"""``landrec render`` (app/map/cli.py): a PNG of the requested size and JSON timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from PySide6.QtGui import QImage

from app.config import REPO_ROOT

pytestmark = pytest.mark.store


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app.map.cli", "render", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_render_writes_the_png_and_counts_the_parcels_in_the_box(tmp_path, demo_db, person_factory):
    viewer = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    with psycopg.connect(demo_db) as conn:
        x, y = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) c "
            "FROM cad.parcel) s"
        ).fetchone()
        box = (x - 320.0, y - 180.0, x + 320.0, y + 180.0)  # 16:9 like the image
        expected = conn.execute(
            "SELECT count(*) FROM cad.parcel WHERE retired_at IS NULL "
            "AND geom && ST_MakeEnvelope(%s, %s, %s, %s, ST_SRID(geom))",
            box,
        ).fetchone()[0]
    out = tmp_path / "map.png"
    result = _run(
        "--dsn", viewer.dsn, "--bbox", ",".join(f"{v:.3f}" for v in box),
        "--size", "640x360", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"fetch_ms", "decode_ms", "paint_ms", "total_ms", "features"} <= set(report)
    assert all(report[k] >= 0 for k in ("fetch_ms", "decode_ms", "paint_ms"))
    assert report["total_ms"] >= report["fetch_ms"] + report["paint_ms"]
    assert 0 < report["features"] == expected
    image = QImage(str(out))
    assert (image.width(), image.height()) == (640, 360)
    colours = {image.pixel(px, py) for px in range(0, 640, 9) for py in range(0, 360, 9)}
    assert len(colours) > 8  # land-use fills, not a blank image


def test_render_errors_are_one_clear_line(tmp_path, demo_db):
    out = tmp_path / "x.png"
    bad = _run("--dsn", demo_db, "--bbox", "1,2,0,3", "--out", str(out))
    assert bad.returncode == 2 and "--bbox" in bad.stderr and "Traceback" not in bad.stderr
    # The owner has no LandRec account: the server refuses, in Vietnamese.
    refused = _run("--dsn", demo_db, "--bbox", "0,0,10,10", "--out", str(out))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "tài khoản" in refused.stderr
    assert not out.exists()
