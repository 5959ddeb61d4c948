"""``landrec bench map`` harness on the demo database, one run: the table has its rows,
with numbers, and the temporary viewer is gone afterwards."""

from __future__ import annotations

import re

import psycopg
import pytest

from app.cli import main


@pytest.mark.usefixtures("qapp")
def test_bench_map_table_on_demo(demo_db, capsys) -> None:
    code = main(["bench", "map", "--dsn", demo_db, "--runs", "1", "--parcels", "800",
                 "--overview", "2500", "--rtt-ms", "10", "--mbit", "100"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "10 ms RTT, 100 Mbit/s" in out
    rows = {}
    for label in (
        "viewport of",
        "overview of",
        "half-screen pan",
        "  … the new view complete",
        "UI thread: longest gap",
        "viewport, new connection",
    ):
        line = next(line for line in out.splitlines() if line.startswith(label))
        rows[label] = line
    number = re.compile(r"\s(\d+(?:\.\d)?)\s+(≤ \d+|—)\s")
    values = {k: float(number.search(v).group(1)) for k, v in rows.items()}
    # Through a 10 ms proxy every render pays at least one round trip, and none is absurd.
    for label in ("viewport of", "overview of", "  … the new view complete"):
        assert 10.0 <= values[label] < 10_000, (label, values[label])
    # The pan shows the shifted last image: no round trip needed, faster than the fetch.
    assert 0 < values["half-screen pan"] < values["  … the new view complete"]
    assert values["viewport, new connection"] > values["viewport of"]  # + connect
    assert 0 < values["UI thread: longest gap"] < 1_000
    parcels = int(re.search(r"viewport of ([\d,]+) parcels", out).group(1).replace(",", ""))
    assert 700 <= parcels <= 1_000  # the bisection found a window near the target
    overview = int(re.search(r"overview of ([\d,]+) parcels", out).group(1).replace(",", ""))
    assert overview > parcels
    assert re.search(r"≤ 300\s+1\.95 s\s+(pass|FAIL)", rows["viewport of"])
    assert re.search(r"≤ 1500\s+11\.5 s\s+(pass|FAIL)", rows["overview of"])
    mb = float(re.search(r"bytes down the link: viewport ([\d.]+) MB", out).group(1))
    assert 0.005 < mb < 5  # ~800 parcels of TWKB, not nothing, not WKB of the province
    with psycopg.connect(demo_db) as conn:
        left = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'bench\\_%'")
        assert left.fetchone() == (0,)
