"""The lockout agent runs beside the local store: started and stopped with it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.security.agent_service import agent_pid

pytestmark = pytest.mark.store


def landrec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_store_start_brings_the_agent_and_stop_ends_it(store_factory):
    store = store_factory()
    assert landrec("store", "init", "--dir", str(store.directory), "--fast").returncode == 0
    started = landrec("store", "start", "--dir", str(store.directory))
    assert started.returncode == 0, started.stderr
    pid = agent_pid(store.directory)
    assert pid is not None and "lockout agent started" in started.stdout
    # A second start finds it running rather than starting another.
    again = landrec("store", "start", "--dir", str(store.directory))
    assert agent_pid(store.directory) == pid and "already running" in again.stdout

    assert landrec("store", "stop", "--dir", str(store.directory)).returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.1)
    assert agent_pid(store.directory) is None


def test_no_agent_flag(store_factory):
    store = store_factory()
    assert landrec("store", "init", "--dir", str(store.directory), "--fast").returncode == 0
    out = landrec("store", "start", "--dir", str(store.directory), "--no-agent")
    assert out.returncode == 0 and "agent" not in out.stdout
    assert agent_pid(store.directory) is None
