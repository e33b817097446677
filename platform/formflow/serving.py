"""How Formflow is served: the gunicorn command ``formflow run`` and ``formflow dev`` start.

Threaded workers (``gthread``): a slow request (an export, a cold dashboard) holds one
thread, not a whole process, and connections are kept alive between requests. Keep-alive
lasts longer than the idle timeout of the browsers and proxies in front: when the server
closes an idle connection at the moment a client reuses it, that request fails with
"connection reset" — gunicorn's default of 2 seconds made that a routine event under load
(a user who clicks again after two seconds).
"""

from __future__ import annotations

import sys

#: Seconds an idle keep-alive connection stays open (proxies commonly drop theirs at 60).
KEEP_ALIVE_SECONDS = 75
#: Seconds a request may run before its worker is killed and restarted.
REQUEST_TIMEOUT_SECONDS = 60


def gunicorn_command(
    bind: str, *, workers: int, threads: int, access_log: bool = True
) -> list[str]:
    """The command line serving ``formflow.wsgi:app`` on ``bind`` (host:port)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--timeout",
        str(REQUEST_TIMEOUT_SECONDS),
    ]
    if access_log:
        command += ["--access-logfile", "-"]
    return [*command, "formflow.wsgi:app"]
