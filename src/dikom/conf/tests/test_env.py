import pytest
from django.core.exceptions import ImproperlyConfigured

from dikom.conf import env


def test_bool_int_list_and_secret_from_file(monkeypatch, tmp_path):
    monkeypatch.setenv("T_BOOL", "yes")
    monkeypatch.setenv("T_INT", "42")
    monkeypatch.setenv("T_LIST", "a, b,,c")
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t\n")
    monkeypatch.setenv("T_SECRET_FILE", str(secret_file))

    assert env.env_bool("T_BOOL", False, "h") is True
    assert env.env_int("T_INT", 1, "h") == 42
    assert env.env_list("T_LIST", [], "h") == ["a", "b", "c"]
    assert env.env_secret("T_SECRET", None, "h") == "s3cr3t"
    assert env.REGISTRY["T_SECRET"].default == "(not set)"
    env.env_secret("T_SECRET2", "fallback", "h")
    assert env.REGISTRY["T_SECRET2"].default == "(secret)"


@pytest.mark.parametrize(
    ("helper", "value", "message"),
    [(env.env_bool, "maybe", "boolean"), (env.env_int, "ten", "integer")],
)
def test_bad_values_are_refused_with_the_setting_name(monkeypatch, helper, value, message):
    monkeypatch.setenv("T_BAD", value)
    with pytest.raises(ImproperlyConfigured, match=f"T_BAD must be an? {message}"):
        helper("T_BAD", 1, "h")


def test_int_minimum_and_unreadable_secret_file(monkeypatch, tmp_path):
    monkeypatch.setenv("T_MIN", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("T_MIN", 5, "h", minimum=1)
    monkeypatch.setenv("T_GONE_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="T_GONE_FILE"):
        env.env_secret("T_GONE", None, "h")
