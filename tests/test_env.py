import subprocess
import sys
from pathlib import Path

import pytest

from onboarding.env import ConfigError, env_bool, env_float, env_int, env_list, env_rate


def test_env_bool__garbage__fails_loudly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigError, match="X_FLAG"):
        env_bool("X_FLAG", False)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("off", False), ("TRUE", True)])
def test_env_bool__accepted_spellings__parsed(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not expected) is expected


def test_env_int__below_minimum__fails_loudly(monkeypatch):
    monkeypatch.setenv("X_INT", "1")
    with pytest.raises(ConfigError, match="at least 5"):
        env_int("X_INT", 10, minimum=5)


def test_env_float__not_a_number__fails_loudly(monkeypatch):
    monkeypatch.setenv("X_F", "fast")
    with pytest.raises(ConfigError):
        env_float("X_F", 1.0)


def test_env_list__unset_and_set__default_then_split(monkeypatch):
    monkeypatch.delenv("X_L", raising=False)
    assert env_list("X_L", ["a"]) == ["a"]
    monkeypatch.setenv("X_L", "a, b,,c")
    assert env_list("X_L", []) == ["a", "b", "c"]


def test_settings__production_without_secret_key__refuses_to_start():
    result = subprocess.run(
        [sys.executable, "-c", "import onboarding.settings"],
        env={"PATH": "/usr/bin:/bin", "DEBUG": "false"},
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_settings__production_without_audit_key__refuses_to_start():
    result = subprocess.run(
        [sys.executable, "-c", "import onboarding.settings"],
        env={"PATH": "/usr/bin:/bin", "DEBUG": "false", "SECRET_KEY": "s" * 50},
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY is required" in result.stderr


@pytest.mark.parametrize("variable", ["AUDIT_HMAC_KEY", "AUDIT_HMAC_OLD_KEYS"])
def test_settings__short_audit_key__refuses_to_start(variable):
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "true", variable: "too-short"}
    result = subprocess.run(
        [sys.executable, "-c", "import onboarding.settings"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode != 0
    assert "32 characters" in result.stderr


def test_settings__production_environment__check_deploy_clean():
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "AUDIT_HMAC_KEY": "a-long-random-audit-chain-key-" + "y" * 40,
        "ALLOWED_HOSTS": "onboarding.example.com",
        "HTTPS_ONLY": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_PRELOAD": "true",
        "TRUST_X_FORWARDED_PROTO": "true",
        "SQLITE_PATH": "/tmp/check-deploy.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("raw", ["10", "0/m", "10/x", "ten/m", "10/0m", "-1/m", "10/m "])
def test_env_rate__not_a_rate__fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("X_RATE", raw)
    if raw.strip() != raw:  # surrounding spaces are forgiven
        assert env_rate("X_RATE", "1/s") == raw.strip()
        return
    with pytest.raises(ConfigError, match="X_RATE"):
        env_rate("X_RATE", "1/s")


@pytest.mark.parametrize("raw", ["10/m", "100/5m", "1/s", "1000/d", "3/12h"])
def test_env_rate__rates__accepted(monkeypatch, raw):
    monkeypatch.setenv("X_RATE", raw)
    assert env_rate("X_RATE", "1/s") == raw
