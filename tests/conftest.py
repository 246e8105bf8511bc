"""Principals for every test: a platform admin and viewer, and around tenant A an owner (ADMIN of
A), a member (VIEWER of A) and an outsider (ADMIN of B)."""

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.signals import setting_changed
from rest_framework.test import APIClient

from identity.services import token_mint
from identity.tokens import _last_touch as token_use_throttle
from tenants.models import RoleBinding, Tenant
from tenants.principals import Principal

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "reference"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_chromium = bool(shutil.which("chromium") or shutil.which("chromium-browser"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(
                pytest.mark.skip(reason="Debian's chromium not found (apt-get install chromium)")
            )


def _seed_platform_settings(*, setting, value, **kwargs):
    """Tests written against the environment variable (`settings.PACK_ACTIVATION_REQUIRES_APPROVAL
    = True`, override_settings) seed the platform_settings row the way the migration does in
    production: the code under test reads only the row. Outside a test's transaction (a fixture
    restoring the value after the rollback) there is nothing to seed."""
    if setting != "PACK_ACTIVATION_REQUIRES_APPROVAL" or not connection.in_atomic_block:
        return
    from tenants.models import PlatformSettings

    PlatformSettings.objects.update_or_create(
        pk=1, defaults={"require_activation_approval": bool(value), "updated_by": "test"}
    )


setting_changed.connect(_seed_platform_settings, dispatch_uid="tests.seed_platform_settings")


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    # Rate-limit counters live in the shared cache (a table no test rollback or flush empties):
    # each test counts in its own namespace, so no test inherits another's spent limit.
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"


@pytest.fixture(autouse=True)
def _fresh_token_use_throttle():
    """Token ids repeat across rolled-back tests: the per-process last_used_at throttle
    (identity.tokens) starts empty in each, so a token's first use always records it."""
    token_use_throttle.clear()
    yield
    token_use_throttle.clear()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The production hasher costs about a second per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Actor:
    user: object
    token: str
    client: APIClient

    @property
    def principal(self) -> Principal:
        return Principal.from_user(self.user)

    @property
    def username(self) -> str:
        return self.user.username


def make_actor(username: str, role: str | None = None, tenant: Tenant | None = None) -> Actor:
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if role:
        RoleBinding.objects.create(user=user, role=role, tenant=tenant)
    # A hashed write token (identity.services.token_mint): the secret is known only here.
    token = token_mint(user=user, name="test", created_by="setup")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return Actor(user=user, token=token, client=client)


def make_tenant(tenant_id: str, name: str | None = None) -> Tenant:
    return Tenant.objects.create(tenant_id=tenant_id, name=name or tenant_id, created_by="setup")


@pytest.fixture
def tenant_a(db) -> Tenant:
    return make_tenant("TENANT_A", "Tenant A")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return make_tenant("TENANT_B", "Tenant B")


@pytest.fixture
def admin(db) -> Actor:
    return make_actor("platform-admin", "ADMIN")


@pytest.fixture
def second_admin(db) -> Actor:
    return make_actor("platform-admin-2", "ADMIN")


@pytest.fixture
def viewer(db) -> Actor:
    return make_actor("platform-viewer", "VIEWER")


@pytest.fixture
def owner(tenant_a) -> Actor:
    return make_actor("owner-a", "ADMIN", tenant_a)


@pytest.fixture
def member(tenant_a) -> Actor:
    return make_actor("member-a", "VIEWER", tenant_a)


@pytest.fixture
def outsider(tenant_b) -> Actor:
    return make_actor("outsider-b", "ADMIN", tenant_b)


@pytest.fixture
def nobody(db) -> Actor:
    """Authenticated, but without any role binding."""
    return make_actor("nobody")


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def load_reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


@pytest.fixture
def finance_domain() -> dict:
    return load_reference("domain_capital_markets.json")


@pytest.fixture
def acme_domain() -> dict:
    return load_reference("domain_capital_markets_acme.json")


@pytest.fixture
def finance_tenant() -> dict:
    return load_reference("tenant_finance_001.json")


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"
