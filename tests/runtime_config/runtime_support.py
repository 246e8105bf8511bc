"""Set-up shared by the runtime tests: the reference finance packs stored through the low-level
pack services and an active configuration written directly (as the activation service would,
including the generation bump on commit), so these tests do not depend on the activation API."""

import copy
import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from packs.services import domain_pack_create, tenant_pack_create
from runtime_config.models import TenantActiveConfig
from runtime_config.push import bump_generation_on_commit
from tenants.models import Tenant
from tenants.principals import Principal
from tests.api.conftest import PROBLEM, assert_problem  # noqa: F401 (shared by the tests here)

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "CapitalMarketsTrading"
FINANCE = "TENANT_FINANCE_001"
SETUP = Principal.system("setup")


def make_finance_tenant() -> Tenant:
    return Tenant.objects.create(tenant_id=FINANCE, name="Finance 001", created_by="setup")


def store_domain(content: dict, version: str = "v3.2"):
    return domain_pack_create(principal=SETUP, domain=DOMAIN, version=version, content=content)


def store_tenant(content: dict, version: str = "v1.4", tenant_id: str = FINANCE):
    body = copy.deepcopy(content)
    body["tenantId"] = tenant_id
    return tenant_pack_create(principal=SETUP, tenant_id=tenant_id, version=version, content=body)


def activate_direct(tenant_id: str, domain_pack, tenant_pack) -> TenantActiveConfig:
    with transaction.atomic():
        row = TenantActiveConfig.objects.select_for_update().filter(tenant_id=tenant_id).first()
        if row is None:
            row = TenantActiveConfig(tenant_id=tenant_id, revision=0)
        row.domain = domain_pack.domain
        row.domain_pack = domain_pack
        row.tenant_pack = tenant_pack
        row.activated_at = timezone.now()
        row.activated_by = "setup"
        row.revision += 1
        row.save()
        bump_generation_on_commit()
    return row


def tamper_domain_pack(pack) -> None:
    """Change stored content behind the model (and, on PostgreSQL, behind the trigger)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE domain_packs DISABLE TRIGGER domain_packs_immutable")
            cursor.execute(
                "UPDATE domain_packs SET content_json = jsonb_set(content_json, "
                "'{severityRules,0,severity}', '\"LOW\"') WHERE id = %s",
                [pack.pk],
            )
            cursor.execute("ALTER TABLE domain_packs ENABLE TRIGGER domain_packs_immutable")
        else:
            cursor.execute(
                "UPDATE domain_packs SET content_json = json_set(content_json, "
                "'$.severityRules[0].severity', 'LOW') WHERE id = %s",
                [pack.pk],
            )


# --- a second process --------------------------------------------------------------------------


def child_database_env() -> dict[str, str] | None:
    """Environment that points a second process at the test database, or None when that
    database lives only in this process's memory."""
    env = dict(os.environ)
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        if not name or ":memory:" in str(name) or "mode=memory" in str(name):
            return None
        env["SQLITE_PATH"] = str(Path(name).resolve())
        env.pop("DATABASE_URL", None)
    else:
        url = os.environ.get("DATABASE_URL", "")
        base, _, _ = url.rpartition("/")
        env["DATABASE_URL"] = f"{base}/{name}"
    env["SECRET_KEY"] = settings.SECRET_KEY
    env["AUDIT_HMAC_KEY"] = settings.AUDIT_HMAC_KEY
    env["DJANGO_SETTINGS_MODULE"] = "onboarding.settings"
    env["RUNTIME_CONFIG_TTL"] = "30"
    env["RUNTIME_CONFIG_CHECK_INTERVAL"] = "1"
    env["RUNTIME_LISTENER"] = "true"  # a serving process: push where the database has it
    env.pop("PACKS_FILE_FALLBACK_DIR", None)
    env["LOG_LEVEL"] = "ERROR"
    return env


def wall_clock() -> float:
    return time.time()
