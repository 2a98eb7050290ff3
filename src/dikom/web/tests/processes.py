"""Scratch databases for tests that start real processes (clocks, workers) on them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def process_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DIKOM_", "DJANGO_", "PYTEST")) and k != "DATABASE_URL"
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
        "DIKOM_DATA_DIR": str(data_dir),
        "DIKOM_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


class Scratch:
    """A freshly migrated database of the suite's kind: a SQLite file, or a PostgreSQL database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if "DATABASE_URL" in self.env:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"]) as conn:
                cursor = conn.execute(sql.encode(), params)
                return cursor.fetchall() if cursor.description else []
        with sqlite3.connect(Path(self.env["DIKOM_DATA_DIR"]) / "dikom.sqlite3") as conn:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()


def postgres_admin() -> tuple[dict[str, Any], str]:
    params = connection.get_connection_params()
    admin = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}
    auth = params["user"] + (f":{params['password']}" if params.get("password") else "")
    return admin, f"postgres://{auth}@{params.get('host') or '127.0.0.1'}:{params.get('port') or 5432}/"
