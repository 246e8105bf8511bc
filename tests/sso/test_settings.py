"""The SSO settings fail loudly on a value that cannot be meant (onboarding.env, settings.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from onboarding.env import ConfigError, env_mapping
from onboarding.middleware import policy_for_issuer

ROOT = Path(__file__).resolve().parents[2]


def test_env_mapping__group_roles__parsed(monkeypatch):
    monkeypatch.setenv("X_MAP", "ops-admins=ADMIN, ops = VIEWER,")
    assert env_mapping("X_MAP", ("ADMIN", "VIEWER")) == {"ops-admins": "ADMIN", "ops": "VIEWER"}
    monkeypatch.delenv("X_MAP")
    assert env_mapping("X_MAP", ("ADMIN", "VIEWER")) == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ops-admins", "key=VALUE"),
        ("ops=OWNER", "key=VALUE"),
        ("=ADMIN", "key=VALUE"),
        ("ops=admin", "key=VALUE"),
        ("ops=ADMIN,ops=VIEWER", "twice"),
    ],
)
def test_env_mapping__malformed__fails_loudly(monkeypatch, raw, message):
    monkeypatch.setenv("OIDC_GROUP_ROLES", raw)
    with pytest.raises(ConfigError, match=message):
        env_mapping("OIDC_GROUP_ROLES", ("ADMIN", "VIEWER"))


def _start_up(**env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DEBUG": "true", **env}
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_GROUP_ROLES", "LOCAL_LOGIN"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "onboarding.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_GROUP_ROLES": "ops=SUPERUSER"}, "OIDC_GROUP_ROLES"),
        ({"LOCAL_LOGIN": "false"}, "LOCAL_LOGIN=false needs SSO"),
        ({"OIDC_ISSUER": "https://idp.example"}, "set together"),
    ],
)
def test_settings__bad_sso_configuration__start_up_fails(env, message):
    result = _start_up(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_settings__sso_configured__starts():
    result = _start_up(
        OIDC_ISSUER="https://idp.example/realms/ops",
        OIDC_CLIENT_ID="onboarding",
        OIDC_GROUP_ROLES="ops-admins=ADMIN",
        LOCAL_LOGIN="false",
    )
    assert result.returncode == 0, result.stderr


def test_csp__sso_configured__provider_origin_is_a_form_target():
    assert "form-action 'self';" in policy_for_issuer("")
    policy = policy_for_issuer("https://idp.example/realms/ops")
    assert "form-action 'self' https://idp.example;" in policy
