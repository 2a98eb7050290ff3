"""Fixtures of the tests that start clocks and workers as real processes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from dikom.web.tests.processes import Scratch, manage, postgres_admin, process_env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | str]:
    """Migrated once per module: the SQLite file, or the name of a PostgreSQL template database."""
    data_dir = tmp_path_factory.mktemp("migrated")
    if connection.vendor != "postgresql":
        manage(process_env(data_dir), "migrate", "-v0")
        yield data_dir / "dikom.sqlite3"
        return
    import psycopg

    admin, url = postgres_admin()
    template = f"dikom_clocks_template_{os.getpid()}_{data_dir.name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}"'.encode())
        conn.execute(f'CREATE DATABASE "{template}"'.encode())
    manage(process_env(data_dir, url + template), "migrate", "-v0")
    yield template
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'.encode())


@pytest.fixture
def scratch(migrated: Path | str, tmp_path: Path) -> Iterator[Scratch]:
    """A copy of the migrated database for one test."""
    if isinstance(migrated, Path):
        with sqlite3.connect(migrated) as source, sqlite3.connect(tmp_path / "dikom.sqlite3") as copy:
            source.backup(copy)
        yield Scratch(process_env(tmp_path))
        return
    import psycopg

    admin, url = postgres_admin()
    name = f"dikom_clocks_{os.getpid()}_{tmp_path.name}"[:60].replace("-", "_")
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated}"'.encode())
    yield Scratch(process_env(tmp_path, url + name))
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
