"""Killing real processes in durability tests, as a machine losing power would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """kill -9 a worker and every process it forked. RQ runs each job in a work horse with
    a process group of its own (``os.setpgrp``), so killing the worker's group alone would
    leave the horse running the job. The worker is stopped first, so it cannot fork a new
    horse between the listing of its children and the kill."""
    os.killpg(worker.pid, signal.SIGSTOP)
    children = _children(worker.pid)
    for child in children:
        with suppress(ProcessLookupError):  # not a group of its own: killed with the worker's
            os.killpg(child, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(child) for child in children):  # their connections closed with them
        assert time.monotonic() < deadline, f"processes {children} outlived SIGKILL"
        time.sleep(0.01)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                # "pid (command) state ppid …": the command may hold spaces and parentheses
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has released everything but its process-table entry
