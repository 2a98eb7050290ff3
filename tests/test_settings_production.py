"""Production settings refuse an unsafe configuration and pass Django's deployment checks.

Each case starts ``manage.py check`` in a fresh process, as an operator would,
with only the environment given here: the test process itself runs on the CI
settings, which put their own DIKOM_* defaults into ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "manage.py"


def run_manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DIKOM_", "DJANGO_")) and name != "DATABASE_URL"
    }
    clean |= {"DJANGO_SETTINGS_MODULE": "dikom.conf.production", "DIKOM_DATA_DIR": str(tmp_path)} | env
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(MANAGE), *args], env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def safe_env() -> dict[str, str]:
    return {
        "DIKOM_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "DIKOM_ALLOWED_HOSTS": "dikom.example",
        # `check` does not connect; the URL only has to select PostgreSQL, as in production.
        "DATABASE_URL": "postgres://dikom@127.0.0.1:5432/dikom",
        # Uploads are scanned in production (clamd); `check` does not connect to it.
        "DIKOM_UPLOAD_SCANNER": "clamd",
        "DIKOM_CLAMD_ADDRESS": "tcp://127.0.0.1:3310",
    }


def test_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    result = run_manage(tmp_path, "check", DIKOM_ALLOWED_HOSTS="dikom.example")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DIKOM_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("override", "named_setting"),
    [
        ({"DIKOM_DEBUG": "true"}, "DIKOM_DEBUG"),
        ({"DIKOM_SECRET_KEY": "too-short"}, "DIKOM_SECRET_KEY"),
        ({"DIKOM_ALLOWED_HOSTS": "*"}, "DIKOM_ALLOWED_HOSTS"),
        ({"DIKOM_ALLOWED_HOSTS": ""}, "DIKOM_ALLOWED_HOSTS"),
        ({"DIKOM_REQUIRE_2FA_FOR_STAFF": "false"}, "DIKOM_REQUIRE_2FA_FOR_STAFF"),
        (
            {"DIKOM_REQUIRE_2FA_FOR_STAFF": "false", "DIKOM_ALLOW_STAFF_WITHOUT_2FA": "no"},
            "DIKOM_REQUIRE_2FA_FOR_STAFF",
        ),
    ],
)
def test_refuses_unsafe_settings(tmp_path: Path, override: dict[str, str], named_setting: str) -> None:
    result = run_manage(tmp_path, "check", **(safe_env() | override))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named_setting in result.stderr


def test_secret_key_from_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(45) + "\n", encoding="utf-8")
    env = safe_env()
    del env["DIKOM_SECRET_KEY"]

    result = run_manage(tmp_path, "check", DIKOM_SECRET_KEY_FILE=str(key_file), **env)

    assert result.returncode == 0, result.stderr


def test_deployment_checks_report_nothing(tmp_path: Path) -> None:
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **safe_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_staff_without_2fa_only_with_the_explicit_override_and_a_warning(tmp_path: Path) -> None:
    env = safe_env() | {"DIKOM_REQUIRE_2FA_FOR_STAFF": "false", "DIKOM_ALLOW_STAFF_WITHOUT_2FA": "true"}

    result = run_manage(tmp_path, "check", **env)

    assert result.returncode == 0, result.stderr
    assert "WARNING dikom.security DIKOM_REQUIRE_2FA_FOR_STAFF is off in production" in result.stderr


def test_no_warning_when_2fa_is_required(tmp_path: Path) -> None:
    result = run_manage(tmp_path, "check", **safe_env())

    assert result.returncode == 0, result.stderr
    assert "dikom.security" not in result.stderr


def test_deployment_checks_warn_without_an_upload_scanner(tmp_path: Path) -> None:
    env = safe_env() | {"DIKOM_UPLOAD_SCANNER": "none"}
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode != 0
    assert "scanning.W001" in result.stdout + result.stderr
