#!/usr/bin/env python3
"""Check the running API against its own OpenAPI document with schemathesis.

Usage: ``api_fuzz.py [--max-examples N] [--seed N] [--keep] [-- extra schemathesis options]``

What it does, so a CI run and a developer's run are the same:

1. a throwaway data directory with an embedded SQLite database, migrated and
   filled with the demo cooperation (no generated usage days, so it is quick);
2. an API key of Gießen with every scope (the demo's collection site belongs to
   Gießen, so the collection endpoint has a real site);
3. ``manage.py serve`` (no task worker) on a port that was free a moment
   before, checked to be this run's server before any test is sent;
4. ``schemathesis run`` with the project's ``schemathesis.toml`` (and the demo's
   collection site, service and released service version as known parameter
   values) against ``/api/v1/schema/``: every operation, every
   check, a fixed seed and deterministic generation, a bounded number of
   examples per operation. Any finding fails the run (exit code of
   schemathesis); the server log is printed when the server fails.

Rate limits are raised for the run: the fuzzer sends thousands of requests
with one key, and a 429 would only hide the answers we want to check.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# schemathesis' command line, started through a launcher that guards against a CPython 3.11 bug
# in ast.parse (see run_schemathesis.py).
SCHEMATHESIS = [PYTHON, str(Path(__file__).with_name("run_schemathesis.py"))]
DEFAULT_SEED = 20261207
DEFAULT_MAX_EXAMPLES = 40
START_TIMEOUT_SECONDS = 60
KEY_CITY = "giessen"


def free_port() -> int:
    """A port nobody listens on now (the kernel picks it; it stays free unless someone races us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(env: dict[str, str]) -> str:
    """Migrate, load the demo and create the key; returns the key (shown once)."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    # The demo logs every PDF it renders; its output is shown only when loading fails.
    demo = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "load_demo", "--usage-days", "0"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if demo.returncode != 0:
        raise RuntimeError(f"load_demo failed with {demo.returncode}:\n{demo.stdout}\n{demo.stderr}")
    code = (
        "from dikom.accounts.actions import create_api_key\n"
        "from dikom.accounts.scopes import SCOPES\n"
        "from dikom.municipalities.models import Municipality\n"
        f"m = Municipality.objects.get(slug={KEY_CITY!r})\n"
        "print(create_api_key(municipality=m, name='api-fuzz', scopes=SCOPES).token)\n"
    )
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def known_values(env: dict[str, str]) -> dict[str, str]:
    """Identifiers that exist in the demo data, so some requests reach past the 404 of an unknown object."""
    code = (
        "import json\n"
        "from dikom.analytics.collect.models import CollectionSite\n"
        "from dikom.analytics.models import Service\n"
        "from dikom.eservices.models import ServiceVersion\n"
        f"site = CollectionSite.objects.filter(municipality__slug={KEY_CITY!r}).order_by('pk').first()\n"
        f"service = Service.objects.filter(municipality__slug={KEY_CITY!r}).order_by('pk').first()\n"
        "version = ServiceVersion.objects.filter(status='released').order_by('pk').first()\n"
        "values = {}\n"
        "if site: values['path.site_id'] = site.site_id\n"
        "if service: values['query.service'] = str(service.uuid)\n"
        "if version: values.update({'path.slug': version.definition.slug, 'path.number': version.number})\n"
        "from dikom.cases.models import Case\n"
        f"case = Case.objects.filter(municipality__slug={KEY_CITY!r}).order_by('pk').first()\n"
        "if case: values['path.case_uuid'] = str(case.uuid)\n"
        "print(json.dumps(values))\n"
    )
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_config(path: Path, values: dict[str, str]) -> None:
    """The project's schemathesis.toml plus the demo's identifiers as fixed parameter values."""
    lines = [(ROOT / "schemathesis.toml").read_text(encoding="utf-8"), "", "[parameters]"]
    lines += [f"{json.dumps(name)} = {json.dumps(value)}" for name, value in sorted(values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_server(env: dict[str, str], port: int, log_path: Path, token: str) -> subprocess.Popen[bytes]:
    """Start the server and wait until *it* answers; raise with the log if it exits or never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is already in use; not starting a server there")
    log = log_path.open("wb")
    server = subprocess.Popen(  # noqa: S603
        [PYTHON, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"the server exited with {server.returncode} before answering; its log:\n{log_path.read_text()}"
            )
        # /api/v1/me/ with our fresh key answers 200 only from the server that holds this run's database.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/me/", headers={"Authorization": f"Api-Key {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT_SECONDS} s; its log:\n{log_path.read_text()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--keep", action="store_true", help="Keep the data directory (printed) for a look after.")
    parser.add_argument("extra", nargs="*", help="Further schemathesis options, after --.")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dikom-api-fuzz-"))
    env = {
        **os.environ,
        # The test settings (DEBUG off, in-memory cache), with the demo allowed and its own database.
        "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
        "DIKOM_DEMO": "true",
        "DIKOM_DATA_DIR": str(data_dir),
        "DIKOM_SECRET_KEY": secrets.token_urlsafe(40),
        "DIKOM_API_KEY_RATE": "1000000/min",
        "DIKOM_API_ANON_RATE": "1000000/min",
        "DIKOM_API_INGEST_RATE": "1000000/min",
    }
    env.pop("DATABASE_URL", None)
    server: subprocess.Popen[bytes] | None = None
    log_path = data_dir / "serve.log"
    try:
        started = time.monotonic()
        token = prepare(env)
        config = data_dir / "schemathesis.toml"
        write_config(config, known_values(env))
        port = free_port()
        server = start_server(env, port, log_path, token)
        print(f"server on port {port} ready after {time.monotonic() - started:.0f} s; data in {data_dir}", flush=True)
        command = [
            *SCHEMATHESIS,
            "--config-file",
            str(config),
            "run",
            f"http://127.0.0.1:{port}/api/v1/schema/",
            "--checks",
            "all",
            "--mode",
            "all",
            "--seed",
            str(args.seed),
            "--generation-deterministic",
            "--max-examples",
            str(args.max_examples),
            "--workers",
            args.workers,
            "--header",
            f"Authorization: Api-Key {token}",
            "--request-timeout",
            "30",
            "--no-color",
            "--output-sanitize",
            "true",
            *args.extra,
        ]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
        if server.poll() is not None:
            print(f"the server exited with {server.returncode} during the run; its log:\n{log_path.read_text()}")
            return 1
        return result.returncode
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"api-fuzz: {error}", file=sys.stderr)
        return 1
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print(f"data directory kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
