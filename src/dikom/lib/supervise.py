"""Keep one command running: restart it when it ends, stop it with SIGTERM or SIGINT.

``python supervise.py NAME -- COMMAND...`` runs COMMAND; when it ends on its own it is
started again after a pause that doubles with every quick end (1 s up to 30 s, back to
1 s once it ran for a minute). SIGTERM or SIGINT stops the command (SIGTERM, then
SIGKILL after 10 s) and this process. ``manage.py serve`` runs the MQTT listener so,
in a process of its own: the server's parent process must hold no thread when it forks
its web processes (``dikom.lib.prefork``). This file imports nothing of dikom.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

STEADY_SECONDS = 60.0
MAX_DELAY_SECONDS = 30.0
STOP_SECONDS = 10.0


def supervise(name: str, command: list[str]) -> int:
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = 1.0
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(command)  # noqa: S603 - the command given by manage.py serve
        if stopping:
            child.terminate()
        code = child.wait()
        if stopping:
            break
        delay = 1.0 if time.monotonic() - started > STEADY_SECONDS else min(delay * 2, MAX_DELAY_SECONDS)
        print(f"{name} ended (exit status {code}); restarting in {delay:.0f} s", file=sys.stderr, flush=True)
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
    if child is not None and child.poll() is None:
        try:
            child.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: supervise.py NAME -- COMMAND...", file=sys.stderr)
        return 2
    return supervise(argv[0], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
