"""Several waitress processes on one listening socket (``manage.py serve``).

One Python process uses one core at most (the global interpreter lock), so a
machine with two cores served by one waitress process leaves half of it idle
(issue 21). Here the parent binds the socket once, forks one child per process
and each child runs waitress on the inherited socket; the kernel hands every new
connection to whichever child accepts first, so a busy child takes fewer.

What this relies on, and why it holds:

- **Nothing is shared in memory.** Each child loads the WSGI application after
  the fork and has its own database connections, its own group committer for
  usage events (``dikom.analytics.groupcommit``: a request is still answered only
  after the transaction holding its events has committed) and its own per-process
  caches of immutable things. Rate limits and throttles live in the Django cache,
  which must then be shared (Redis, or the database cache):
  ``manage.py serve`` refuses more than one process with the memory cache.
- **The parent holds no connection and no thread** when it forks: it closes the
  database connections and caches Django may have opened for the system checks.
- A child that dies is replaced; a child that dies right after its start again and
  again (an import error, a broken configuration) ends the server with an error
  instead of a restart loop. SIGTERM or Ctrl+C in the parent stops every child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

#: A child that exits within this many seconds of its start counts as a failed start.
QUICK_EXIT_SECONDS = 5.0
#: This many failed starts in a row end the server.
MAX_FAILED_STARTS = 5
#: Children still running this long after SIGTERM are killed.
STOP_SECONDS = 15.0


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A bound, listening TCP socket for ``host``:``port`` (IPv4 or IPv6 address or name)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog, reuse_port=False)
    sock.setblocking(False)
    return sock


def _close_inherited_resources() -> None:
    """Close what Django may hold open in the parent, so that no child inherits a shared connection."""
    from django.core.cache import caches
    from django.db import connections

    connections.close_all()
    with contextlib.suppress(Exception):
        caches.close_all()


def _child(sock: socket.socket, load_app: Callable[[], Any], serve_options: dict[str, Any]) -> int:
    from waitress import serve

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        serve(load_app(), sockets=[sock], **serve_options)
    except KeyboardInterrupt:
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def run(
    sock: socket.socket,
    processes: int,
    load_app: Callable[[], Any],
    serve_options: dict[str, Any],
    log: Callable[[str], None] = print,
) -> int:
    """Serve on ``sock`` with ``processes`` forked waitress processes until SIGTERM/SIGINT; the exit status.

    ``load_app`` is called in each child, after the fork, and returns the WSGI application.
    """
    _close_inherited_resources()
    children: dict[int, float] = {}  # pid -> start time
    stopping = False
    failed_starts = 0

    def spawn() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns here
            code = 1
            try:
                code = _child(sock, load_app, serve_options)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = time.monotonic()

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    stopped_at: float | None = None
    try:
        for _ in range(processes):
            spawn()
        log(f"{processes} web server processes started (pids {', '.join(map(str, children))})")
        while children:
            # Only our own children are reaped (os.wait would also take the task worker's status).
            ended = []
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    ended.append((pid, status))
            if stopping:
                stopped_at = stopped_at or time.monotonic()
                for pid, _status in ended:
                    children.pop(pid, None)
                if time.monotonic() - stopped_at > STOP_SECONDS:
                    break  # the finally block kills what is left
                time.sleep(0.1)
                continue
            for pid, status in ended:
                started = children.pop(pid)
                code = os.waitstatus_to_exitcode(status)
                quick = time.monotonic() - started < QUICK_EXIT_SECONDS
                failed_starts = failed_starts + 1 if quick else 0
                log(f"web server process {pid} ended (exit status {code}); starting a new one")
                if failed_starts >= MAX_FAILED_STARTS:
                    log("web server processes keep failing right after their start; stopping")
                    stop(signal.SIGTERM, None)
                    break
                time.sleep(min(failed_starts, 3) * 0.5)
                if not stopping:
                    spawn()
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        sock.close()
    return 1 if failed_starts >= MAX_FAILED_STARTS else 0
