"""DIKOM_DATABASE_REPLICA_URLS turns into database aliases and the router; without a PostgreSQL primary it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
SHOW = (
    "import json, dikom.conf.ci as s; "
    "print(json.dumps({'aliases': s.DIKOM_REPLICA_ALIASES, 'routers': s.DATABASE_ROUTERS, "
    "'replica': {k: s.DATABASES[a][k] for a in s.DIKOM_REPLICA_ALIASES[:1] for k in ('HOST', 'PORT', 'TEST', 'OPTIONS')}}))"
)


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DIKOM_DATABASE_REPLICA_URLS"}}
    environment.update(env, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", SHOW], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_replica_urls_become_aliases_behind_the_router() -> None:
    shown = _settings(
        DATABASE_URL="postgres://dikom@primary:5432/dikom",
        DIKOM_DATABASE_REPLICA_URLS="postgres://dikom@replica-a:5432/dikom, postgres://dikom@replica-b:5433/dikom",
        DIKOM_REPLICA_CONNECT_TIMEOUT_SECONDS="3",
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    result = json.loads(shown.stdout)
    assert result["aliases"] == ["replica1", "replica2"]
    assert result["routers"] == ["dikom.lib.replicas.ReplicaRouter"]
    assert result["replica"]["HOST"] == "replica-a"
    assert result["replica"]["TEST"] == {"MIRROR": "default"}
    assert result["replica"]["OPTIONS"]["connect_timeout"] == 3


def test_without_replicas_there_is_no_router() -> None:
    shown = _settings(DATABASE_URL="postgres://dikom@primary:5432/dikom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert json.loads(shown.stdout)["routers"] == []


def test_replicas_of_sqlite_are_refused() -> None:
    shown = _settings(DIKOM_DATABASE_REPLICA_URLS="postgres://dikom@replica-a:5432/dikom")
    assert shown.returncode != 0
    assert "DIKOM_DATABASE_REPLICA_URLS needs DATABASE_URL to name a PostgreSQL primary" in shown.stderr
