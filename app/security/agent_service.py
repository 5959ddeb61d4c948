"""The lockout agent as a companion process of the embedded local store.

Failed logins are only counted while an agent reads the server log (DESIGN P5), so
``landrec store start`` starts one beside the server and ``landrec store stop`` stops it.
On a central server the agent is a system service instead (docs/security.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.config import REPO_ROOT

PID_FILE = "agent.pid"
LOG_FILE = "agent.log"


def _alive_agent(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    # A reused pid is not our agent: check it runs "landrec … agent run".
    return pid if b"agent" in cmdline and b"run" in cmdline else None


def agent_pid(store_dir: Path) -> int | None:
    return _alive_agent(store_dir / PID_FILE)


def start_agent(store_dir: Path) -> tuple[int, bool]:
    """Start the agent for the store in ``store_dir`` unless one runs; (pid, started)."""
    pid = agent_pid(store_dir)
    if pid:
        return pid, False
    log = open(store_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child
    with log:
        child = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "agent", "run", "--store-dir", str(store_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,  # survives the shell that ran 'make demo'
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    (store_dir / PID_FILE).write_text(f"{child.pid}\n")
    return child.pid, True


def stop_agent(store_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the store's agent; False if none was running."""
    pid = agent_pid(store_dir)
    (store_dir / PID_FILE).unlink(missing_ok=True)
    if not pid:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.1)
    if _running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
