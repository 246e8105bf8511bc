"""A small fleet: tenants T01..Tnn each running CapitalMarketsTrading v3.2 with their own tenant
pack v1.4; v3.3 is the version rollouts move them to."""

import pytest

from governance.services import config_activate
from tenants.models import Tenant
from tests.runtime_config.activation_helpers import SETUP, domain_pack, tenant_pack
from tests.ui.conftest import chromium, open_page  # noqa: F401 (the page tests' fixtures)

ROLLOUTS = "/admin/rollouts"
DOMAIN = "CapitalMarketsTrading"


def make_fleet(finance_domain, finance_tenant, count: int) -> list[str]:
    domain_pack(finance_domain, "v3.2")
    domain_pack(finance_domain, "v3.3")
    ids = []
    for number in range(1, count + 1):
        tenant_id = f"T{number:02d}"
        Tenant.objects.create(tenant_id=tenant_id, name=tenant_id, created_by="setup")
        tenant_pack(finance_tenant, "v1.4", tenant_id=tenant_id)
        config_activate(
            principal=SETUP,
            tenant_id=tenant_id,
            domain_pack_version="v3.2",
            tenant_pack_version="v1.4",
        )
        ids.append(tenant_id)
    return ids


@pytest.fixture
def fleet(db, finance_domain, finance_tenant) -> list[str]:
    return make_fleet(finance_domain, finance_tenant, 6)


@pytest.fixture
def small_fleet(db, finance_domain, finance_tenant) -> list[str]:
    return make_fleet(finance_domain, finance_tenant, 3)


def plan(tenants, waves=None, **extra) -> dict:
    tenants = tenants or []
    body = {
        "domain": DOMAIN,
        "domain_pack_version": "v3.3",
        "tenants": tenants,
        "waves": waves or [{"tenants": tenants[:1]}, {"tenants": tenants[1:]}],
        "bake_seconds": 0,
    }
    body.update(extra)
    return body
